/**
 * Slack's request signing (v0): `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}"
 * with the app's signing secret>` and `X-Slack-Request-Timestamp` (unix seconds). A request older
 * or newer than five minutes is refused too, so a captured request cannot be replayed later.
 */

/** How far a request's timestamp may be from now (Slack's own recommendation: five minutes). */
export const SLACK_SIGNATURE_WINDOW_S = 5 * 60;

export type SignatureVerdict = "ok" | "missing" | "stale" | "invalid";

export async function slackSignature(secret: string, timestamp: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`v0:${timestamp}:${body}`));
  return `v0=${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function verifySlackRequest(
  secret: string,
  headers: Headers,
  body: string,
  nowMs: number,
): Promise<SignatureVerdict> {
  const timestamp = headers.get("x-slack-request-timestamp");
  const signature = headers.get("x-slack-signature");
  if (!timestamp || !signature) return "missing";
  if (!/^\d{1,12}$/.test(timestamp)) return "invalid";
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_SIGNATURE_WINDOW_S) return "stale";
  return sameText(await slackSignature(secret, timestamp, body), signature) ? "ok" : "invalid";
}

/** Compares without stopping at the first difference. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
