/**
 * Issue 7: at least 1,000 random bodies per public route (junk, near-misses of valid bodies,
 * hostile JSON, odd queries, ids and credentials). Nothing may answer 5xx, and every refusal is a
 * documented error: `{ error: { type, code, message, param } }` with a 4xx status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { fuzzBody, fuzzId, fuzzQuery, rng, type Rng } from "../support/fuzz";
import { registerSecrets } from "../support/log-capture/registry.ts";
import { ADMIN_ROUTES, label, ROUTES, type TenantIds } from "../support/routes";

const PER_ROUTE = Number(process.env.FUZZ_PER_ROUTE ?? 1000);
const CONCURRENCY = 16;
const SEED = Number(process.env.FUZZ_SEED ?? 7);
const DOCUMENTED = new Set([400, 401, 403, 404, 409, 413, 429]);

let e2e: E2E;
let ids: TenantIds;
let adminKey: string;
let adminTarget: { tenant: string; key: string };

beforeAll(async () => {
  // Valid bodies create runs: a small monthly quota keeps the stack's work bounded (then 429s).
  // wrangler passes on only the Worker's warnings and errors here (its per-request lines would
  // double this file's time); the log check still sees those and this Worker's canary.
  e2e = await startE2E({ workerLogLevel: "warn", workerVars: { MONTHLY_RUN_QUOTA: "25" } });
  // Tenant "default" and its bootstrap key (an admin): no key lookup per request, so the fuzz
  // spends its time in the routes. Key lookups are fuzzed by the credential variants below.
  adminKey = e2e.stack.ready.apiKey as string;
  const assistant = await e2e.createAssistant();
  const conversation = `fuzz:${Date.now()}`;
  const callbackUrl = `${e2e.inbox.url}${hookPath("fuzz")}`;
  const run = await e2e.api("POST", "/v1/messages", {
    assistant_id: assistant.id,
    conversation,
    input: "x",
    callback_url: callbackUrl,
  });
  await e2e.waitForRun(run.body.id, ["completed"]);
  const [message] = (await e2e.api("GET", `/v1/threads/${run.body.thread_id}/messages`)).body.data;
  const member = await e2e.admin("POST", "/v1/admin/tenants/default/keys", { role: "member" });
  registerSecrets({ fuzzMember: member.body.key });
  ids = {
    assistant: assistant.id,
    thread: run.body.thread_id,
    run: run.body.id,
    conversation,
    message: message.id,
    key: member.body.id,
    callbackUrl,
  };
  const target = await e2e.createTenant();
  adminTarget = { tenant: target.id, key: (await target.issue("member")).id };
});
afterAll(async () => e2e?.close());

interface Finding {
  route: string;
  status: number;
  request: string;
  answer: string;
}

function authHeader(r: Rng, key: string): Record<string, string> {
  const roll = r.next();
  if (roll < 0.02) return {};
  if (roll < 0.04)
    return {
      authorization: r.pick([
        "Bearer",
        "Basic abc",
        `Bearer ${key}x`,
        "Bearer thk_\u00e9\u00e9",
        `bearer  ${key}`,
      ]),
    };
  return { authorization: `Bearer ${key}` };
}

async function fuzzRoute(
  name: string,
  method: string,
  makePath: (r: Rng) => string,
  valid: unknown,
  key: string,
  seed: number,
) {
  const r = rng(seed);
  const findings: Finding[] = [];
  const statuses = new Map<number, number>();
  const one = async () => {
    const path = makePath(r);
    const body = method === "GET" || (method === "DELETE" && r.chance(0.9)) ? undefined : fuzzBody(r, valid);
    const headers = {
      ...authHeader(r, key),
      "content-type": r.chance(0.9)
        ? "application/json"
        : r.pick(["text/plain", "", "application/x-www-form-urlencoded"]),
    };
    const res = await fetch(`${e2e.worker}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const documented = res.status < 400 || (DOCUMENTED.has(res.status) && isErrorBody(text));
    if (res.status >= 500 || !documented)
      findings.push({
        route: name,
        status: res.status,
        request: `${method} ${path} ${String(body).slice(0, 200)}`,
        answer: text.slice(0, 300),
      });
  };
  let sent = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < PER_ROUTE) {
        sent++;
        await one();
      }
    }),
  );
  return { findings, statuses };
}

function isErrorBody(text: string): boolean {
  try {
    const e = JSON.parse(text).error;
    return (
      typeof e?.type === "string" &&
      typeof e.code === "string" &&
      typeof e.message === "string" &&
      "param" in e
    );
  } catch {
    return false;
  }
}

const withRandomIds = (r: Rng, base: TenantIds): TenantIds =>
  r.chance(0.15)
    ? {
        ...base,
        assistant: fuzzId(r),
        thread: fuzzId(r),
        run: fuzzId(r),
        conversation: fuzzId(r),
        key: fuzzId(r),
      }
    : base;

describe(`fuzz (seed ${SEED}, ${PER_ROUTE} requests per route)`, () => {
  it.each(ROUTES.map((route, i) => [label(route), route, i] as const))(
    "%s never fails with 5xx",
    async (_name, route, i) => {
      const { findings, statuses } = await fuzzRoute(
        label(route),
        route.method,
        (r) =>
          route.path(withRandomIds(r, ids)) + (route.method === "GET" && r.chance(0.5) ? fuzzQuery(r) : ""),
        route.body?.(ids),
        adminKey,
        SEED * 1000 + i,
      );
      expect(findings.slice(0, 5)).toEqual([]);
      expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(PER_ROUTE);
      // Not all stopped at authentication: the route itself answered some.
      expect(statuses.size, JSON.stringify([...statuses])).toBeGreaterThanOrEqual(2);
      if (process.env.FUZZ_VERBOSE)
        process.stderr.write(`${label(route)} ${JSON.stringify([...statuses].sort())}\n`);
    },
  );

  it.each(
    ADMIN_ROUTES.map((route, i) => [`${route.method} ${route.path("{tenant}", "{key}")}`, route, i] as const),
  )("%s (operator) never fails with 5xx", async (name, route, i) => {
    const { findings } = await fuzzRoute(
      name,
      route.method,
      (r) =>
        (r.chance(0.15)
          ? route.path(fuzzId(r), fuzzId(r))
          : route.path(adminTarget.tenant, adminTarget.key)) +
        (route.method === "GET" && r.chance(0.5) ? fuzzQuery(r) : ""),
      route.body?.(),
      e2e.stack.ready.operatorKey as string,
      SEED * 5000 + i,
    );
    expect(findings.slice(0, 5)).toEqual([]);
  });
});
