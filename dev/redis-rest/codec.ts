// Translation between Upstash REST JSON and RESP2: command arguments in, `{result}`/`{error}` out.
import { ErrorReply, type Reply, StatusReply } from "./resp.ts";
import { translateScriptCommand } from "./script-flags.ts";

export type Command = Buffer[];

/**
 * Commands that would block or change the state of a shared, pipelined connection.
 * Upstash REST does not offer them either (blocking commands, WATCH/MULTI family, pub/sub;
 * of the connection commands only PING and ECHO work).
 */
// biome-ignore format: one family per line reads better
const REJECTED = new Set([
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
  "watch", "unwatch", "multi", "exec", "discard",
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
  "auth", "hello", "select", "quit", "reset", "client", "readonly", "readwrite",
  "sync", "psync", "replconf", "wait", "waitaof", "shutdown",
]);

/**
 * Converts one JSON command (`["SET","k","v",1]`) into binary arguments.
 * Strings are sent as UTF-8, numbers as decimal text, booleans as "true"/"false" (UNVERIFIED how
 * the real service renders them), anything else as its JSON text, mirroring the SDK's serializer.
 * Returns an error message instead when the command is malformed or not allowed.
 */
export function toCommand(json: unknown): Command | string {
  if (!Array.isArray(json) || json.length === 0)
    return "ERR failed to parse command: expected a non-empty JSON array";
  if (typeof json[0] !== "string") return "ERR failed to parse command: command name must be a string";
  const problem = rejection(json[0], json);
  if (problem) return problem;
  const args = json.map((arg) => Buffer.from(typeof arg === "string" ? arg : stringifyArg(arg), "utf8"));
  return translateScriptCommand(args);
}

function stringifyArg(arg: unknown): string {
  if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
  return JSON.stringify(arg) ?? "";
}

function rejection(name: string, json: unknown[]): string | undefined {
  const lower = name.toLowerCase();
  // XREAD/XREADGROUP are fine unless they ask to block.
  const blockingRead =
    (lower === "xread" || lower === "xreadgroup") && json.some((a) => String(a).toLowerCase() === "block");
  if (REJECTED.has(lower) || blockingRead) {
    return `ERR Command is not available over the REST API: '${lower}'`;
  }
  return undefined;
}

/** Parses a pipeline or multi-exec body: an array of commands. */
export function toCommands(json: unknown): Command[] | string {
  if (!Array.isArray(json) || json.length === 0) {
    return "ERR failed to parse pipeline request: expected a non-empty JSON array of commands";
  }
  const commands: Command[] = [];
  for (const item of json) {
    const command = toCommand(item);
    if (typeof command === "string") return command;
    commands.push(command);
  }
  return commands;
}

/**
 * Renders a reply as JSON text. With base64, every string at every depth is base64 (including
 * status replies such as PONG), except a top-level `OK` status, which Upstash documents as raw.
 * Without base64, bulk strings are UTF-8 with invalid bytes replaced by U+FFFD.
 * Integers stay numbers; bigints are written verbatim so 64-bit values are not rounded.
 */
export function replyToJson(reply: Reply, base64: boolean, topLevel = true): string {
  if (reply === null) return "null";
  if (typeof reply === "number" || typeof reply === "bigint") return reply.toString();
  if (Array.isArray(reply)) return `[${reply.map((item) => replyToJson(item, base64, false)).join(",")}]`;
  if (reply instanceof StatusReply) {
    const raw = !base64 || (topLevel && reply.value === "OK");
    return JSON.stringify(raw ? reply.value : Buffer.from(reply.value).toString("base64"));
  }
  // A nested error (e.g. inside an EVAL result table) has no JSON form: render its text as a string.
  if (reply instanceof ErrorReply) return replyToJson(Buffer.from(reply.message), base64, false);
  return JSON.stringify(base64 ? reply.toString("base64") : reply.toString("utf8"));
}

/** `{"result":…}` or `{"error":"…"}`; error text is never base64-encoded. */
export function resultOrError(reply: Reply, base64: boolean): string {
  if (reply instanceof ErrorReply) return errorBody(reply.message);
  return `{"result":${replyToJson(reply, base64)}}`;
}

export function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}
