/**
 * Assistants-style streaming (`stream: true`): an SSE response that follows a run while QStash
 * steps drive it. The stream only observes. While a response of the run is being written it relays
 * that response's own event stream (the answer's text as it comes: no Redis reads at all); between
 * responses it reads the run's record, soon after a change and then less and less often, and emits
 * the facts it has not emitted yet (engine/stream-events.ts). A plain run costs a handful of reads:
 * one or two until the response exists, one or two after it ends. Ends with `event: done`.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { findRun, type RunReader } from "../../commands/runs";
import { outputMessage } from "../../engine/messages";
import {
  liveMessageStart,
  messageDelta,
  messageEnd,
  newEvents,
  openingMessage,
  STREAM_END,
  type StreamEvent,
} from "../../engine/stream-events";
import type { RunRecord } from "../../engine/types";
import { isUpstreamTerminal } from "../../engine/upstream-types";
import { errorFields, log } from "../../log";
import type { FollowEvent, Upstream } from "../../upstream/openai";

export interface StreamDeps {
  runs: RunReader;
  upstream: Pick<Upstream, "follow">;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/**
 * Waits before each re-read of the run while nothing can be relayed: the first soon after the
 * stream starts or the run changes (a step saves within milliseconds of what it observes), then
 * doubling; the last repeats. Without a relay a 20 s run costs about 9 reads, a minute about 17.
 */
export const READ_DELAYS_MS = [100, 200, 400, 800, 1600, 3200, 5000];
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
    const follower = new Follower(deps, opts.emitted, write, abort.signal);
    try {
      for (const e of opts.first) await write(e);
      await follower.follow(run);
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
    log("debug", "run stream ended", { run_id: run.id, reads: follower.reads, relays: follower.relays });
    await stream.writeSSE({ event: "done", data: "[DONE]" });
  });
}

/** A live message: the text relayed so far, and whether its completion was sent. */
type Live = Map<string, { text: string; done: boolean }>;

/** One stream's view of a run: what it emitted, what it relays, what it costs. */
class Follower {
  /** Reads of the run record (Redis requests) and upstream streams opened: the stream's subrequests. */
  reads = 0;
  relays = 0;
  private readonly live: Live = new Map();
  private readonly followed = new Set<string>();
  private relayable = true;

  private readonly deps: StreamDeps;
  private readonly emitted: Set<string>;
  private readonly write: Write;
  private readonly signal: AbortSignal;

  constructor(deps: StreamDeps, emitted: Set<string>, write: Write, signal: AbortSignal) {
    this.deps = deps;
    this.emitted = emitted;
    this.write = write;
    this.signal = signal;
  }

  async follow(start: RunRecord): Promise<void> {
    const giveUpAt = start.deadline_ms + STREAM_GRACE_MS;
    let run = start;
    let fingerprint = "";
    let wait = 0;
    for (;;) {
      await this.finishLiveAnswer(run);
      for (const e of newEvents(run, this.emitted, new Set(this.live.keys()))) await this.write(e);
      if (STREAM_END.has(run.status)) return;
      const changed = changeOf(run) !== fingerprint;
      fingerprint = changeOf(run);
      const response = run.upstream.response_id;
      if (
        this.relayable &&
        response &&
        !this.followed.has(response) &&
        !isUpstreamTerminal(run.upstream.response_status)
      ) {
        this.followed.add(response);
        this.relayable = await this.relay(run, response);
        wait = 0; // the run's record follows the response's end within milliseconds
      } else {
        wait = changed ? 0 : wait + 1;
      }
      if (this.signal.aborted) return;
      const delay = READ_DELAYS_MS[Math.min(wait, READ_DELAYS_MS.length - 1)] ?? 0;
      if (this.deps.now() + delay >= giveUpAt) return;
      await this.deps.sleep(delay);
      if (this.signal.aborted) return;
      const next = await findRun(this.deps, start.tenant, start.id);
      this.reads++;
      if (!next) return;
      run = next;
    }
  }

  /** Relay a response's answer as it is written; false when the upstream cannot be followed. */
  private async relay(run: RunRecord, responseId: string): Promise<boolean> {
    this.relays++;
    const onEvent = async (e: FollowEvent) => {
      if (e.type === "message_started") {
        if (this.live.has(e.item_id) || [...this.live.values()].some((m) => !m.done)) return;
        this.live.set(e.item_id, { text: "", done: false });
        for (const ev of liveMessageStart(run, e.item_id, this.emitted, this.deps.now()))
          await this.write(ev);
        return;
      }
      const m = this.live.get(e.item_id);
      if (!m || m.done) return;
      if (e.type === "text_delta") {
        m.text += e.delta;
        await this.write(
          messageDelta(e.item_id, e.content_index, {
            type: "text",
            text: { value: e.delta, annotations: [] },
          }),
        );
      } else {
        m.done = true;
        const now = this.deps.now();
        const done = { ...openingMessage(run, e.item_id, now), status: "completed", content: e.content };
        await this.write({
          event: "thread.message.completed",
          data: { ...done, completed_at: Math.floor(now / 1000) },
        });
      }
    };
    try {
      await this.deps.upstream.follow(responseId, this.signal, onEvent);
      return true;
    } catch (err) {
      if (!this.signal.aborted)
        log("info", "cannot relay the response's stream; following the run only", errorFields(err));
      return false;
    }
  }

  /** A relayed answer whose stream broke off is finished from the run's record: the rest of its text. */
  private async finishLiveAnswer(run: RunRecord) {
    const answer = outputMessage(run);
    const m = answer ? this.live.get(answer.id) : undefined;
    if (!answer || !m || m.done) return;
    m.done = true;
    const full = answer.content.map((p) => (p.type === "text" ? p.text.value : "")).join("");
    const rest = full.startsWith(m.text) ? full.slice(m.text.length) : "";
    if (rest)
      await this.write(messageDelta(answer.id, 0, { type: "text", text: { value: rest, annotations: [] } }));
    await this.write(messageEnd(answer));
  }
}

/** What makes a re-read worth doing soon again: the run's status, response, round or steps moved. */
const changeOf = (run: RunRecord) =>
  [
    run.status,
    run.upstream.response_id,
    run.upstream.response_status,
    run.tool_rounds,
    run.steps.length,
  ].join("|");
