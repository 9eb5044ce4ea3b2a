/**
 * What a chat platform's adapter implements (one folder per type under src/integrations/, listed
 * in index.ts). The integrations resource, its inbound route and the delivery of a run's answer
 * are type-agnostic; everything that knows a platform's wire format lives in its adapter:
 *
 * - `credentials` / `options`: the zod schemas of what a caller sets on an integration of this
 *   type (credentials are write-only: stored, never shown);
 * - `prepare`: at create (and when credentials change), check the credentials with the platform
 *   and learn what the record should show (Slack: `auth.test` → team_id, app_id);
 * - `handleInbound`: the platform's request to `/v1/integrations/{id}/events` (no API key): verify
 *   its signature, answer at once, and start runs through `deps.startRun`;
 * - `deliver`: a run it started ended (or needs tool outputs): post the answer to the platform.
 *   A failed attempt is retried with backoff by the run's delivery (delivery/integration.ts).
 */
import type { z } from "zod";
import type { Config } from "../config";
import type { CallbackEvent } from "../engine/present";
import type { RunRecord } from "../engine/types";
import type { IntegrationRecord } from "../store/integrations";

export const INTEGRATION_TYPES = ["slack", "discord"] as const;
export type IntegrationType = (typeof INTEGRATION_TYPES)[number];

/** The platform's request as it arrived: the body as text (signatures are over the exact bytes). */
export interface InboundRequest {
  headers: Headers;
  body: string;
}

/** What the inbound route answers (JSON unless `body` is a string); refusals are thrown as ApiError. */
export interface InboundResponse {
  status: 200 | 202;
  body: unknown;
  headers?: Record<string, string>;
}

/** A run an adapter asks for: on a conversation key, with the text, and where the answer goes. */
export interface StartRun {
  conversation: string;
  text: string;
  /** The platform's coordinates for the answer (the run's `callback.reply`). */
  reply: Record<string, string>;
  /** One run per key: a platform's retry of the same event names the same key (no second run). */
  dedupKey: string;
  /** Extra run metadata (who asked, where). */
  metadata?: Record<string, string>;
}

export type StartOutcome =
  | { ok: true; runId: string; replayed: boolean }
  /** The run was refused for good (quota, assistant deleted, …): `code` and a message for the user. */
  | { ok: false; code: string; message: string };

export interface InboundDeps {
  config: Config;
  now: () => number;
  startRun(run: StartRun): Promise<StartOutcome>;
  /** Whether a run was ever started on this conversation key (a thread the bot is in). */
  hasConversation(key: string): Promise<boolean>;
  /** Hand work to the platform's runtime after the answer (Workers' waitUntil; awaited in tests). */
  background(task: Promise<unknown>): void;
}

export interface DeliverDeps {
  config: Config;
  now: () => number;
  /** Where the adapter posted a run's answer so far (a placeholder it edits), kept per run. */
  replies: {
    get(tenant: string, runId: string): Promise<Record<string, string> | null>;
    set(tenant: string, runId: string, state: Record<string, string>): Promise<void>;
  };
}

/** A progress event as the run's outbox carries it (engine/progress.ts: `message.delta` has `data.text`). */
export interface ProgressEventBody {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** The outcome of one delivery attempt, as the run's delivery records it. */
export interface DeliverResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

export interface PrepareDeps {
  config: Config;
}

export interface IntegrationAdapter {
  readonly type: IntegrationType;
  readonly credentials: z.ZodType<Record<string, string>>;
  readonly options: z.ZodType<Record<string, unknown>>;
  /**
   * Check new credentials with the platform and return the options to store (given ones win over
   * learned ones). Throw an ApiError (400/502) when the platform refuses them.
   */
  prepare(
    credentials: Record<string, string>,
    options: Record<string, unknown>,
    deps: PrepareDeps,
  ): Promise<Record<string, unknown>>;
  handleInbound(
    req: InboundRequest,
    integration: IntegrationRecord,
    deps: InboundDeps,
  ): Promise<InboundResponse>;
  /**
   * A progress event of a run it started (optional): Slack posts a placeholder and edits it as the
   * text arrives, Discord edits the deferred response. Delivered in order, before the run's own
   * event, with the same retries; an adapter without it shows the answer whole at the end.
   */
  progress?(
    event: ProgressEventBody,
    run: RunRecord,
    integration: IntegrationRecord,
    reply: Record<string, string>,
    deps: DeliverDeps,
  ): Promise<DeliverResult>;
  deliver(
    event: CallbackEvent,
    run: RunRecord,
    integration: IntegrationRecord,
    reply: Record<string, string>,
    deps: DeliverDeps,
  ): Promise<DeliverResult>;
}
