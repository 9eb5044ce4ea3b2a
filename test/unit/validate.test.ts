import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_JSON_DEPTH, MAX_TEXT_CHARS } from "../../src/api/limits";
import { Metadata, Tools } from "../../src/api/schemas";
import { jsonDepth, mayNestDeeper, parse, parseJsonText } from "../../src/api/validate";
import { ApiError } from "../../src/errors";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, code: err.code, param: err.param };
    throw err;
  }
  return null;
};

const nested = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

describe("JSON bodies", () => {
  it("measures nesting outside strings only", () => {
    expect(jsonDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonDepth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(jsonDepth('{"a":"\\"[[[["}')).toBe(1);
    expect(jsonDepth("42")).toBe(0);
  });

  it("walks a body for its depth only when it has more openers than the limit", () => {
    expect(mayNestDeeper('{"a":[1,{"b":2}]}', 3)).toBe(false);
    expect(mayNestDeeper('{"a":[1,{"b":2}]}', 2)).toBe(true);
    // Openers inside strings count too (a cheap upper bound): those bodies are walked, and pass.
    const inStrings = JSON.stringify({ a: "[{".repeat(MAX_JSON_DEPTH) });
    expect(mayNestDeeper(inStrings, MAX_JSON_DEPTH)).toBe(true);
    expect(codeOf(() => parseJsonText(inStrings))).toBeNull();
    expect(mayNestDeeper(JSON.stringify({ input: "no brackets at all" }), MAX_JSON_DEPTH)).toBe(false);
  });

  it("refuses bodies nested deeper than the limit before parsing them", () => {
    expect(codeOf(() => parseJsonText(nested(MAX_JSON_DEPTH)))).toBeNull();
    expect(codeOf(() => parseJsonText(nested(MAX_JSON_DEPTH + 1)))).toMatchObject({
      status: 400,
      code: "json_too_deep",
    });
    expect(codeOf(() => parseJsonText(nested(500_000)))).toMatchObject({ code: "json_too_deep" });
    const mixed = `${'{"a":['.repeat(17)}1${"]}".repeat(17)}`; // 34 levels of both kinds
    expect(codeOf(() => parseJsonText(mixed))).toMatchObject({ code: "json_too_deep" });
  });

  it("refuses malformed JSON with invalid_json", () => {
    for (const bad of ["{", "{'a':1}", '{"a":1,}', "[1 2]", "\u0000", "NaN", '{"a":01}'])
      expect(codeOf(() => parseJsonText(bad))).toMatchObject({ code: "invalid_json" });
  });
});

describe("limit error codes", () => {
  const Body = z.strictObject({
    input: z.union([z.string().min(1).max(MAX_TEXT_CHARS), z.array(z.string()).max(3)]),
    name: z.string().max(5).optional(),
    metadata: Metadata.optional(),
    tools: Tools.optional(),
  });
  const cases: [string, unknown, string, string][] = [
    ["long string", { input: "x", name: "toolong" }, "string_too_long", "name"],
    ["long text in a union", { input: "x".repeat(MAX_TEXT_CHARS + 1) }, "string_too_long", "input"],
    ["long array in a union", { input: ["a", "b", "c", "d"] }, "too_many_items", "input"],
    [
      "metadata keys",
      { input: "x", metadata: Object.fromEntries([...Array(17)].map((_, i) => [`k${i}`, "v"])) },
      "invalid_metadata",
      "metadata",
    ],
    ["metadata value", { input: "x", metadata: { k: "v".repeat(513) } }, "invalid_metadata", "metadata.k"],
    [
      "tools",
      { input: "x", tools: [...Array(129)].map(() => ({ type: "code_interpreter" })) },
      "too_many_tools",
      "tools",
    ],
    [
      "schema size",
      {
        input: "x",
        tools: [
          {
            type: "function",
            function: { name: "f", parameters: { type: "object", description: "d".repeat(70_000) } },
          },
        ],
      },
      "schema_too_large",
      "tools.0.function.parameters",
    ],
    ["wrong type", { input: 5 }, "invalid_value", "input"],
  ];
  it.each(cases)("%s → %s", (_name, body, code, param) => {
    expect(codeOf(() => parse(Body, body))).toEqual({ status: 400, code, param });
  });
});
