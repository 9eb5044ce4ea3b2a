// What the Discord stand-in knows: the interactions it sent (by token) with their initial response,
// original message and follow-ups, and every message the bot posted, in order, with waiters.

/** Discord's ids: milliseconds since 2015 in the top 42 bits, then a counter. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
let increment = 0n;
export function snowflake(atMs = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return String(((BigInt(Math.floor(atMs)) - DISCORD_EPOCH_MS) << 22n) | increment);
}

/** Interaction tokens (and so their webhooks) live this long from the interaction's creation. */
export const TOKEN_LIFE_MS = 15 * 60_000;
/** An interaction not answered within this long fails for the user, and its token with it. */
export const ACK_DEADLINE_MS = 3_000;

export type Message = {
  id: string;
  type: number;
  channel_id: string;
  content: string;
  author: { id: string; username: string; bot: true };
  timestamp: string;
  edited_timestamp: string | null;
  flags: number;
  application_id: string;
  webhook_id?: string;
  interaction_metadata?: { id: string; type: number; user: { id: string } };
};

export type Sent = {
  interaction: Record<string, unknown> & { id: string; token: string; application_id: string };
  channel_id: string;
  user_id: string;
  created_at_ms: number;
  /** The interaction response the bot gave (`null`: none yet, or none in time). */
  response: { type: number; data?: Record<string, unknown> } | null;
  ack_ms: number | null;
  original: Message | null;
  followups: Message[];
};

/** One thing the bot did on Discord, as the inbox page and tests see it. */
export type Post = {
  seq: number;
  at_ms: number;
  kind: "interaction_response" | "edit_original" | "followup" | "channel_message";
  interaction_id: string | null;
  channel_id: string;
  content: string;
  message_id: string | null;
};

type Waiter = { match: (p: Post) => boolean; min: number; wake: () => void };

export class DiscordState {
  readonly byToken = new Map<string, Sent>();
  private posts: Post[] = [];
  private waiters = new Set<Waiter>();
  private seq = 0;

  private readonly limit: number;

  constructor(limit = 1000) {
    this.limit = limit;
  }

  record(post: Omit<Post, "seq" | "at_ms">): Post {
    const full = { ...post, seq: ++this.seq, at_ms: Date.now() };
    this.posts.push(full);
    if (this.posts.length > this.limit) this.posts.splice(0, this.posts.length - this.limit);
    for (const w of [...this.waiters]) if (this.posts.filter(w.match).length >= w.min) w.wake();
    return full;
  }

  list(match: (p: Post) => boolean = () => true): Post[] {
    return this.posts.filter(match);
  }

  wait(match: (p: Post) => boolean, min: number, timeoutMs: number): Promise<Post[]> {
    return new Promise((resolve, reject) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        const found = this.list(match);
        if (ok) resolve(found);
        else reject(new Error(`discord stand-in: ${found.length} of ${min} posts after ${timeoutMs} ms`));
      };
      const waiter: Waiter = { match, min, wake: () => done(true) };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(waiter);
      if (this.list(match).length >= min) done(true);
    });
  }

  clear(): void {
    this.posts = [];
    this.byToken.clear();
  }

  close(): void {
    for (const w of [...this.waiters]) w.wake();
  }
}
