// Pipelined RESP2 connections to one redis-server, and a small pool of them.
import net from "node:net";
import { encodeCommand, ErrorReply, type Reply, ReplyParser } from "./resp.ts";

export type RedisTarget = { host: string; port: number; password?: string; username?: string; db?: number };

/** Parses redis://[user:pass@]host[:port][/db]. */
export function parseRedisUrl(redisUrl: string): RedisTarget {
  const url = new URL(redisUrl);
  if (url.protocol !== "redis:")
    throw new Error(`redis-rest: only redis:// URLs are supported, got ${redisUrl}`);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  return {
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number(url.port) : 6379,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    db: db && Number.isInteger(db) ? db : undefined,
  };
}

type Waiter = { resolve: (reply: Reply) => void; reject: (error: Error) => void };

/** One socket; commands are written back to back and replies matched in FIFO order. */
export class RedisConnection {
  private readonly socket: net.Socket;
  private readonly parser = new ReplyParser();
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("redis connection closed")));
  }

  static open(target: RedisTarget): Promise<RedisConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RedisConnection(socket));
      });
    });
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  get inFlight(): number {
    return this.waiters.length;
  }

  /** Sends all commands in one write (so nothing interleaves) and resolves with their replies. */
  send(commands: readonly (readonly Buffer[])[]): Promise<Reply[]> {
    if (this.failure) return Promise.reject(this.failure);
    const replies = commands.map(
      () => new Promise<Reply>((resolve, reject) => this.waiters.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  close(): void {
    this.fail(new Error("redis connection closed by client"));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.feed(chunk);
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
      return;
    }
    for (const reply of replies) this.waiters.shift()?.resolve(reply);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

/** Up to `size` pipelined connections, opened lazily and replaced when they die. */
export class RedisPool {
  private readonly target: RedisTarget;
  private readonly size: number;
  private readonly slots: (Promise<RedisConnection> | undefined)[];
  private next = 0;
  private closed = false;

  constructor(target: RedisTarget, size = 4) {
    this.target = target;
    this.size = size;
    this.slots = new Array(size).fill(undefined);
  }

  /** Runs a batch of commands back to back on one connection; replies in order. */
  async exec(commands: readonly (readonly Buffer[])[]): Promise<Reply[]> {
    const connection = await this.acquire();
    return connection.send(commands);
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((slot) => slot?.then((c) => c.close()).catch(() => undefined)));
  }

  // Round robin over slots; a dead or failed slot is reopened on its turn.
  private async acquire(): Promise<RedisConnection> {
    if (this.closed) throw new Error("redis-rest: pool is closed");
    const index = this.next;
    this.next = (this.next + 1) % this.size;
    const current = this.slots[index];
    if (current) {
      const connection = await current.catch(() => undefined);
      if (connection?.alive) return connection;
    }
    const opening = openConnection(this.target);
    this.slots[index] = opening;
    return opening;
  }
}

async function openConnection(target: RedisTarget): Promise<RedisConnection> {
  const connection = await RedisConnection.open(target);
  const setup: Buffer[][] = [];
  if (target.password) {
    const auth = target.username ? [target.username, target.password] : [target.password];
    setup.push(["AUTH", ...auth].map((s) => Buffer.from(s)));
  }
  if (target.db) setup.push(["SELECT", String(target.db)].map((s) => Buffer.from(s)));
  const replies = await connection.send(setup);
  const failed = replies.find((reply) => reply instanceof ErrorReply);
  if (failed instanceof ErrorReply) {
    connection.close();
    throw new Error(`redis-rest: connection setup failed: ${failed.message}`);
  }
  return connection;
}
