// Server-sent events paced in real (scaled) time: each event goes out when its moment has come,
// the terminal one only once the response really is terminal, so polling and streaming agree.
import type http from "node:http";
import { isTerminal, notify, type ResponseRecord, type SimState, waitChange } from "./state.ts";

const alive = (state: SimState, record: ResponseRecord): boolean =>
  !state.closed && state.responses.get(record.id) === record;

/** Streams the events after `startingAfter` (-1 for all) until the terminal event or cancellation. */
export async function streamEvents(
  state: SimState,
  record: ResponseRecord,
  startingAfter: number,
  res: http.ServerResponse,
): Promise<void> {
  state.stats.streamsOpened++;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  let gone = false;
  res.on("close", () => {
    gone = true;
    clearTimeout(cut);
    notify(record); // wake the loop below so it stops waiting
  });
  // Fault switch: the connection drops `afterMs` into the stream (the response runs on).
  const cutRule = state.faults.take("cut_stream", `stream ${record.id}`);
  const cut = cutRule ? setTimeout(() => res.destroy(), cutRule.afterMs ?? 0) : undefined;
  let seq = Math.max(-1, startingAfter) + 1;
  while (!gone && alive(state, record)) {
    const event = record.events[seq];
    if (!event) {
      if (isTerminal(record.status)) break;
      await waitChange(state, record, 60_000);
      continue;
    }
    const terminalPending = seq === record.events.length - 1 && !isTerminal(record.status);
    const wait = event.atMs - Date.now();
    if (terminalPending || wait > 0) {
      await waitChange(state, record, terminalPending ? 60_000 : wait);
      continue;
    }
    res.write(`event: ${event.data.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    seq++;
  }
  if (!res.writableEnded) res.end();
}

/** For a synchronous create: resolves true once terminal, false if the response went away. */
export async function waitTerminal(state: SimState, record: ResponseRecord): Promise<boolean> {
  while (!isTerminal(record.status)) {
    if (!alive(state, record)) return false;
    await waitChange(state, record, 60_000);
  }
  return true;
}
