/**
 * Which run a background response belongs to, by response id alone: OpenAI's webhooks are
 * project-wide and carry only the response id, so the receiver looks here (one read) before it
 * spends a QStash message, an invocation and an OpenAI GET on a response that is not threadhook's.
 */
import { keys } from "./keys";
import type { Redis } from "./redis";

export interface ResponseOwner {
  tenant: string;
  run_id: string;
}

export class ResponseIndex {
  private readonly redis: Redis;
  constructor(redis: Redis) {
    this.redis = redis;
  }

  /** Remember `responseId` for `ttlS` seconds (its run's deadline plus a margin for late webhooks). */
  async remember(responseId: string, owner: ResponseOwner, ttlS: number): Promise<void> {
    await this.redis.set(keys.responseOwner(responseId), `${owner.tenant} ${owner.run_id}`, {
      ex: Math.max(1, Math.ceil(ttlS)),
    });
  }

  async owner(responseId: string): Promise<ResponseOwner | null> {
    const raw = await this.redis.get<string>(keys.responseOwner(responseId));
    if (typeof raw !== "string") return null;
    const [tenant, run_id] = raw.split(" ");
    return tenant && run_id ? { tenant, run_id } : null;
  }
}
