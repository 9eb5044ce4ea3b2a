/**
 * `npm run docs:access`: write the role × scope × route matrix (test/support/access-matrix.ts, from
 * the route table) into docs/tenants.md between its markers. test/unit/access-matrix-docs.test.ts
 * fails when the copy there differs from the table.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { MATRIX_END, MATRIX_START, renderMatrix } from "../test/support/access-matrix.ts";

const DOC = new URL("../docs/tenants.md", import.meta.url);
const text = readFileSync(DOC, "utf8");
const start = text.indexOf(MATRIX_START);
const end = text.indexOf(MATRIX_END);
if (start < 0 || end < start) throw new Error(`docs/tenants.md has no ${MATRIX_START} … ${MATRIX_END} block`);
writeFileSync(DOC, text.slice(0, start) + renderMatrix() + text.slice(end + MATRIX_END.length));
console.log("docs/tenants.md: access matrix written");
