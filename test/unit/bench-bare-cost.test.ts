/** The bench's reading of CPU above a bare Worker with as many subrequests (pure arithmetic). */
import { describe, expect, it } from "vitest";
import { aboveBare } from "../../bench/figures.ts";
import type { Invocation } from "../../bench/proxy.ts";
import { fitLine } from "../../bench/subrequest-cost.ts";

const invocation = (cpuMs: number | null, subrequests: number | null): Invocation => ({
  method: "POST",
  path: "/x",
  status: 200,
  started_ms: 0,
  wall_ms: 1,
  cpu_ns: cpuMs === null ? null : cpuMs * 1e6,
  subrequests,
  req_head: "",
  res_head: "",
});

describe("bench: a bare Worker's cost", () => {
  it("fits the cost per subrequest and the floor by least squares", () => {
    const line = fitLine([
      { k: 0, ms: 3 },
      { k: 2, ms: 6 },
      { k: 4, ms: 9 },
    ]);
    expect(line.a).toBeCloseTo(3);
    expect(line.b).toBeCloseTo(1.5);
    expect(fitLine([{ k: 1, ms: 4 }]).b).toBe(0);
  });

  it("takes each invocation's CPU above the floor and its subrequests' cost, skipping unmeasured ones", () => {
    const bare = { floorMs: 3, perSubrequestMs: 1.5 };
    // 12 − 3 − 1.5·6 = 0; 8 − 3 − 1.5·1 = 3.5: the lighter invocation is the costlier one above the bare cost.
    const above = aboveBare(
      [invocation(12, 6), invocation(8, 1), invocation(null, 2), invocation(30, null)],
      bare,
    );
    expect(above).toHaveLength(2);
    expect(above[0]).toBeCloseTo(0);
    expect(above[1]).toBeCloseTo(3.5);
    expect(aboveBare([invocation(null, 1)], bare)).toEqual([]);
  });
});
