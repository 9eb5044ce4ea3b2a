/**
 * Issue 14 acceptance, webhook front door: attachments by file id and by URL (fetched under the
 * outbound URL policy), and generated files in the callback with signed, expiring download links.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileLink } from "../../src/delivery/file-links";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { uploadFile } from "../support/files";

const MAX_ATTACHMENT = 4096;
const MAX_UPLOAD = 8 * 1024 * 1024;
let e2e: E2E;
let files: http.Server;
let filesUrl: string;
let assistantId: string;

/** A site callers attach files from: plain files, a slow one, a big one, redirects. */
function fileSite(): http.Server {
  return http.createServer((req, res) => {
    const path = req.url ?? "/";
    if (path === "/zebra.txt") return void res.end("Cats purr. The zebra sleeps at noon.");
    if (path === "/sales.csv")
      return void res.writeHead(200, { "content-type": "text/csv" }).end("m,t\njan,3\n");
    if (path === "/big.txt") return void res.end("x".repeat(MAX_ATTACHMENT + 1));
    if (path === "/slow.txt") return void setTimeout(() => res.end("late"), 5_000);
    if (path === "/hop") return void res.writeHead(302, { location: "/zebra.txt" }).end();
    if (path === "/to-metadata")
      return void res.writeHead(302, { location: "http://169.254.169.254/latest" }).end();
    if (path === "/program.exe") return void res.end("MZ");
    res.writeHead(404).end();
  });
}

beforeAll(async () => {
  files = fileSite();
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  e2e = await startE2E({
    workerVars: {
      ATTACHMENT_MAX_BYTES: String(MAX_ATTACHMENT),
      ATTACHMENT_TIMEOUT_MS: "1000",
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    },
  });
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => {
  await e2e?.close();
  files?.closeAllConnections();
  await new Promise((resolve) => files?.close(resolve));
});

/** Send a message with attachments; the callback event that ends it. */
async function send(input: string, attachments: unknown[], extra: Record<string, unknown> = {}) {
  const path = hookPath("files");
  const r = await e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    input,
    attachments,
    callback_url: `${e2e.inbox.url}${path}`,
    ...extra,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
  return d?.body as any;
}

const sentFor = async (runId: string) => {
  const all = (await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as {
    data: { metadata: Record<string, string>; tools: any[] }[];
  };
  return all.data.filter((r) => r.metadata.threadhook_run === runId);
};

describe("attachments by URL", () => {
  it("fetches the file (following an allowed redirect), uploads it and searches it", async () => {
    const event = await send("When does the zebra sleep?", [{ url: `${filesUrl}/hop` }]);
    expect(event.type).toBe("run.completed");
    const { run } = event.data;
    expect(run.output.text).toBe('According to zebra.txt: "The zebra sleeps at noon."');
    const citation = run.output.content[0].text.annotations[0];
    expect(citation).toMatchObject({ type: "file_citation", text: "zebra.txt" });
    // The fetched file is the tenant's own file now.
    const file = await e2e.api("GET", `/v1/files/${citation.file_citation.file_id}`);
    expect(file.body).toMatchObject({ filename: "zebra.txt", purpose: "assistants", bytes: 36 });
  });

  it("gives a code interpreter the file, and the callback signed links to what it made", async () => {
    const event = await send('Chart it #sim {"code_interpreter": {"files": ["chart.png", "summary.csv"]}}', [
      { url: `${filesUrl}/sales.csv`, tools: [{ type: "code_interpreter" }] },
    ]);
    expect(event.type).toBe("run.completed");
    const { run } = event.data;
    const [sent] = await sentFor(run.id);
    expect(sent?.tools[0]).toMatchObject({ type: "code_interpreter", container: { type: "auto" } });
    expect(run.output.content[0]).toMatchObject({ type: "image_file" });
    expect(run.files.map((f: any) => [f.filename, f.mime_type])).toEqual([
      ["chart.png", "image/png"],
      ["summary.csv", "text/csv"],
    ]);
    const [chart, summary] = run.files;
    expect(chart.download_url).toMatch(new RegExp(`^${e2e.worker}/v1/files/${chart.file_id}/download\\?`));
    // No API key needed: the link is the credential.
    const png = await fetch(chart.download_url);
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    expect(await (await fetch(summary.download_url)).text()).toBe("file,bytes\n/mnt/data/sales.csv,10\n");
    // Valid for FILE_LINK_TTL_S (default 24 h).
    const expires = Number(new URL(chart.download_url).searchParams.get("expires"));
    expect(expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(86_400 - 60);

    const tampered = new URL(chart.download_url);
    const sig = tampered.searchParams.get("signature") as string;
    tampered.searchParams.set("signature", `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`);
    const forged = await fetch(tampered);
    expect([forged.status, ((await forged.json()) as any).error.code]).toEqual([403, "invalid_signature"]);
    const otherFile = new URL(chart.download_url.replace(chart.file_id, summary.file_id));
    expect((await fetch(otherFile)).status).toBe(403);
    const later = new URL(chart.download_url);
    later.searchParams.set("expires", String(expires + 3600));
    expect((await fetch(later)).status).toBe(403);
    const expired = await fileLink({
      baseUrl: e2e.worker,
      tenant: "default",
      fileId: chart.file_id,
      expires: Math.floor(Date.now() / 1000) - 1,
      secret: e2e.stack.ready.webhookSecret as string,
    });
    const old = await fetch(expired);
    expect([old.status, ((await old.json()) as any).error.code]).toEqual([403, "download_link_expired"]);
  });

  it("refuses a URL the outbound policy forbids at once, with an attachment_url_ code", async () => {
    const cases: [string, string][] = [
      ["http://10.0.0.7/doc.txt", "attachment_url_private_address"],
      ["http://169.254.169.254/latest/meta-data", "attachment_url_link_local_address"],
      ["ftp://example.com/doc.txt", "attachment_url_scheme_not_allowed"],
      ["https://user:pw@example.com/doc.txt", "attachment_url_userinfo_not_allowed"],
    ];
    for (const [url, code] of cases) {
      const r = await e2e.api("POST", "/v1/messages", {
        assistant_id: assistantId,
        input: "x",
        attachments: [{ file_id: "file-x", tools: [] }, { url }],
        callback_url: `${e2e.inbox.url}/x`,
      });
      expect({ url, status: r.status, code: r.body.error.code, param: r.body.error.param }).toEqual({
        url,
        status: 400,
        code,
        param: "attachments.1.url",
      });
    }
  });

  it("fails the run with attachment_unavailable when the file is too large, too slow, forbidden after a redirect, missing or of a foreign type", async () => {
    const cases: [string, RegExp][] = [
      ["/big.txt", /larger than 4096 bytes/],
      ["/slow.txt", /no answer within 1000 ms/],
      ["/to-metadata", /redirect refused: link_local_address/],
      ["/missing.txt", /HTTP 404/],
      ["/program.exe", /not a file type/],
    ];
    const events = await Promise.all(cases.map(([p]) => send("x", [{ url: `${filesUrl}${p}` }])));
    events.forEach((event, i) => {
      const [path, reason] = cases[i] as [string, RegExp];
      expect({ path, type: event.type, code: event.data.run.last_error?.code }).toEqual({
        path,
        type: "run.failed",
        code: "attachment_unavailable",
      });
      expect(event.data.run.last_error.message).toMatch(reason);
    });
  });
});

describe("attachments by file id", () => {
  it("puts an uploaded file to the run's tools, and a foreign or unknown id is a 404", async () => {
    const send_ = (path: string, init: RequestInit) => fetch(`${e2e.worker}${path}`, init);
    const mine = await uploadFile(
      send_,
      e2e.stack.ready.apiKey as string,
      "otter.txt",
      "The otter floats on its back.",
    );
    const event = await send("How does the otter rest?", [{ file_id: mine.id }]);
    expect(event.data.run.output.text).toBe('According to otter.txt: "The otter floats on its back."');
    const other = await e2e.createTenant();
    const key = await other.issue("member");
    const theirs = await uploadFile(send_, key.key, "theirs.txt", "secret");
    for (const id of [theirs.id, "file-unknown"]) {
      const r = await e2e.api("POST", "/v1/messages", {
        assistant_id: assistantId,
        input: "x",
        attachments: [{ file_id: id, tools: [{ type: "code_interpreter" }] }],
        callback_url: `${e2e.inbox.url}/x`,
      });
      expect({ status: r.status, code: r.body.error.code, param: r.body.error.param }).toEqual({
        status: 404,
        code: "file_not_found",
        param: "attachments.0.file_id",
      });
    }
  });
});

describe("uploads through the Worker", () => {
  it("streams a file far over the 1 MiB JSON body limit, and refuses one over MAX_UPLOAD_BYTES with 413", async () => {
    const send_ = (path: string, init: RequestInit) => fetch(`${e2e.worker}${path}`, init);
    const key = e2e.stack.ready.apiKey as string;
    const big = new Uint8Array(3 * 1024 * 1024).fill(97);
    const uploaded = await uploadFile(send_, key, "big.txt", big, "user_data");
    expect(uploaded.bytes).toBe(big.length);
    const back = await fetch(`${e2e.worker}/v1/files/${uploaded.id}/content`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(Buffer.from(await back.arrayBuffer()).equals(Buffer.from(big))).toBe(true);
    const form = new FormData();
    form.set("purpose", "assistants");
    form.set("file", new File([new Uint8Array(MAX_UPLOAD + 1)], "huge.txt"));
    const r = await send_("/v1/files", {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    const body = (await r.json()) as any;
    expect([r.status, body.error.code]).toEqual([413, "file_too_large"]);
    expect(body.error.message).toContain(String(MAX_UPLOAD));
  });
});
