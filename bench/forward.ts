/**
 * How the bench's proxies (the invocation meter, the delay proxy) pass a request on through their
 * keep-alive agent. A kept-alive socket that the target closed at its idle timeout just as the agent
 * handed it out again fails at once (`ECONNRESET`, "socket hang up") before the target read a byte;
 * on a busy machine, where the agent's timer to drop such sockets fires late, it happens dozens of
 * times in a burst. Passed on, it reached the Worker as a Redis or QStash fault the stack never made,
 * and QStash's retry of the failed step counted as one more invocation. Such a request goes once
 * more, on a new socket; any other failure is the caller's.
 */
import http from "node:http";

export interface Forwarded {
  /** Stop the request (the client went away). */
  abort(): void;
}

export function forward(
  options: http.RequestOptions,
  body: Buffer,
  onAnswer: (answer: http.IncomingMessage) => void,
  onError: (err: Error) => void,
): Forwarded {
  let current: http.ClientRequest;
  const send = (again: boolean) => {
    const out = http.request(options, onAnswer);
    current = out;
    out.on("error", (err: NodeJS.ErrnoException) => {
      if (again && out.reusedSocket && err.code === "ECONNRESET") send(false);
      else onError(err);
    });
    out.end(body);
  };
  send(true);
  return { abort: () => current.destroy() };
}

/** A request's (or an answer's) whole body. */
export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}
