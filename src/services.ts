/**
 * The Worker's I/O objects, built from config once per isolate (and per public base URL, which
 * step destinations depend on). Routes take what they need from here; nothing else constructs clients.
 */
import { signingSecrets } from "./commands/tenants";
import { type Config, requireService } from "./config";
import { createStepQueue, type StepQueue } from "./queue/steps";
import { MessageStore } from "./store/messages";
import { AssistantStore, ThreadStore } from "./store/records";
import { createRedis, type Redis } from "./store/redis";
import { RunStore } from "./store/runs";
import { ApiKeyStore, TenantStore } from "./store/tenants";
import { createUpstream, type Upstream } from "./upstream/openai";
import type { Deps } from "./steps/actions";

export interface Stores {
  redis: Redis;
  assistants: AssistantStore;
  threads: ThreadStore;
  runs: RunStore;
  messages: MessageStore;
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
}

const storeCache = new WeakMap<Config, Stores>();
export function stores(config: Config): Stores {
  let s = storeCache.get(config);
  if (!s) {
    const { url, token } = requireService(config, "redis");
    const redis = createRedis(url, token);
    s = {
      redis,
      assistants: new AssistantStore(redis),
      threads: new ThreadStore(redis),
      runs: new RunStore(redis, config.tenantDefaults),
      messages: new MessageStore(redis),
      tenants: new TenantStore(redis),
      apiKeys: new ApiKeyStore(redis),
    };
    storeCache.set(config, s);
  }
  return s;
}

const queueCache = new Map<string, StepQueue>();
export function stepQueue(config: Config, origin: string): StepQueue {
  const baseUrl = config.publicUrl ?? origin;
  let q = queueCache.get(baseUrl);
  if (!q) {
    q = createStepQueue({ ...requireService(config, "qstash"), baseUrl });
    queueCache.set(baseUrl, q);
  }
  return q;
}

const upstreamCache = new WeakMap<Config, Upstream>();
export function upstream(config: Config): Upstream {
  let u = upstreamCache.get(config);
  if (!u) {
    u = createUpstream(requireService(config, "openai"));
    upstreamCache.set(config, u);
  }
  return u;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function stepDeps(config: Config, origin: string): Deps {
  const s = stores(config);
  return {
    config,
    runs: s.runs,
    threads: s.threads,
    queue: stepQueue(config, origin),
    upstream: upstream(config),
    webhookSecrets: (tenant) => signingSecrets({ tenants: s.tenants, config }, tenant, Date.now()),
    now: Date.now,
    sleep,
  };
}

/** What thread, message and run-reading commands need (OpenAI only when a command calls it). */
export function threadDeps(config: Config) {
  return {
    ...stores(config),
    get upstream() {
      return upstream(config);
    },
    now: Date.now,
  };
}

/** What run control commands need (see commands/control.ts). */
export function controlDeps(config: Config, origin: string) {
  return {
    runs: stores(config).runs,
    queue: stepQueue(config, origin),
    upstream: upstream(config),
    now: Date.now,
  };
}
