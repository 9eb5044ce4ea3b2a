/**
 * The store's client asks for replies as plain JSON (store/redis.ts `responseEncoding: false`):
 * text beyond ASCII, in documents and in script replies, comes back exactly as written.
 */
import { describe, expect, it } from "vitest";
import { newId } from "../../src/store/ids";
import { RunStore } from "../../src/store/runs";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, makeRun, TENANT } from "./fixtures";

const ctx = useStoreRedis();
const TEXT = 'héllo ✓ 你好 🎉 \u2028 "quoted" \\ back\nslash';

describe("replies as plain JSON", () => {
  it("round-trips non-ASCII text through a script's write and the claim's read", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const made = makeRun(newId("thread"));
    const run = { ...made, params: { ...made.params, instructions: TEXT } };
    await runs.create(run, null, { mode: "queue", expectedHeld: [], newMessages: [], thread: null });
    const claim = await runs.claim(TENANT, run.id, 0, "step", Date.now(), 60_000);
    expect(claim.kind === "ok" && claim.run.params.instructions).toBe(TEXT);
    await ctx.redis.set("k", TEXT);
    expect(await ctx.redis.get("k")).toBe(TEXT);
  });
});
