/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `${id}.${timestamp}.${body}` with the base64 key of a `whsec_…` secret, sent as
 * `webhook-signature: v1,<base64>`; several secrets (a rotation window) give several
 * space-separated signatures. Uses the reference `standardwebhooks` library.
 */
import { Webhook } from "standardwebhooks";

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export function signWebhook(secrets: string[], id: string, at: Date, body: string): SignedHeaders {
  if (secrets.length === 0) throw new Error("no webhook secret to sign with");
  const signature = secrets.map((s) => new Webhook(s).sign(id, at, body)).join(" ");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signature,
  };
}
