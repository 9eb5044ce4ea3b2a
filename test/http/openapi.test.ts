/**
 * The OpenAPI description (src/api/openapi/): valid OpenAPI 3.1, lists every route the app serves
 * and nothing it does not, is served at /openapi.json without a key, holds nothing shaped like a
 * secret, and docs/openapi.json (`npm run docs:openapi`) is the generated one (apart from
 * `servers`). That every response the suite gets matches it: test/support/openapi-check.ts.
 */
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/openapi/document";
import { createApp } from "../../src/app";
import { MessageRequest } from "../../src/api/webhook/messages";
import { type InProcess, startInProcess } from "../support/in-process";
import { Threadhook } from "../../client/src/index";
import { renderTypes } from "../../scripts/openapi-types.ts";
import { checkResponse, ResponseMismatch } from "../support/openapi-check";

type Json = Record<string, any>;
const doc = openApiDocument() as Json;

/** `/v1/runs/:id`, `/v1/runs/{run_id}` and `/:key{.+}` all become `/v1/runs/:param`. */
const shape = (path: string) =>
  path
    .split("/")
    .map((seg) => (seg.startsWith(":") || /^\{.*\}$/.test(seg) ? ":param" : seg))
    .join("/")
    .replace(/\/$/, "");

const withoutServers = ({ servers: _servers, ...rest }: Json) => rest;

describe("OpenAPI description", () => {
  let app: InProcess;
  beforeAll(async () => {
    app = await startInProcess();
  }, 60_000);
  afterAll(() => app?.close());

  it("is valid OpenAPI 3.1", async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
  });

  it("describes exactly the routes the app serves", () => {
    const served = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${shape(r.path)}`),
    );
    const described = new Set(
      Object.entries(doc.paths as Json).flatMap(([path, item]) =>
        Object.keys(item as Json).map((m) => `${m.toUpperCase()} ${shape(path)}`),
      ),
    );
    expect(served.size).toBeGreaterThan(70);
    const missing = [...served].filter((r) => !described.has(r)).sort();
    const notServed = [...described].filter((r) => !served.has(r)).sort();
    expect({ missing, notServed }).toEqual({ missing: [], notServed: [] });
  });

  it("gives every operation an id, a summary, its error answers and request bodies from the schemas", () => {
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^\w+$/);
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        const codes = Object.keys(op.responses);
        expect(
          codes.some((c) => c.startsWith("2")),
          `${method} ${path}`,
        ).toBe(true);
      }
    }
    // The webhook API's request body is the zod schema the route parses with.
    const message = doc.components.schemas.SendMessageRequest;
    expect(message.required).toEqual(expect.arrayContaining(["assistant_id", "input", "callback_url"]));
    expect(message.additionalProperties).toBe(false);
    // Its example is what the route accepts.
    const example = doc.paths["/v1/messages"].post.requestBody.content["application/json"].example;
    expect(MessageRequest.safeParse(example).success).toBe(true);
    expect(doc.paths["/v1/messages"].post.parameters.map((p: Json) => p.name)).toContain("Idempotency-Key");
    expect(Object.keys(doc.webhooks).sort()).toEqual([
      "message.delta",
      "run.cancelled",
      "run.completed",
      "run.expired",
      "run.failed",
      "run.in_progress",
      "run.incomplete",
      "run.requires_action",
      "run.step.completed",
    ]);
    expect(doc.webhooks["run.completed"].post.parameters.map((p: Json) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
  });

  it("holds nothing shaped like a secret", () => {
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/thk_[A-Za-z0-9]|thop_[A-Za-z0-9]|whsec_[A-Za-z0-9]|sk-[A-Za-z0-9]/);
  });

  it("is committed as docs/openapi.json (run `npm run docs:openapi` after changing it)", () => {
    const committed = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
    expect(withoutServers(committed)).toEqual(withoutServers(doc));
  });

  it("is served at /openapi.json without a key, naming the server it came from", async () => {
    const res = await app.fetch("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const served = (await res.json()) as Json;
    expect(served.servers).toEqual([{ url: "http://threadhook.test" }]);
    expect(withoutServers(served)).toEqual(withoutServers(doc));
  });

  it("serves the docs page without a key", async () => {
    const res = await app.fetch("/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    expect(html).toContain("/docs/swagger-ui-bundle.js");
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("the response check refuses answers that do not match", async () => {
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    await expect(checkResponse("GET", "/v1/runs/run_x", json({ id: "run_x" }))).rejects.toThrow(
      ResponseMismatch,
    );
    await expect(
      checkResponse("GET", "/v1/runs/run_x", json({ error: { type: "nope" } }, 404)),
    ).rejects.toThrow(ResponseMismatch);
    await expect(checkResponse("POST", "/v1/messages", json({}, 200))).rejects.toThrow(/status not declared/);
    await expect(
      checkResponse(
        "GET",
        "/v1/runs/run_x",
        json(
          { error: { type: "not_found_error", code: "run_not_found", message: "No run.", param: null } },
          404,
        ),
      ),
    ).resolves.toBeUndefined();
  });
});

describe("the typed client", () => {
  it("has a method for every webhook-API, assistant, account and operator operation, each used by its e2e test", () => {
    const methods = new Set(Object.getOwnPropertyNames(Threadhook.prototype));
    const e2eTest = readFileSync(new URL("../e2e/client.test.ts", import.meta.url), "utf8");
    const wanted = Object.values(doc.paths as Json).flatMap((item) =>
      Object.values(item as Json)
        .filter(
          (op) =>
            ["Webhook API", "Account", "Operator"].includes(op.tags[0]) ||
            (op.tags[0] === "Assistants" &&
              !op.operationId.includes("File") &&
              op.operationId !== "patchAssistant"),
        )
        .map((op) => op.operationId as string),
    );
    expect(wanted.length).toBeGreaterThan(25);
    expect(wanted.filter((id) => !methods.has(id))).toEqual([]);
    expect(wanted.filter((id) => !e2eTest.includes(`.${id}(`))).toEqual([]);
  });

  it("are the ones generated from the description (run `npm run docs:openapi` after changing it)", () => {
    const committed = readFileSync(new URL("../../client/src/types.ts", import.meta.url), "utf8");
    expect(committed).toBe(renderTypes(doc));
    expect(committed).toContain("export type WebhookEvent = RunCompletedEvent | RunFailedEvent");
  });
});
