/**
 * Every response the suite receives from the Worker is checked against the OpenAPI description
 * (src/api/openapi/): the operation is found by method and path, the status must be one it
 * declares (or its 4XX/5XX error answers), and a JSON body must match the declared schema. A
 * mismatch throws, which fails the test that made the request. Wired into the in-process harness
 * (test/support/in-process.ts) and the end-to-end client (test/support/e2e.ts).
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { openApiDocument } from "../../src/api/openapi/document";

type Json = Record<string, any>;

interface Route {
  method: string;
  regex: RegExp;
  statics: number;
  operation: Json;
  path: string;
}

let compiled: { routes: Route[]; ajv: Ajv2020; doc: Json } | undefined;

function setup() {
  if (compiled) return compiled;
  const doc = openApiDocument() as Json;
  // Component refs point into the document; as one JSON Schema they live under $defs.
  const defs = JSON.parse(
    JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"th#/$defs/'),
  );
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "th", $defs: defs });
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const [method, operation] of Object.entries(item as Json)) {
      const pattern = path
        .split("/")
        .map((seg) =>
          seg === "{conversation_key}" ? ".+" : seg.startsWith("{") ? "[^/]+" : seg.replace(/[.]/g, "\\."),
        )
        .join("/");
      routes.push({
        method: method.toUpperCase(),
        regex: new RegExp(`^${pattern}$`),
        statics: path.split("/").filter((s) => s && !s.startsWith("{")).length,
        operation: operation as Json,
        path,
      });
    }
  }
  // A static segment wins over a parameter (`/v1/threads/runs` before `/v1/threads/{thread_id}`).
  routes.sort((a, b) => b.statics - a.statics);
  compiled = { routes, ajv, doc };
  return compiled;
}

export class ResponseMismatch extends Error {}

const inline = new Map<string, ReturnType<Ajv2020["compile"]>>();
/** An inline schema (e.g. a `oneOf` of named ones), its component refs pointed into `th`; compiled once. */
function compileInline(ajv: Ajv2020, schema: Json) {
  const text = JSON.stringify(schema);
  let validate = inline.get(text);
  if (!validate) {
    validate = ajv.compile(JSON.parse(text.replaceAll('"#/components/schemas/', '"th#/$defs/')));
    inline.set(text, validate);
  }
  return validate;
}

/** Throws when `res` (to `method path`) does not match the description. Does not consume `res`. */
export async function checkResponse(method: string, url: string, res: Response): Promise<void> {
  const { routes, ajv, doc } = setup();
  const path = new URL(url, "http://threadhook.test").pathname;
  const route = routes.find((r) => r.method === method.toUpperCase() && r.regex.test(path));
  const where = `${method.toUpperCase()} ${path} → ${res.status}`;
  const fail = (why: string): never => {
    throw new ResponseMismatch(`response does not match the OpenAPI description: ${where}: ${why}`);
  };
  let declared: Json | undefined;
  if (!route) {
    // Not a route: the app's one 404 (or 405) error answer.
    if (res.status !== 404 && res.status !== 405 && res.status !== 413)
      fail("no operation describes this path");
    declared = doc.components.responses.Error;
  } else {
    const responses = route.operation.responses as Json;
    declared = responses[String(res.status)] ?? responses[`${String(res.status)[0]}XX`];
    if (declared?.$ref) declared = doc.components.responses.Error;
    if (!declared) fail(`status not declared (declared: ${Object.keys(responses).join(", ")})`);
  }
  const type = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const content = (declared?.content ?? {}) as Json;
  if (Object.keys(content).length === 0) return;
  if (content["*/*"]) return;
  if (!content[type])
    fail(`content-type ${type || "(none)"} not declared (${Object.keys(content).join(", ")})`);
  if (type !== "application/json") return;
  const text = await res.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    fail(`body is not JSON: ${text.slice(0, 200)}`);
  }
  const schema = content[type].schema as Json;
  const ref =
    typeof schema.$ref === "string" ? schema.$ref.replace("#/components/schemas/", "th#/$defs/") : undefined;
  const validate = ref ? ajv.getSchema(ref) : compileInline(ajv, schema);
  if (!validate) fail(`no schema ${ref}`);
  if (!validate?.(body)) {
    fail(`${ajv.errorsText(validate?.errors, { dataVar: "body" })}\n${text.slice(0, 600)}`);
  }
}

/** A fetch-like function whose every response is checked against the description. */
export const checkedFetch =
  (send: (path: string, init: RequestInit) => Promise<Response>) =>
  async (path: string, init: RequestInit = {}): Promise<Response> => {
    const res = await send(path, init);
    await checkResponse(init.method ?? "GET", path, res);
    return res;
  };

/**
 * A `fetch` for the `openai` SDK (its `fetch` option) and the clients built on it: every answer the
 * Worker gives it is checked too. Pass it only to clients pointed at the Worker.
 */
export const checkedSdkFetch = async (
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> => {
  const url = input instanceof Request ? input.url : String(input);
  const method = init?.method ?? (input instanceof Request ? input.method : "GET");
  const res = await fetch(input, init);
  await checkResponse(method, url, res);
  return res;
};
