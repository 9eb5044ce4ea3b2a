/**
 * The role × scope × route matrix, computed from the route table (routes.ts: each route's lowest
 * `role` and its `scoped` rule): what every kind of tenant key gets on every route. One table
 * feeds both the test that checks the app against it (test/http/access-matrix.test.ts) and the
 * copy in docs/tenants.md (written by `npm run docs:access`, checked by
 * test/unit/access-matrix-docs.test.ts), so the docs cannot drift.
 */
import { ROLES, type Role } from "../../src/security/roles.ts";
import { ADMIN_ROUTES, label, ROUTES, type RouteCase } from "./routes.ts";

/** Unscoped; scoped to the assistant the route's objects belong to; scoped to another one. */
export const SCOPES = ["unscoped", "in scope", "outside"] as const;
export type Scope = (typeof SCOPES)[number];

/** `pass`: access is granted (2xx, or a 4xx about the request or the object's state — never 401/403). */
export type Expected = "pass" | { status: 401 | 403; code: string };

const RANK: Record<Role, number> = { member: 0, editor: 1, admin: 2 };

export function expected(route: RouteCase, role: Role, scope: Scope): Expected {
  if (RANK[role] < RANK[route.role]) return { status: 403, code: "insufficient_role" };
  if (scope === "unscoped" || route.scoped === "any") return "pass";
  if (route.scoped === "tenant-wide") return { status: 403, code: "scoped_key_not_allowed" };
  return scope === "in scope" ? "pass" : { status: 403, code: route.scoped };
}

/** Every tenant key on the operator's routes. */
export const OPERATOR_ONLY: Expected = { status: 401, code: "invalid_operator_key" };

const cell = (e: Expected) => (e === "pass" ? "✓" : `${e.status} \`${e.code}\``);

/** A scoped key's cell: one outcome, or the one for its own objects and the one for others. */
function scopedCell(route: RouteCase, role: Role): string {
  const own = expected(route, role, "in scope");
  const other = expected(route, role, "outside");
  return JSON.stringify(own) === JSON.stringify(other) ? cell(own) : `${cell(own)}; outside: ${cell(other)}`;
}

export const MATRIX_START = "<!-- access-matrix:start (npm run docs:access) -->";
export const MATRIX_END = "<!-- access-matrix:end -->";

/** The matrix as the Markdown table docs/tenants.md shows, between its markers. */
export function renderMatrix(): string {
  const head = ["Route", ...ROLES.flatMap((r) => [`\`${r}\``, `\`${r}\`, scoped`])];
  const rows = ROUTES.map((route) => [
    `\`${label(route)}\``,
    ...ROLES.flatMap((role) => [cell(expected(route, role, "unscoped")), scopedCell(route, role)]),
  ]);
  const operator = ADMIN_ROUTES.map((r) => [
    `\`${r.method} ${r.path("{tenant}", "{key}")}\``,
    ...ROLES.flatMap(() => [cell(OPERATOR_ONLY), cell(OPERATOR_ONLY)]),
  ]);
  const lines = [head, head.map(() => "---"), ...rows, ...operator].map((r) => `| ${r.join(" | ")} |`);
  return [MATRIX_START, "", ...lines, "", MATRIX_END].join("\n");
}
