/**
 * Webhook signing secrets of a tenant, as pure functions. A rotation adds a new current secret and
 * gives every older one an end: until then deliveries carry one signature per live secret
 * (Standard Webhooks allows several, space-separated), so receivers can switch without a gap.
 */
import type { WebhookSecret } from "../store/tenants";

export const liveSecrets = (list: WebhookSecret[], now: number) =>
  list.filter((s) => s.expires_at_ms === null || s.expires_at_ms > now);

/** The list after a rotation: the new secret current, older live ones ending within the window. */
export function rotated(list: WebhookSecret[], fresh: WebhookSecret, now: number, windowMs: number) {
  const end = now + windowMs;
  const older = liveSecrets(list, now)
    .map((s) => ({ ...s, expires_at_ms: Math.min(s.expires_at_ms ?? end, end) }))
    .filter((s) => s.expires_at_ms > now);
  return [...older, fresh];
}

/** What the API shows of a secret: never the secret itself. */
export const publicSecret = (s: WebhookSecret) => ({
  id: s.id,
  created_at: Math.floor(s.created_at_ms / 1000),
  expires_at: s.expires_at_ms === null ? null : Math.floor(s.expires_at_ms / 1000),
});
