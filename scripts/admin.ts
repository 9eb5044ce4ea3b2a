/**
 * `npm run admin -- <command>`: the operator's CLI over threadhook's admin API (/v1/admin).
 * Needs THREADHOOK_OPERATOR_KEY; THREADHOOK_URL defaults to the local dev Worker. Prints JSON.
 */
import { parseArgs } from "node:util";

const USAGE = `usage: npm run admin -- <command>
  tenants create [--id ID] [--name NAME] [--max-active-runs N] [--monthly-runs N] [--monthly-tokens N]
  tenants list
  tenants get TENANT
  tenants update TENANT [--name NAME] [--max-active-runs N|default] [--monthly-runs N|default] [--monthly-tokens N|default]
  keys create TENANT --role member|editor|admin [--name NAME] [--assistants ID,ID] [--rate-limit N]
  keys list TENANT
  keys revoke TENANT KEY_ID
  secrets rotate TENANT [--window-s SECONDS]
  usage TENANT [--month YYYY-MM]
environment: THREADHOOK_OPERATOR_KEY (required), THREADHOOK_URL (default http://127.0.0.1:8787)`;

const OPTIONS = {
  id: { type: "string" },
  name: { type: "string" },
  role: { type: "string" },
  assistants: { type: "string" },
  "rate-limit": { type: "string" },
  "max-active-runs": { type: "string" },
  "monthly-runs": { type: "string" },
  "monthly-tokens": { type: "string" },
  "window-s": { type: "string" },
  month: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "string" ? string : boolean;
};
type Request = { method: string; path: string; body?: unknown };

class UsageError extends Error {}

/** A number flag; "default" (null) hands the limit back to the configured default. */
function num(value: string | undefined, flag: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === "default") return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} must be a whole number or "default"`);
  return n;
}

function limits(f: Flags) {
  const l = {
    max_active_runs: num(f["max-active-runs"], "max-active-runs"),
    monthly_runs: num(f["monthly-runs"], "monthly-runs"),
    monthly_tokens: num(f["monthly-tokens"], "monthly-tokens"),
  };
  const set = Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined));
  return Object.keys(set).length > 0 ? set : undefined;
}

const seg = (v: string | undefined, what: string) => {
  if (!v) throw new UsageError(`missing ${what}`);
  return encodeURIComponent(v);
};

/** The admin API request a command line stands for. */
export function toRequest(args: string[], f: Flags): Request {
  const [group, action, a, b] = args;
  const t = (v = a) => `/v1/admin/tenants/${seg(v, "TENANT")}`;
  switch (`${group} ${group === "usage" ? "" : action}`.trim()) {
    case "tenants create":
      return {
        method: "POST",
        path: "/v1/admin/tenants",
        body: { id: f.id, name: f.name, limits: limits(f) },
      };
    case "tenants list":
      return { method: "GET", path: "/v1/admin/tenants?limit=100" };
    case "tenants get":
      return { method: "GET", path: t() };
    case "tenants update":
      return { method: "PATCH", path: t(), body: { name: f.name, limits: limits(f) } };
    case "keys create": {
      const assistants = f.assistants?.split(",").filter(Boolean);
      const body = {
        role: f.role,
        name: f.name,
        assistant_ids: assistants,
        rate_limit_per_min: num(f["rate-limit"], "rate-limit"),
      };
      return { method: "POST", path: `${t()}/keys`, body };
    }
    case "keys list":
      return { method: "GET", path: `${t()}/keys` };
    case "keys revoke":
      return { method: "DELETE", path: `${t()}/keys/${seg(b, "KEY_ID")}` };
    case "secrets rotate":
      return {
        method: "POST",
        path: `${t()}/webhook_secrets/rotate`,
        body: { window_s: num(f["window-s"], "window-s") ?? undefined },
      };
    case "usage":
      return {
        method: "GET",
        path: `${t(action)}/usage${f.month ? `?month=${encodeURIComponent(f.month)}` : ""}`,
      };
    default:
      throw new UsageError(`unknown command: ${args.join(" ") || "(none)"}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const operatorKey = process.env.THREADHOOK_OPERATOR_KEY;
  if (!operatorKey) throw new UsageError("set THREADHOOK_OPERATOR_KEY to the Worker's OPERATOR_KEY");
  const base = (process.env.THREADHOOK_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  const req = toRequest(positionals, values as Flags);
  const res = await fetch(`${base}${req.path}`, {
    method: req.method,
    headers: { authorization: `Bearer ${operatorKey}`, "content-type": "application/json" },
    ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
  });
  const text = await res.text();
  const out = res.ok ? process.stdout : process.stderr;
  try {
    out.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  } catch {
    out.write(`${text}\n`);
  }
  return res.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof UsageError ? `${err.message}\n\n${USAGE}` : String(err));
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
