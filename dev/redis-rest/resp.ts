// Minimal binary-safe RESP2 codec: encodes commands, parses replies incrementally.
// Bulk strings stay Buffers so that base64 replies are exact and non-UTF-8 bytes survive.

/** A RESP2 simple-string ("+OK") reply, kept distinct from bulk strings. */
export class StatusReply {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

/** A RESP2 error ("-ERR ...") reply. It is a value, not a thrown error. */
export class ErrorReply {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

export type Reply = null | number | bigint | Buffer | StatusReply | ErrorReply | Reply[];

const CRLF = Buffer.from("\r\n");

/** Encodes one command as a RESP2 array of bulk strings. */
export function encodeCommand(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    parts.push(Buffer.from(`$${arg.length}\r\n`), arg, CRLF);
  }
  return Buffer.concat(parts);
}

type Parsed = { value: Reply; next: number } | undefined;

/** Incremental parser: feed chunks, get every complete top-level reply back. */
export class ReplyParser {
  private buf: Buffer = Buffer.alloc(0);

  feed(chunk: Buffer): Reply[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const replies: Reply[] = [];
    let offset = 0;
    for (;;) {
      const parsed = parseAt(this.buf, offset);
      if (!parsed) break;
      replies.push(parsed.value);
      offset = parsed.next;
    }
    this.buf = offset >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(offset);
    return replies;
  }
}

function parseAt(buf: Buffer, offset: number): Parsed {
  const lineEnd = buf.indexOf(CRLF, offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString("utf8", offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: new StatusReply(line), next: afterLine };
    case "-":
      return { value: new ErrorReply(line), next: afterLine };
    case ":":
      return { value: parseInteger(line), next: afterLine };
    case "$":
      return parseBulk(buf, Number(line), afterLine);
    case "*":
      return parseArray(buf, Number(line), afterLine);
    default:
      throw new Error(`RESP protocol error: unexpected type byte ${JSON.stringify(type)}`);
  }
}

/** Integers beyond 2^53 stay exact as bigint (they are written back to JSON verbatim). */
function parseInteger(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function parseBulk(buf: Buffer, length: number, start: number): Parsed {
  if (length < 0) return { value: null, next: start };
  const end = start + length;
  if (buf.length < end + 2) return undefined;
  // Copy so the reply does not pin the parser's (possibly large) buffer.
  return { value: Buffer.from(buf.subarray(start, end)), next: end + 2 };
}

function parseArray(buf: Buffer, count: number, start: number): Parsed {
  if (count < 0) return { value: null, next: start };
  const items: Reply[] = [];
  let next = start;
  for (let i = 0; i < count; i++) {
    const parsed = parseAt(buf, next);
    if (!parsed) return undefined;
    items.push(parsed.value);
    next = parsed.next;
  }
  return { value: items, next };
}
