// Upstash-only Lua script flags. Upstash accepts `#!lua flags=allow-key-locking` (lock only the keys in
// KEYS instead of the whole database); upstream redis-server refuses the unknown flag. The stand-in
// strips that flag before Redis sees the script, so clients that send it (e.g. @upstash/ratelimit)
// work unchanged. EVALSHA carries the digest of the script *as the client sent it*, so each stripped
// script's original digest is mapped to the digest of what Redis actually stored.
import { createHash } from "node:crypto";
import type { Command } from "./codec.ts";

const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);
const SHEBANG = /^#!lua([^\n]*)\n/;

/** Original digest → digest of the stripped script. Pure function of the text, so one map serves all. */
const digests = new Map<string, string>();

const sha1 = (text: string) => createHash("sha1").update(text, "utf8").digest("hex");

/** The script without Upstash-only flags (the shebang goes when no flag is left), or null if unchanged. */
export function stripUpstashFlags(script: string): string | null {
  const match = SHEBANG.exec(script);
  if (!match) return null;
  const flagsPart = /flags=(\S*)/.exec(match[1] ?? "");
  if (!flagsPart) return null;
  const flags = (flagsPart[1] ?? "").split(",").filter(Boolean);
  const kept = flags.filter((f) => !UPSTASH_ONLY_FLAGS.has(f));
  if (kept.length === flags.length) return null;
  const rest = script.slice(match[0].length);
  return kept.length === 0 ? rest : `#!lua flags=${kept.join(",")}\n${rest}`;
}

/** Rewrites EVAL / EVAL_RO / SCRIPT LOAD / EVALSHA / EVALSHA_RO / SCRIPT EXISTS for Upstash-only flags. */
export function translateScriptCommand(command: Command): Command {
  const name = command[0]?.toString("utf8").toLowerCase();
  if ((name === "eval" || name === "eval_ro") && command[1]) {
    return withArg(command, 1, strip(command[1].toString("utf8")));
  }
  if (name === "script" && command[1]?.toString("utf8").toLowerCase() === "load" && command[2]) {
    return withArg(command, 2, strip(command[2].toString("utf8")));
  }
  if ((name === "evalsha" || name === "evalsha_ro") && command[1]) {
    const mapped = digests.get(command[1].toString("utf8").toLowerCase());
    return mapped ? withArg(command, 1, mapped) : command;
  }
  if (name === "script" && command[1]?.toString("utf8").toLowerCase() === "exists") {
    return command.map((arg, i) => (i < 2 ? arg : Buffer.from(digests.get(arg.toString("utf8")) ?? arg)));
  }
  return command;
}

function strip(script: string): string | null {
  const stripped = stripUpstashFlags(script);
  if (stripped !== null) digests.set(sha1(script), sha1(stripped));
  return stripped;
}

function withArg(command: Command, index: number, value: string | null): Command {
  if (value === null) return command;
  const copy = [...command];
  copy[index] = Buffer.from(value, "utf8");
  return copy;
}
