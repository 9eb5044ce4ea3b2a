/**
 * A lean reader of a Responses event stream for the drive step, which needs only a few events of
 * the hundreds a response streams (one per token): the lifecycle ones and the terminal one.
 *
 * The SDK's stream parses every event's JSON and resolves several promises per event; measured in
 * workerd that cost about 0.2 ms per event, most of a step's CPU. This reader splits the text into
 * events, reads each event's `event:` line and parses the JSON of the wanted ones only. The cursor
 * (the last `sequence_number` seen, for resuming with `starting_after`) is read from the last
 * event's text only when it is asked for.
 */

export interface StreamEvent {
  type: string;
  /** The event's JSON, parsed (wanted events only). */
  data: Record<string, unknown>;
}

export class EventScanner {
  private buffer = "";
  private lastData: string | null = null;
  private lastSequence: number | null = null;
  private readonly decoder = new TextDecoder();

  private readonly wanted: ReadonlySet<string>;

  constructor(wanted: ReadonlySet<string>) {
    this.wanted = wanted;
  }

  /** Feed bytes (null = end of stream); the wanted events completed by them, in order. */
  push(chunk: Uint8Array | null): StreamEvent[] {
    this.buffer += chunk === null ? this.decoder.decode() : this.decoder.decode(chunk, { stream: true });
    if (chunk === null) this.buffer += "\n\n";
    const out: StreamEvent[] = [];
    for (;;) {
      const end = eventEnd(this.buffer);
      if (end === null) break;
      const block = this.buffer.slice(0, end.at);
      this.buffer = this.buffer.slice(end.at + end.length);
      const event = this.take(block);
      if (event) out.push(event);
    }
    return out;
  }

  /** The `sequence_number` of the last complete event (null before the first). */
  cursor(): number | null {
    if (this.lastData !== null) {
      const m = /"sequence_number"\s*:\s*(\d+)/.exec(this.lastData);
      if (m?.[1] !== undefined) this.lastSequence = Number(m[1]);
      this.lastData = null;
    }
    return this.lastSequence;
  }

  private take(block: string): StreamEvent | null {
    let type: string | null = null;
    let data: string | null = null;
    for (const raw of block.split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.startsWith("event:")) type = fieldValue(line, 6);
      else if (line.startsWith("data:")) {
        const value = fieldValue(line, 5);
        data = data === null ? value : `${data}\n${value}`;
      }
    }
    if (data === null || data === "[DONE]") return null;
    if (type !== null && !this.wanted.has(type)) {
      this.lastData = data;
      return null;
    }
    // A wanted event, or one without an `event:` line (its type is in its JSON).
    const parsed = JSON.parse(data) as Record<string, unknown>;
    this.lastData = null;
    if (typeof parsed.sequence_number === "number") this.lastSequence = parsed.sequence_number;
    const name = type ?? (typeof parsed.type === "string" ? parsed.type : "");
    return this.wanted.has(name) ? { type: name, data: parsed } : null;
  }
}

/** Where the first event of `text` ends: a blank line, in any of SSE's line endings. */
function eventEnd(text: string): { at: number; length: number } | null {
  let best: { at: number; length: number } | null = null;
  for (const sep of ["\n\n", "\r\n\r\n", "\r\r"]) {
    const at = text.indexOf(sep);
    if (at !== -1 && (best === null || at < best.at)) best = { at, length: sep.length };
  }
  return best;
}

/** A field's value: after the colon, without one leading space. */
const fieldValue = (line: string, colon: number) =>
  line[colon] === " " ? line.slice(colon + 1) : line.slice(colon);
