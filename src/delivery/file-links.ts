/**
 * Signed, expiring download links for files a run generated: a callback carries them so a receiver
 * (a chat bot posting into Slack) can hand out the file without an API key. The signature is an
 * HMAC-SHA256 with the tenant's current webhook secret over the tenant, the file and the expiry;
 * any live secret of the tenant verifies it, so links survive a secret rotation's window.
 */
import type { CallbackEvent } from "../engine/present";
import type { GeneratedFile, RunRecord } from "../engine/types";

const PURPOSE = "threadhook-file-link.v1";

/** The path a link points at; its query carries `tenant`, `expires` (unix seconds) and `signature`. */
export const downloadPath = (fileId: string) => `/v1/files/${encodeURIComponent(fileId)}/download`;

async function sign(secret: string, tenant: string, fileId: string, expires: number): Promise<string> {
  const raw = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const keyBytes = Uint8Array.from(atob(raw), (ch) => ch.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const data = new TextEncoder().encode(`${PURPOSE}:${tenant}:${fileId}:${expires}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
  return btoa(String.fromCharCode(...mac))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function fileLink(opts: {
  baseUrl: string;
  tenant: string;
  fileId: string;
  expires: number;
  secret: string;
}): Promise<string> {
  const signature = await sign(opts.secret, opts.tenant, opts.fileId, opts.expires);
  const query = new URLSearchParams({ tenant: opts.tenant, expires: String(opts.expires), signature });
  return `${opts.baseUrl}${downloadPath(opts.fileId)}?${query}`;
}

/** Whether a link's signature is one of the tenant's secrets' and it has not expired. */
export async function checkFileLink(opts: {
  tenant: string;
  fileId: string;
  expires: number;
  signature: string;
  secrets: string[];
  nowMs: number;
}): Promise<"ok" | "expired" | "invalid"> {
  let valid = false;
  for (const secret of opts.secrets) {
    if (sameText(await sign(secret, opts.tenant, opts.fileId, opts.expires), opts.signature)) valid = true;
  }
  if (!valid) return "invalid";
  return opts.expires * 1000 <= opts.nowMs ? "expired" : "ok";
}

/** Compares without stopping at the first difference. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** What a callback shows of a generated file. */
export type PublicFile = Pick<GeneratedFile, "file_id" | "filename" | "mime_type" | "bytes"> & {
  download_url?: string;
};

/** The run's generated files in its callback event, each with a signed link valid for `ttlS`. */
export async function withFileLinks(
  event: CallbackEvent,
  run: RunRecord,
  opts: { baseUrl: string; secret: string | undefined; ttlS: number; nowMs: number },
): Promise<CallbackEvent> {
  const generated = run.files?.generated ?? [];
  if (generated.length === 0 || !opts.secret) return event;
  const expires = Math.floor(opts.nowMs / 1000) + opts.ttlS;
  const secret = opts.secret;
  const files: PublicFile[] = await Promise.all(
    generated.map(async (f) => ({
      file_id: f.file_id,
      filename: f.filename,
      mime_type: f.mime_type,
      bytes: f.bytes,
      download_url: await fileLink({
        baseUrl: opts.baseUrl,
        tenant: run.tenant,
        fileId: f.file_id,
        expires,
        secret,
      }),
    })),
  );
  return { ...event, data: { ...event.data, run: { ...event.data.run, files } } };
}
