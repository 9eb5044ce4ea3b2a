/**
 * The documentation stays navigable: README.md stays small, and every relative link in the README,
 * docs/, bench/README.md and dev/**\/README.md points at a file that exists and, with `#anchor`, at
 * a heading of that file (GitHub's heading ids).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
const README_MAX_BYTES = 15 * 1024;

/** What a link can point at: a file's text, a folder, or nothing. */
type Target = { kind: "file"; text: string } | { kind: "dir" } | null;
type Resolve = (absPath: string) => Target;

const onDisk: Resolve = (p) => {
  if (!fs.existsSync(p)) return null;
  return fs.statSync(p).isDirectory() ? { kind: "dir" } : { kind: "file", text: fs.readFileSync(p, "utf8") };
};

/** The text without fenced code blocks and inline code, where brackets are not links. */
const withoutCode = (md: string) =>
  md
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/`[^`\n]*`/g, "")
    .replace(/<!--[\s\S]*?-->/g, "");

/** GitHub-style heading id, simplified: lowercase, punctuation dropped (not `-`/`_`), spaces → `-`. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** Every heading id of a Markdown text; repeated headings get `-1`, `-2`, … as on GitHub. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const text = md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const m of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(m[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The link targets of a Markdown text: inline `[text](target)` and reference `[label]: target`. */
function linkTargets(md: string): string[] {
  const text = withoutCode(md);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
  const reference = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map(
    (m) => m[1] as string,
  );
  return [...inline, ...reference];
}

/** Problems with the relative links of one file (`file` absolute, `text` its content). */
function linkProblems(file: string, text: string, resolve: Resolve = onDisk): string[] {
  const problems: string[] = [];
  const name = path.relative(ROOT, file);
  for (const link of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith("//")) continue; // https:, mailto:, …
    const hash = link.indexOf("#");
    const rawPath = hash < 0 ? link : link.slice(0, hash);
    const anchor = hash < 0 ? null : decodeURIComponent(link.slice(hash + 1));
    const targetPath = rawPath === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(rawPath));
    const target: Target = rawPath === "" ? { kind: "file", text } : resolve(targetPath);
    if (target === null) {
      problems.push(`${name}: (${link}) points at ${path.relative(ROOT, targetPath)}, which does not exist`);
      continue;
    }
    if (anchor === null || anchor === "") continue;
    if (target.kind !== "file" || !targetPath.endsWith(".md")) {
      problems.push(`${name}: (${link}) has an anchor, but its target is not a Markdown file`);
    } else if (!anchors(target.text).has(anchor.toLowerCase())) {
      problems.push(
        `${name}: (${link}) names #${anchor}, a heading ${path.relative(ROOT, targetPath)} lacks`,
      );
    }
  }
  return problems;
}

function readmesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : readmesUnder(p);
    return e.name === "README.md" ? [p] : [];
  });
}

const docsDir = path.join(ROOT, "docs");
const documents = [
  path.join(ROOT, "README.md"),
  ...fs
    .readdirSync(docsDir)
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join(docsDir, f)),
  path.join(ROOT, "bench", "README.md"),
  ...readmesUnder(path.join(ROOT, "dev")),
];

describe("documentation", () => {
  it(`README.md is at most ${README_MAX_BYTES} bytes`, () => {
    expect(fs.statSync(path.join(ROOT, "README.md")).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it("checks the README, docs/, bench/ and dev/ READMEs", () => {
    const names = documents.map((f) => path.relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(["README.md", "docs/architecture.md", "bench/README.md"]));
    expect(names.filter((n) => n.startsWith("dev/")).length).toBeGreaterThan(0);
  });

  it.each(documents.map((f) => [path.relative(ROOT, f), f]))("%s: relative links resolve", (_, file) => {
    expect(linkProblems(file, fs.readFileSync(file, "utf8"))).toEqual([]);
  });
});

describe("link check", () => {
  const file = path.join(ROOT, "docs", "x.md");
  const files: Record<string, string> = {
    [path.join(ROOT, "docs", "y.md")]:
      "# Why `auto` is the default\n\n## Limits, quotas & keys\n\n## Notes\n\n## Notes\n",
  };
  const resolve: Resolve = (p) => (p in files ? { kind: "file", text: files[p] as string } : null);

  it("finds a missing file and a missing heading, and accepts good links", () => {
    const text = [
      "[ok](y.md) [ok](y.md#why-auto-is-the-default) [ok](./y.md#limits-quotas--keys) [ok](y.md#notes-1)",
      "[ok](https://example.com/z.md) [ok](#local) [gone](z.md) [bad anchor](y.md#nope)",
      "`[not a link](code.md)`",
      "```",
      "[not a link](fenced.md)",
      "```",
      "## Local",
    ].join("\n");
    expect(linkProblems(file, text, resolve)).toEqual([
      "docs/x.md: (z.md) points at docs/z.md, which does not exist",
      "docs/x.md: (y.md#nope) names #nope, a heading docs/y.md lacks",
    ]);
  });

  it("makes GitHub's heading ids", () => {
    expect(slug("The Assistants API, unchanged (`openai.beta.*`)")).toBe(
      "the-assistants-api-unchanged-openaibeta",
    );
    expect(slug("[Deploy](deploy.md) — step 1")).toBe("deploy--step-1");
  });
});
