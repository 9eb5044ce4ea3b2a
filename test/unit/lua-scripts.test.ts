/**
 * Named Lua arguments (store/lua.ts): the generated prologue, the order of the arrays a call builds,
 * the refusals at definition and at call time, and the type errors (checked by `npm run typecheck`,
 * which covers this file: each `@ts-expect-error` fails the typecheck if the error goes away).
 */
import { describe, expect, it } from "vitest";
import { defineScript, KEY_LOCKING_SHEBANG, type LuaScript } from "../../src/store/lua";
import * as scripts from "../../src/store/scripts";

const sample = defineScript({
  name: "sample",
  keys: ["run", "thread"],
  args: ["owner", "now"],
  body: "return {run, thread, owner, tonumber(now)}",
});

const withRest = defineScript({
  name: "with_rest",
  keys: ["hash"],
  args: ["ttl"],
  rest: "pairs_",
  body: "return #pairs_",
});

describe("defineScript", () => {
  it("generates the shebang and the bindings in declaration order", () => {
    expect(sample.lua.split("\n").slice(0, 6)).toEqual([
      KEY_LOCKING_SHEBANG,
      "-- threadhook: sample",
      "local run = KEYS[1]",
      "local thread = KEYS[2]",
      "local owner = ARGV[1]",
      "local now = ARGV[2]",
    ]);
    expect(sample.lua.trimEnd().endsWith("return {run, thread, owner, tonumber(now)}")).toBe(true);
    expect(withRest.lua).toContain(
      "local pairs_ = {}\nfor i = 2, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end",
    );
  });

  it("builds KEYS and ARGV in list order whatever the object's order, numbers in decimal", () => {
    expect(
      sample.arrays({ args: { now: 1_700_000_000_123, owner: "me" }, keys: { thread: "t", run: "r" } }),
    ).toEqual({ keys: ["r", "t"], args: ["me", "1700000000123"] });
    expect(withRest.arrays({ keys: { hash: "h" }, args: { ttl: 5 }, rest: ["a", "1", "b", "2"] })).toEqual({
      keys: ["h"],
      args: ["5", "a", "1", "b", "2"],
    });
    expect(withRest.arrays({ keys: { hash: "h" }, args: { ttl: "5" }, rest: [] }).args).toEqual(["5"]);
  });

  it("refuses a missing or unknown name at call time too (callers outside the type system)", () => {
    const loose = sample as unknown as LuaScript<readonly string[], readonly string[]>;
    expect(() => loose.arrays({ keys: { run: "r" }, args: { owner: "o", now: 1 } })).toThrow(
      'script sample: key "thread" is missing',
    );
    expect(() =>
      loose.arrays({ keys: { run: "r", thread: "t", extra: "x" }, args: { owner: "o", now: 1 } }),
    ).toThrow('unknown key "extra"');
    expect(() => loose.arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o" } })).toThrow(
      'argument "now" is missing',
    );
    expect(() =>
      loose.arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o", now: Number.NaN } }),
    ).toThrow('argument "now" is missing');
    expect(() => loose.arrays({ keys: { run: "", thread: "t" }, args: { owner: "o", now: 1 } })).toThrow(
      'key "run" is missing',
    );
    expect(() =>
      (loose as any).arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o", now: 1 }, rest: ["x"] }),
    ).toThrow("takes no rest arguments");
    expect(() => (withRest as any).arrays({ keys: { hash: "h" }, args: { ttl: 1 } })).toThrow(
      'rest arguments "pairs_" are missing',
    );
  });

  it("makes a missing or extra name a type error", () => {
    const typeChecked = () => {
      // @ts-expect-error a key is missing
      sample.arrays({ keys: { run: "r" }, args: { owner: "o", now: 1 } });
      // @ts-expect-error an unknown key
      sample.arrays({ keys: { run: "r", thread: "t", other: "x" }, args: { owner: "o", now: 1 } });
      // @ts-expect-error an argument is missing
      sample.arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o" } });
      // @ts-expect-error an unknown argument
      sample.arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o", now: 1, seq: 2 } });
      // @ts-expect-error arguments are strings or numbers
      sample.arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o", now: true } });
      // @ts-expect-error no rest list declared
      sample.arrays({ keys: { run: "r", thread: "t" }, args: { owner: "o", now: 1 }, rest: ["x"] });
      // @ts-expect-error the declared rest list is missing
      withRest.arrays({ keys: { hash: "h" }, args: { ttl: 1 } });
    };
    expect(typeChecked).toThrow(); // and at run time the first one throws
  });

  it("refuses raw KEYS/ARGV in a body, names that are not Lua identifiers, shadow Lua or repeat", () => {
    const define = (keys: string[], args: string[], body = "return 1") =>
      defineScript({ name: "bad", keys, args, body });
    expect(() => define(["a"], [], "return KEYS[1]")).toThrow("not KEYS or ARGV");
    expect(() => define([], ["a"], "return #ARGV")).toThrow("not KEYS or ARGV");
    expect(() => define(["run-key"], [])).toThrow("not a Lua identifier");
    expect(() => define(["end"], [])).toThrow("shadow");
    expect(() => define([], ["redis"])).toThrow("shadow");
    expect(() => define([], ["tonumber"])).toThrow("shadow");
    expect(() => define(["run"], ["run"])).toThrow("declared twice");
    expect(() => define(["ok"], ["fine"])).not.toThrow();
  });
});

describe("the store's scripts", () => {
  type Shape = { lua: string; keys: readonly string[]; args: readonly string[]; rest: string | null };
  const all = Object.entries(scripts).flatMap(([name, value]) =>
    typeof value === "object" ? [[name, value as Shape] as const] : [],
  );

  it("all carry the allow-key-locking shebang and name KEYS/ARGV only in their generated prologue", () => {
    expect(all.map(([name]) => name).sort()).toEqual(
      [
        "abandonRun",
        "addMessages",
        "claimRun",
        "closeMerge",
        "countLateUsage",
        "createEnded",
        "createRun",
        "createTenant",
        "deleteMessage",
        "deleteThread",
        "owedCancel",
        "readConversation",
        "pumpSlots",
        "releaseRun",
        "releaseSaveRun",
        "returnMessages",
        "saveRun",
        "strandedPage",
        "takeHeld",
        "unlockRun",
        "unqueueRun",
      ].sort(),
    );
    for (const [, s] of all) {
      const lines = s.lua.split("\n");
      expect(lines[0]).toBe(KEY_LOCKING_SHEBANG);
      const prologue = 2 + s.keys.length + s.args.length + (s.rest ? 2 : 0);
      expect(lines.slice(prologue).join("\n")).not.toMatch(/\b(KEYS|ARGV)\b/);
    }
  });

  it("CLAIM and SAVE are the texts of the claim and save scripts (tests match their SHA-1)", () => {
    expect(scripts.CLAIM).toBe(scripts.claimRun.lua);
    expect(scripts.SAVE).toBe(scripts.saveRun.lua);
  });
});
