/**
 * Lua scripts with named keys and arguments. A script declares one ordered list of key names and
 * one of argument names (and, optionally, one name for a variable-length tail of arguments); the
 * Lua prologue that binds `local run = KEYS[1]`, `local owner = ARGV[1]`, … is generated from those
 * lists, and a call passes `{ keys: { run: … }, args: { owner: … } }`, typed from the same lists
 * (a missing or unknown name is a type error, and an error at run time too). The call builds the
 * KEYS and ARGV arrays in list order, so the TypeScript side and the Lua side cannot drift apart.
 * Script bodies may not name KEYS or ARGV themselves.
 *
 * Calls go through `@upstash/redis`'s Script: EVALSHA first, EVAL when the server answers NOSCRIPT.
 */
import type { Redis } from "./redis";

/**
 * Upstash Redis isolates a Lua script with its global lock unless the script's shebang line
 * carries `allow-key-locking`: then the script locks only the keys passed in KEYS, so scripts on
 * disjoint keys (other threads, other tenants) run in parallel. With the flag every key the script
 * touches must be in KEYS (a key built inside the script is refused) and database-wide commands
 * such as FLUSHDB are refused. Sources: https://upstash.com/docs/redis/commands/scripting/eval
 * and https://upstash.com/docs/redis/features/key-locking.
 * Upstream redis-server does not know the flag (Redis 7.0 answers "ERR Unexpected flag in script
 * shebang: allow-key-locking"); the local stand-in (dev/redis-rest/script-flags.ts) strips it
 * before its redis-server sees the script, the way Upstash accepts it.
 */
export const KEY_LOCKING_SHEBANG = "#!lua flags=allow-key-locking";

type Names = readonly string[];

/** Key values by key name. */
export type KeyValues<K extends Names> = { readonly [P in K[number]]: string };
/** Argument values by argument name (numbers are sent in decimal). */
export type ArgValues<A extends Names> = { readonly [P in A[number]]: string | number };
type RestValues<R extends string> = [R] extends [never]
  ? { readonly rest?: undefined }
  : { readonly rest: readonly string[] };

/** What one call of a script takes. */
export type ScriptInput<K extends Names, A extends Names, R extends string = never> = {
  readonly keys: KeyValues<K>;
  readonly args: ArgValues<A>;
} & RestValues<R>;

export interface ScriptSpec<K extends Names, A extends Names, R extends string> {
  /** For error messages and the comment line of the generated text. */
  name: string;
  /** KEYS, in order: every key the script touches (Upstash key locking relies on it). */
  keys: K;
  /** ARGV, in order. */
  args: A;
  /** A name for the arguments after the declared ones, bound as a Lua list (1-based). */
  rest?: R;
  /** Lua that uses the names above (never KEYS or ARGV). */
  body: string;
}

export interface LuaScript<K extends Names, A extends Names, R extends string = never> {
  readonly name: string;
  readonly keys: K;
  readonly args: A;
  readonly rest: R | null;
  /** The text sent to Redis: shebang, generated prologue, body. EVALSHA names its SHA-1. */
  readonly lua: string;
  /** The KEYS and ARGV arrays of a call, in declaration order. */
  arrays(input: ScriptInput<K, A, R>): { keys: string[]; args: string[] };
  /** This script on a client; `T` is the shape of its reply. */
  bind<T>(redis: Redis): BoundScript<K, A, R, T>;
}

export interface BoundScript<K extends Names, A extends Names, R extends string, T> {
  exec(input: ScriptInput<K, A, R>): Promise<T>;
}

const LUA_KEYWORDS = [
  "and",
  "break",
  "do",
  "else",
  "elseif",
  "end",
  "false",
  "for",
  "function",
  "goto",
  "if",
  "in",
  "local",
  "nil",
  "not",
  "or",
  "repeat",
  "return",
  "then",
  "true",
  "until",
  "while",
];
/** Globals of Redis's Lua environment a body may use: a name must not shadow them. */
const LUA_GLOBALS = [
  "KEYS",
  "ARGV",
  "redis",
  "table",
  "string",
  "math",
  "bit",
  "cjson",
  "cmsgpack",
  "struct",
  "tonumber",
  "tostring",
  "type",
  "pairs",
  "ipairs",
  "next",
  "select",
  "unpack",
  "error",
  "assert",
  "pcall",
  "xpcall",
  "rawget",
  "rawset",
  "setmetatable",
  "getmetatable",
  "_G",
];
const RESERVED = new Set([...LUA_KEYWORDS, ...LUA_GLOBALS]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RAW_ACCESS = /\b(KEYS|ARGV)\b/;

function checkNames(script: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (!IDENTIFIER.test(name)) throw new Error(`script ${script}: "${name}" is not a Lua identifier`);
    if (RESERVED.has(name)) throw new Error(`script ${script}: "${name}" would shadow Lua's own`);
    if (seen.has(name)) throw new Error(`script ${script}: "${name}" is declared twice`);
    seen.add(name);
  }
}

/** The Lua text of a script: the key-locking shebang, the bindings of its names, its body. */
function render(spec: ScriptSpec<Names, Names, string>): string {
  const lines = [KEY_LOCKING_SHEBANG, `-- threadhook: ${spec.name}`];
  spec.keys.forEach((name, i) => {
    lines.push(`local ${name} = KEYS[${i + 1}]`);
  });
  spec.args.forEach((name, i) => {
    lines.push(`local ${name} = ARGV[${i + 1}]`);
  });
  if (spec.rest) {
    lines.push(
      `local ${spec.rest} = {}`,
      `for i = ${spec.args.length + 1}, #ARGV do ${spec.rest}[#${spec.rest} + 1] = ARGV[i] end`,
    );
  }
  return `${lines.join("\n")}\n${spec.body.trim()}\n`;
}

/** Declare a script: its names are checked, its text generated once. */
export function defineScript<const K extends Names, const A extends Names, const R extends string = never>(
  spec: ScriptSpec<K, A, R>,
): LuaScript<K, A, R> {
  const rest = spec.rest ?? null;
  checkNames(spec.name, [...spec.keys, ...spec.args, ...(rest === null ? [] : [rest])]);
  if (RAW_ACCESS.test(spec.body)) {
    throw new Error(`script ${spec.name}: use the declared names, not KEYS or ARGV`);
  }
  const lua = render(spec);

  function arrays(input: ScriptInput<K, A, R>): { keys: string[]; args: string[] } {
    const fail = (what: string): never => {
      throw new Error(`script ${spec.name}: ${what}`);
    };
    const keyValues = input.keys as Record<string, unknown>;
    const argValues = input.args as Record<string, unknown>;
    for (const name of Object.keys(keyValues)) if (!spec.keys.includes(name)) fail(`unknown key "${name}"`);
    for (const name of Object.keys(argValues))
      if (!spec.args.includes(name)) fail(`unknown argument "${name}"`);
    const keys = spec.keys.map((name) => {
      const v = keyValues[name];
      return typeof v === "string" && v !== "" ? v : fail(`key "${name}" is missing`);
    });
    const args = spec.args.map((name) => {
      const v = argValues[name];
      if (typeof v === "string") return v;
      if (typeof v === "number" && Number.isFinite(v)) return String(v);
      return fail(`argument "${name}" is missing`);
    });
    const tail = (input as { rest?: readonly unknown[] }).rest;
    if (tail !== undefined) {
      if (rest === null) fail("takes no rest arguments");
      for (const v of tail) args.push(typeof v === "string" ? v : fail(`rest argument ${String(v)}`));
    } else if (rest !== null) {
      fail(`rest arguments "${rest}" are missing`);
    }
    return { keys, args };
  }

  return {
    name: spec.name,
    keys: spec.keys,
    args: spec.args,
    rest,
    lua,
    arrays,
    bind<T>(redis: Redis): BoundScript<K, A, R, T> {
      const script = redis.createScript<T>(lua);
      return {
        exec(input) {
          const { keys, args } = arrays(input);
          return script.exec(keys, args);
        },
      };
    },
  };
}
