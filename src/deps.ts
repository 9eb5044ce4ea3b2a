/**
 * The Worker's dependencies, as one request-scoped object (`c.var.deps`, set by the app's first
 * middleware). Everything in it is built lazily: config is parsed on first use (503 `config_invalid`
 * when it does not parse) and a service client is made the first time a route touches it (503
 * `service_not_configured`, naming the variables to set, when that service is not configured).
 * Clients are cached per isolate, so the per-request object costs a few property reads.
 *
 * `createApp({ deps })` (app.ts) swaps the builder: tests hand in narrow fakes this way.
 * Never spread a Deps object: that would touch every getter.
 */
import { signingSecrets, signingSecretsOf } from "./commands/tenants";
import { type Config, requireConfig, requireService } from "./config";
import { createStepQueue, type StepQueue } from "./queue/steps";
import { FileStore, VectorStoreStore } from "./store/files";
import { IntegrationStore } from "./store/integrations";
import { MessageStore } from "./store/messages";
import { AssistantStore, ThreadStore } from "./store/records";
import { createRedis, type Redis } from "./store/redis";
import { ResponseIndex } from "./store/responses";
import { RunStore } from "./store/runs";
import { ScheduleStore } from "./store/schedules";
import { ApiKeyStore, TenantStore, type WebhookSecret } from "./store/tenants";
import { UsageStore } from "./store/usage";
import { createFilesUpstream, type FilesUpstream } from "./upstream/files";
import { createUpstream, type Upstream } from "./upstream/openai";

export interface Deps {
  readonly config: Config;
  readonly redis: Redis;
  readonly assistants: AssistantStore;
  readonly threads: ThreadStore;
  readonly runs: RunStore;
  readonly messages: MessageStore;
  readonly tenants: TenantStore;
  readonly apiKeys: ApiKeyStore;
  readonly usage: UsageStore;
  readonly files: FileStore;
  readonly vectorStores: VectorStoreStore;
  readonly schedules: ScheduleStore;
  /** Chat bots (Slack, Discord) and the global id → tenant index their inbound URLs need. */
  readonly integrations: IntegrationStore;
  /** Which run a background response belongs to (for OpenAI's project-wide webhooks). */
  readonly responses: ResponseIndex;
  /** QStash, publishing steps to this deployment (PUBLIC_URL, else the request's origin). */
  readonly queue: StepQueue;
  readonly upstream: Upstream;
  /** OpenAI's Files, Vector Stores and container files. */
  readonly openaiFiles: FilesUpstream;
  /** Where this deployment is reached (PUBLIC_URL, else the request's origin): for links it hands out. */
  readonly baseUrl: string;
  /** The secrets a tenant's deliveries and tool calls are signed with now (several in a rotation). */
  webhookSecrets(tenant: string): Promise<string[]>;
  /** The same from the tenant's stored secrets as read already (a step's claim reads them). */
  signingSecretsFrom(tenant: string, stored: WebhookSecret[] | null, now: number): string[];
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type Env = Record<string, unknown>;
export type AppEnv = { Bindings: Env; Variables: { deps: Deps } };
/** How the app gets its deps for a request: the default builds them from the Worker's env. */
export type DepsFactory = (env: Env, origin: string) => Deps;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const createDeps: DepsFactory = (env, origin) => {
  const config = () => requireConfig(env);
  const s = () => stores(config());
  return {
    get config() {
      return config();
    },
    get redis() {
      return s().redis;
    },
    get assistants() {
      return s().assistants;
    },
    get threads() {
      return s().threads;
    },
    get runs() {
      return s().runs;
    },
    get messages() {
      return s().messages;
    },
    get tenants() {
      return s().tenants;
    },
    get apiKeys() {
      return s().apiKeys;
    },
    get usage() {
      return s().usage;
    },
    get files() {
      return s().files;
    },
    get vectorStores() {
      return s().vectorStores;
    },
    get responses() {
      return s().responses;
    },
    get schedules() {
      return s().schedules;
    },
    get integrations() {
      return s().integrations;
    },
    get queue() {
      return stepQueue(config(), origin);
    },
    get upstream() {
      return upstream(config());
    },
    get openaiFiles() {
      return filesUpstream(config());
    },
    get baseUrl() {
      return config().publicUrl ?? origin;
    },
    webhookSecrets: (tenant) =>
      signingSecrets({ tenants: s().tenants, config: config() }, tenant, Date.now()),
    signingSecretsFrom: (tenant, stored, now) => signingSecretsOf(config(), tenant, stored, now),
    now: Date.now,
    sleep,
  };
};

interface Stores {
  redis: Redis;
  assistants: AssistantStore;
  threads: ThreadStore;
  runs: RunStore;
  messages: MessageStore;
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
  usage: UsageStore;
  files: FileStore;
  vectorStores: VectorStoreStore;
  responses: ResponseIndex;
  schedules: ScheduleStore;
  integrations: IntegrationStore;
}

const storeCache = new WeakMap<Config, Stores>();
function stores(config: Config): Stores {
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
      usage: new UsageStore(redis),
      files: new FileStore(redis),
      vectorStores: new VectorStoreStore(redis),
      responses: new ResponseIndex(redis),
      schedules: new ScheduleStore(redis),
      integrations: new IntegrationStore(redis),
    };
    storeCache.set(config, s);
  }
  return s;
}

const queueCache = new Map<string, StepQueue>();
function stepQueue(config: Config, origin: string): StepQueue {
  const baseUrl = config.publicUrl ?? origin;
  let q = queueCache.get(baseUrl);
  if (!q) {
    q = createStepQueue({ ...requireService(config, "qstash"), baseUrl });
    queueCache.set(baseUrl, q);
  }
  return q;
}

const upstreamCache = new WeakMap<Config, Upstream>();
function upstream(config: Config): Upstream {
  let u = upstreamCache.get(config);
  if (!u) {
    u = createUpstream(requireService(config, "openai"));
    upstreamCache.set(config, u);
  }
  return u;
}

const filesUpstreamCache = new WeakMap<Config, FilesUpstream>();
function filesUpstream(config: Config): FilesUpstream {
  let u = filesUpstreamCache.get(config);
  if (!u) {
    u = createFilesUpstream(requireService(config, "openai"));
    filesUpstreamCache.set(config, u);
  }
  return u;
}
