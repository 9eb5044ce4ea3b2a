import { describe, expect, it } from "vitest";
import { EventScanner } from "../../src/upstream/sse";

const WANTED = new Set(["response.created", "response.completed"]);
const enc = new TextEncoder();

/** A Responses-style stream: created, `deltas` text deltas (with multi-byte text), completed. */
function stream(deltas: number, eol = "\n"): { text: string; last: number } {
  const events: [string, object][] = [["response.created", { response: { id: "resp_1", status: "queued" } }]];
  for (let i = 0; i < deltas; i++)
    events.push(["response.output_text.delta", { delta: `é${i}€`, item_id: "msg_1" }]);
  events.push(["response.completed", { response: { id: "resp_1", status: "completed" } }]);
  const text = events
    .map(
      ([type, body], n) =>
        `event: ${type}${eol}data: ${JSON.stringify({ type, ...body, sequence_number: n })}${eol}${eol}`,
    )
    .join("");
  return { text, last: events.length - 1 };
}

/** Feed `bytes` in pieces of the given sizes (cycled), then the end; collect the events. */
function feed(scanner: EventScanner, bytes: Uint8Array, sizes: number[]) {
  const out = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    out.push(...scanner.push(bytes.subarray(at, at + size)));
    at += size;
  }
  out.push(...scanner.push(null));
  return out;
}

describe("EventScanner", () => {
  it.each([[[1]], [[3, 7, 1]], [[64]], [[100000]]])(
    "finds the wanted events whatever the chunking (%j)",
    (sizes) => {
      const { text, last } = stream(40);
      const scanner = new EventScanner(WANTED);
      const events = feed(scanner, enc.encode(text), sizes);
      expect(events.map((e) => e.type)).toEqual(["response.created", "response.completed"]);
      expect(events[1]?.data).toMatchObject({ response: { status: "completed" }, sequence_number: last });
      expect(scanner.cursor()).toBe(last);
    },
  );

  it("gives the cursor of the last skipped event, as the stream stops mid-way", () => {
    const { text } = stream(10);
    const cut = text.indexOf("event: response.output_text.delta", text.indexOf('"sequence_number":5'));
    const scanner = new EventScanner(WANTED);
    const events = scanner.push(enc.encode(text.slice(0, cut + 20)));
    expect(events.map((e) => e.type)).toEqual(["response.created"]);
    expect(scanner.cursor()).toBe(5);
    expect(scanner.cursor()).toBe(5);
  });

  it("reads CRLF line endings, events without an event line, multi-line data and [DONE]", () => {
    const scanner = new EventScanner(WANTED);
    const { text, last } = stream(3, "\r\n");
    const extra = 'data: {"type":"response.completed",\ndata: "sequence_number":99}\n\ndata: [DONE]\n\n';
    const events = feed(scanner, enc.encode(text + extra), [5]);
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.completed",
      "response.completed",
    ]);
    expect(events[1]?.data.sequence_number).toBe(last);
    expect(scanner.cursor()).toBe(99);
  });

  it("parses a last event that lacks its blank line", () => {
    const scanner = new EventScanner(WANTED);
    const events = feed(
      scanner,
      enc.encode('event: response.completed\ndata: {"sequence_number":3,"response":{}}'),
      [4],
    );
    expect(events).toHaveLength(1);
    expect(scanner.cursor()).toBe(3);
  });

  it("has no cursor before the first event", () => {
    const scanner = new EventScanner(WANTED);
    scanner.push(enc.encode("event: response.output_text.delta\ndata: {"));
    expect(scanner.cursor()).toBeNull();
  });
});
