// Callback and failure-callback messages: a new signed message whose JSON body reports an attempt.
import type { Outcome } from "./deliver.ts";
import { multiValued } from "./http.ts";
import { type CallbackSpec, type Message, newMessageId } from "./message.ts";

export type CallbackPayloadExtra = { dlqId?: string };

/**
 * The report of one attempt. The destination's answer is cut to `maxBodyBytes` (QStash truncates it
 * to the plan's maximum message size: 1 MB on the free plan).
 */
export function callbackPayload(
  message: Message,
  outcome: Outcome,
  extra: CallbackPayloadExtra,
  maxBodyBytes = Number.POSITIVE_INFINITY,
) {
  return {
    status: outcome.status,
    header: multiValued(outcome.headers),
    body: outcome.body.subarray(0, maxBodyBytes).toString("base64"),
    retried: message.retried,
    maxRetries: message.maxRetries,
    sourceMessageId: message.messageId,
    url: message.url,
    method: message.method,
    sourceHeader: multiValued(message.deliver),
    sourceBody: message.body.toString("base64"),
    notBefore: String(message.notBefore),
    createdAt: String(message.createdAt),
    callerIP: message.callerIP,
    ...(message.queueName === undefined ? {} : { queueName: message.queueName }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
    ...extra,
  };
}

/** Callbacks reuse the source message's retry settings unless `Upstash-Callback-*` overrides them. */
export function callbackMessage(source: Message, spec: CallbackSpec, payload: object): Message {
  const now = Date.now();
  return {
    messageId: newMessageId(),
    url: spec.url,
    method: spec.method,
    deliver: [["Content-Type", "application/json"], ...spec.forward],
    body: Buffer.from(JSON.stringify(payload)),
    maxRetries: spec.retries ?? source.maxRetries,
    retryDelayExpression: spec.retryDelay ?? source.retryDelayExpression,
    timeoutMs: spec.timeoutMs ?? source.timeoutMs,
    notBefore: now + (spec.delayMs ?? 0),
    createdAt: now,
    callerIP: source.callerIP,
    retried: 0,
    kind: "callback",
    source: [],
  };
}
