/**
 * docs/assistants-compatibility.md stays true (issue 16): its endpoint table covers every operation
 * of the retired Assistants API in OpenAI's published spec (tags Assistants, Models, Files, Uploads,
 * Vector stores), generated from the spec here so none is missed; a row marked works or differs is
 * served (it must not answer `route_not_found`); a row marked not served is not.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcess, startInProcess } from "../support/in-process";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DOC = path.join(ROOT, "docs/assistants-compatibility.md");
/** The spec lives beside the project (shared/reference), as on the developers' machines and in CI. */
const SPEC = process.env.OPENAI_SPEC ?? path.resolve(ROOT, "../shared/reference/openai-openapi.yaml");
const TAGS = new Set(["Assistants", "Models", "Files", "Uploads", "Vector stores"]);

type Status = "works" | "differs" | "not served";
interface Row {
  op: string;
  method: string;
  path: string;
  status: Status;
}

/** The spec's operations with one of TAGS, as `METHOD /v1/path` (a line scan: the file is 3 MB). */
function specOperations(text: string): string[] {
  const ops: string[] = [];
  let inPaths = false;
  let current: string | null = null;
  let method: string | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\S/.test(line)) inPaths = line === "paths:";
    if (!inPaths) continue;
    const p = /^ {2}(\/\S*):$/.exec(line);
    if (p) current = p[1] as string;
    const m = /^ {4}(get|post|put|patch|delete):$/.exec(line);
    if (m) method = (m[1] as string).toUpperCase();
    if (/^ {6}tags:$/.test(line) && current && method) {
      const tag = /^ {8}- (.+)$/.exec(lines[i + 1] ?? "")?.[1]?.trim();
      if (tag && TAGS.has(tag)) ops.push(`${method} /v1${current}`);
    }
  }
  return ops;
}

function docRows(text: string): Row[] {
  return text.split("\n").flatMap((line) => {
    const m =
      /^\|\s*`(GET|POST|PUT|PATCH|DELETE) (\/v1\/[^`]+)`\s*\|[^|]*\|\s*(works|differs|not served)\s*\|/.exec(
        line,
      );
    return m
      ? [{ op: `${m[1]} ${m[2]}`, method: m[1] as string, path: m[2] as string, status: m[3] as Status }]
      : [];
  });
}

const rows = docRows(fs.readFileSync(DOC, "utf8"));

describe("the Assistants compatibility list", () => {
  it.skipIf(!fs.existsSync(SPEC))(
    "lists every Assistants-related operation of the spec, once, and nothing else",
    () => {
      const spec = specOperations(fs.readFileSync(SPEC, "utf8"));
      expect(spec.length).toBeGreaterThanOrEqual(50);
      const listed = rows.map((r) => r.op);
      expect(new Set(listed).size).toBe(listed.length);
      expect({
        missing: spec.filter((op) => !listed.includes(op)),
        extra: listed.filter((op) => !spec.includes(op)),
      }).toEqual({ missing: [], extra: [] });
    },
  );

  describe("answers as the list says", () => {
    let app: InProcess;
    beforeAll(async () => {
      app = await startInProcess();
    });
    afterAll(async () => app?.close());

    it("served rows are routed, not-served rows answer route_not_found", async () => {
      expect(rows.length).toBeGreaterThanOrEqual(50);
      const wrong: string[] = [];
      for (const row of rows) {
        const url = row.path.replace(/\{(\w+)\}/g, (_m, name: string) => `${name.replace(/_id$/, "")}_none`);
        const res = await app.api(row.method, url, row.method === "POST" ? {} : undefined);
        const routed = !(res.status === 404 && res.body?.error?.code === "route_not_found");
        if (routed !== (row.status !== "not served"))
          wrong.push(
            `${row.op} is listed as ${row.status} but answers ${res.status} ${res.body?.error?.code ?? ""}`,
          );
      }
      // A failure here means docs/assistants-compatibility.md no longer tells the truth: update it.
      expect(wrong).toEqual([]);
    });
  });
});
