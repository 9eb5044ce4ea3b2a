/**
 * TypeScript types from the OpenAPI description's component schemas, for the typed client
 * (client/src/types.ts, written by `npm run docs:openapi`; a test fails when it is stale). Covers
 * the JSON Schema that zod's `toJSONSchema` emits: objects, records, arrays, enums, consts,
 * unions, intersections and refs.
 */
// biome-ignore lint/suspicious/noExplicitAny: JSON Schema nodes are walked untyped.
type Json = Record<string, any>;

const refName = (ref: string) => ref.replace("#/components/schemas/", "");
const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));

export function typeOf(s: Json | boolean | undefined, indent = ""): string {
  if (s === undefined || s === true) return "unknown";
  if (s === false) return "never";
  if (typeof s.$ref === "string") return refName(s.$ref);
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v: unknown) => JSON.stringify(v)).join(" | ");
  if (Array.isArray(s.anyOf)) return union(s.anyOf, indent);
  if (Array.isArray(s.oneOf)) return union(s.oneOf, indent);
  if (Array.isArray(s.allOf)) return s.allOf.map((x: Json) => paren(typeOf(x, indent))).join(" & ");
  if (Array.isArray(s.type)) return s.type.map((t: string) => typeOf({ ...s, type: t }, indent)).join(" | ");
  switch (s.type) {
    case "string":
      return "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return Array.isArray(s.prefixItems)
        ? `[${s.prefixItems.map((x: Json) => typeOf(x, indent)).join(", ")}]`
        : `${paren(typeOf(s.items, indent))}[]`;
    case "object":
      return objectType(s, indent);
    default:
      return "unknown";
  }
}

function union(items: Json[], indent: string): string {
  return [...new Set(items.map((x) => paren(typeOf(x, indent))))].join(" | ");
}

const paren = (t: string) => (/[|&]/.test(t) && !/^[{[]/.test(t) ? `(${t})` : t);

function objectType(s: Json, indent: string): string {
  const props = Object.entries((s.properties ?? {}) as Json);
  const required = new Set<string>(s.required ?? []);
  const inner = `${indent}  `;
  const lines = props.map(([k, v]) => {
    const doc =
      typeof v?.description === "string" ? `${inner}/** ${v.description.replaceAll("*/", "*\\/")} */\n` : "";
    return `${doc}${inner}${key(k)}${required.has(k) ? "" : "?"}: ${typeOf(v, inner)};`;
  });
  const extra = s.additionalProperties;
  if (props.length === 0) {
    if (extra === false) return "Record<string, never>";
    return `Record<string, ${extra === undefined || extra === true ? "unknown" : typeOf(extra, indent)}>`;
  }
  if (extra !== undefined && extra !== false) lines.push(`${inner}[key: string]: unknown;`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** The module text: one exported type per component schema, plus the callback event union. */
export function renderTypes(doc: Json): string {
  const schemas = doc.components.schemas as Json;
  const out = [
    "// Generated from docs/openapi.json by `npm run docs:openapi`. Do not edit.",
    "",
    ...Object.entries(schemas).map(([name, s]) => {
      const doc = typeof s.description === "string" ? `/** ${s.description} */\n` : "";
      return `${doc}export type ${name} = ${typeOf(s)};\n`;
    }),
    `/** Every callback event a run delivers. */`,
    `export type WebhookEvent = ${Object.keys(schemas)
      .filter((n) => /^Run\w+Event$/.test(n))
      .join(" | ")};`,
    "",
  ];
  return out.join("\n");
}
