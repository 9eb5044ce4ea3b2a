/**
 * Fetch a file a caller attached by URL, under the outbound URL policy: every hop of a redirect is
 * checked again (a redirect to a forbidden address is refused, never followed), the whole fetch
 * has a timeout, and the body is read only up to a size limit. Outcomes are values.
 */
import { checkOutboundUrl, type UrlPolicyMode } from "../security/url-policy";

export type FetchedFile =
  | { ok: true; bytes: Uint8Array<ArrayBuffer>; filename: string; type: string }
  | { ok: false; reason: string };

const MAX_REDIRECTS = 3;

export async function fetchFile(
  url: string,
  opts: { maxBytes: number; timeoutMs: number; policy: UrlPolicyMode; filename: string | null },
): Promise<FetchedFile> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let target = url;
  try {
    for (let hop = 0; ; hop++) {
      const verdict = checkOutboundUrl(target, opts.policy);
      if (!verdict.ok)
        return { ok: false, reason: `${hop > 0 ? "redirect " : ""}refused: ${verdict.reason}` };
      const res = await fetch(verdict.url.href, {
        redirect: "manual",
        signal,
        headers: { "user-agent": "threadhook" },
      });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) return { ok: false, reason: `more than ${MAX_REDIRECTS} redirects` };
        target = new URL(location, verdict.url).href;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        return { ok: false, reason: `HTTP ${res.status}` };
      }
      const bytes = await readBoundedBytes(res, opts.maxBytes);
      if (!bytes) return { ok: false, reason: `larger than ${opts.maxBytes} bytes` };
      const type =
        (res.headers.get("content-type") ?? "application/octet-stream").split(";")[0]?.trim() ?? "";
      return { ok: true, bytes, type, filename: opts.filename ?? nameOf(verdict.url, res, type) };
    }
  } catch (err) {
    const timedOut = signal.aborted || (err instanceof Error && err.name === "TimeoutError");
    return { ok: false, reason: timedOut ? `no answer within ${opts.timeoutMs} ms` : "connection failed" };
  }
}

/** The body, or null when it is longer than `max` bytes (reading stops there). */
export async function readBoundedBytes(res: Response, max: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (declared > max) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

const EXTENSION: Record<string, string> = {
  "text/plain": "txt",
  "text/markdown": "md",
  "text/csv": "csv",
  "text/html": "html",
  "application/json": "json",
  "application/pdf": "pdf",
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
};

/** A file name: Content-Disposition's, else the URL's last path segment, with an extension from the type. */
function nameOf(url: URL, res: Response, type: string): string {
  const disposition = /filename="?([^";]+)"?/i.exec(res.headers.get("content-disposition") ?? "")?.[1];
  const last = decodeURIComponent(url.pathname.split("/").pop() ?? "");
  const base = (disposition ?? last).replace(/[^\w.\- ]+/g, "_").slice(0, 200) || "attachment";
  return base.includes(".") ? base : `${base}.${EXTENSION[type] ?? "bin"}`;
}
