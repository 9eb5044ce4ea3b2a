/**
 * Assistants-style streaming (`stream: true`): an SSE response that follows a run while QStash
 * steps drive it. The stream only observes: it re-reads the run record and emits the facts it has
 * not emitted yet (engine/stream-events.ts), and while a response is running it relays the
 * answer's text deltas from the upstream response's own stream. Ends with `event: done`.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import {
  messageDelta,
  messageEnd,
  newEvents,
  openingMessage,
  STREAM_END,
  type StreamEvent,
} from "../../engine/stream-events";
import { outputMessage } from "../../engine/messages";
import type { RunRecord } from "../../engine/types";
import { isUpstreamTerminal } from "../../engine/upstream-types";
import { errorFields, log } from "../../log";
import { findRun, type RunReader } from "../../commands/runs";
import type { FollowEvent, Upstream } from "../../upstream/openai";

export interface StreamDeps {
  runs: RunReader;
  upstream: Pick<Upstream, "follow">;
  sleep: (ms: number) => Promise<void>;
}

/** How often the run record is re-read while no upstream stream is being relayed. */
const STREAM_POLL_MS = 100;
/** A stream outlives the run's deadline by this much at most (the run expires by then). */
const STREAM_GRACE_MS = 30_000;

type Write = (e: StreamEvent) => Promise<void>;

export function runStream(
  c: Context,
  deps: StreamDeps,
  run: RunRecord,
  opts: { first: StreamEvent[]; emitted: Set<string> },
) {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    const write: Write = (e) => stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
    try {
      for (const e of opts.first) await write(e);
      await follow(deps, run, opts.emitted, write, abort.signal);
    } catch (err) {
      log("error", "run stream failed", { run_id: run.id, ...errorFields(err) });
      const error = {
        type: "server_error",
        code: "stream_failed",
        message: "The stream failed; read the run.",
        param: null,
      };
      await write({ event: "error", data: { error } });
    }
    await stream.writeSSE({ event: "done", data: "[DONE]" });
  });
}

/** A live message: the text relayed so far, and whether its completion was sent. */
type Live = Map<string, { text: string; done: boolean }>;

async function follow(
  deps: StreamDeps,
  start: RunRecord,
  emitted: Set<string>,
  write: Write,
  signal: AbortSignal,
) {
  const live: Live = new Map();
  const followed = new Set<string>();
  let relay = true;
  const giveUpAt = start.deadline_ms + STREAM_GRACE_MS;
  while (!signal.aborted && Date.now() < giveUpAt) {
    const run = await findRun(deps, start.tenant, start.id);
    if (!run) return;
    await finishLiveAnswer(run, live, write);
    for (const e of newEvents(run, emitted, new Set(live.keys()))) await write(e);
    if (STREAM_END.has(run.status)) return;
    const response = run.upstream.response_id;
    if (relay && response && !followed.has(response) && !isUpstreamTerminal(run.upstream.response_status)) {
      followed.add(response);
      relay = await relayResponse(deps, run, response, live, write, signal);
      continue;
    }
    await deps.sleep(STREAM_POLL_MS);
  }
}

/** Relay a response's answer as it is written; false when the upstream cannot be followed. */
async function relayResponse(
  deps: StreamDeps,
  run: RunRecord,
  responseId: string,
  live: Live,
  write: Write,
  signal: AbortSignal,
): Promise<boolean> {
  const onEvent = async (e: FollowEvent) => {
    if (e.type === "message_started" && !live.has(e.item_id) && ![...live.values()].some((m) => !m.done)) {
      live.set(e.item_id, { text: "", done: false });
      const opening = openingMessage(run, e.item_id, Date.now());
      await write({ event: "thread.message.created", data: opening });
      await write({ event: "thread.message.in_progress", data: opening });
    }
    const m = live.get(e.item_id);
    if (!m || m.done) return;
    if (e.type === "text_delta") {
      m.text += e.delta;
      await write(
        messageDelta(e.item_id, e.content_index, { type: "text", text: { value: e.delta, annotations: [] } }),
      );
    } else if (e.type === "message_done") {
      m.done = true;
      const done = { ...openingMessage(run, e.item_id, Date.now()), status: "completed", content: e.content };
      await write({
        event: "thread.message.completed",
        data: { ...done, completed_at: Math.floor(Date.now() / 1000) },
      });
    }
  };
  try {
    await deps.upstream.follow(responseId, signal, onEvent);
    return true;
  } catch (err) {
    if (!signal.aborted)
      log("info", "cannot relay the response's stream; following the run only", errorFields(err));
    return false;
  }
}

/** A relayed answer whose stream broke off is finished from the run's record: the rest of its text. */
async function finishLiveAnswer(run: RunRecord, live: Live, write: Write) {
  const answer = outputMessage(run);
  const m = answer ? live.get(answer.id) : undefined;
  if (!answer || !m || m.done) return;
  m.done = true;
  const full = answer.content.map((p) => (p.type === "text" ? p.text.value : "")).join("");
  const rest = full.startsWith(m.text) ? full.slice(m.text.length) : "";
  if (rest) await write(messageDelta(answer.id, 0, { type: "text", text: { value: rest, annotations: [] } }));
  await write(messageEnd(answer));
}
