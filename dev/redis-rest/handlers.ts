// The three Upstash REST operations: one command, a pipeline, and a MULTI/EXEC transaction.
import { type Command, errorBody, resultOrError, toCommand, toCommands } from "./codec.ts";
import type { RedisPool } from "./pool.ts";
import { ErrorReply, type Reply } from "./resp.ts";

export type Outcome = { status: number; body: string; commands: number };

const bad = (message: string): Outcome => ({ status: 400, body: errorBody(message), commands: 0 });

/** One command: 200 `{result}`, or 400 `{error}` when Redis answers with an error. */
export async function runSingle(pool: RedisPool, json: unknown, base64: boolean): Promise<Outcome> {
  const command = toCommand(json);
  if (typeof command === "string") return bad(command);
  const [reply] = await pool.exec([command]);
  const status = reply instanceof ErrorReply ? 400 : 200;
  return { status, body: resultOrError(reply ?? null, base64), commands: 1 };
}

/** Not atomic: every command runs; the answer is 200 with one `{result}`/`{error}` per command. */
export async function runPipeline(pool: RedisPool, json: unknown, base64: boolean): Promise<Outcome> {
  const commands = toCommands(json);
  if (typeof commands === "string") return bad(commands);
  const replies = await pool.exec(commands);
  return { status: 200, body: itemsBody(replies, base64), commands: commands.length };
}

/**
 * Atomic: MULTI, the commands and EXEC go out in a single write on one connection, so Redis sees
 * them contiguously and no other request's command can land inside the transaction.
 * A queueing error (unknown command, wrong arity) discards the whole transaction: 400 `{error}`.
 * A runtime error in one command (e.g. WRONGTYPE) is that item's `{error}`; the others still apply.
 */
export async function runMultiExec(pool: RedisPool, json: unknown, base64: boolean): Promise<Outcome> {
  const commands = toCommands(json);
  if (typeof commands === "string") return bad(commands);
  const batch: Command[] = [[Buffer.from("MULTI")], ...commands, [Buffer.from("EXEC")]];
  const replies = await pool.exec(batch);
  const queued = replies.slice(1, -1);
  const queueError = queued.find((reply) => reply instanceof ErrorReply);
  if (queueError instanceof ErrorReply) return bad(queueError.message);
  const exec = replies[replies.length - 1];
  if (exec instanceof ErrorReply) return bad(exec.message);
  if (!Array.isArray(exec)) return bad("ERR transaction aborted");
  return { status: 200, body: itemsBody(exec, base64), commands: commands.length };
}

function itemsBody(replies: Reply[], base64: boolean): string {
  return `[${replies.map((reply) => resultOrError(reply, base64)).join(",")}]`;
}
