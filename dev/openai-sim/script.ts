// The scripting contract: `#sim {json}` inside the last user text scripts a response (README.md).
import { invalidParam } from "./http.ts";

export type ScriptToolCall = { name: string; arguments: string };

export type Script = {
  delay_ms?: number;
  reply?: string;
  chunks?: number;
  tool_calls?: ScriptToolCall[];
  tool_rounds?: number;
  fail?: { code: string; message: string };
  incomplete?: string;
  http_error?: { status: number; retry_after_s?: number; times: number };
  annotations?: boolean;
  /** The code interpreter writes these files (images by extension) into its container. */
  code_interpreter?: { files: string[] };
};

export type ParsedText = {
  /** The user text with the `#sim {…}` part removed, trimmed. */
  echo: string;
  script: Script | null;
  /** The raw `{…}` text, the key that counts `http_error` attempts. */
  scriptText: string | null;
};

const MARKER = "#sim ";

export function parseUserText(text: string): ParsedText {
  const at = text.indexOf(MARKER);
  if (at < 0) return { echo: text.trim(), script: null, scriptText: null };
  const open = text.indexOf("{", at + MARKER.length);
  const gap = open < 0 ? "x" : text.slice(at + MARKER.length, open);
  const end = open < 0 || gap.trim() !== "" ? -1 : matchingBrace(text, open);
  if (end < 0) return { echo: text.trim(), script: null, scriptText: null };
  const scriptText = text.slice(open, end + 1);
  let raw: unknown;
  try {
    raw = JSON.parse(scriptText);
  } catch {
    throw invalidParam("input", `the #sim script is not valid JSON: ${scriptText}`, "invalid_sim_script");
  }
  const parts = [text.slice(0, at).trimEnd(), text.slice(end + 1).trimStart()];
  const echo = parts
    .filter((part) => part !== "")
    .join(" ")
    .trim();
  return { echo, script: normalizeScript(raw), scriptText };
}

/** Index of the `}` closing the object that starts at `open`, skipping braces inside strings. */
export function matchingBrace(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return i;
  }
  return -1;
}

function normalizeScript(raw: unknown): Script {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw invalidParam("input", "the #sim script must be a JSON object.", "invalid_sim_script");
  }
  const r = raw as Record<string, unknown>;
  const script: Script = {};
  if (typeof r.delay_ms === "number" && r.delay_ms >= 0) script.delay_ms = r.delay_ms;
  if (typeof r.reply === "string") script.reply = r.reply;
  if (typeof r.chunks === "number" && r.chunks >= 1) script.chunks = Math.floor(r.chunks);
  if (Array.isArray(r.tool_calls)) script.tool_calls = r.tool_calls.map(toolCall);
  if (typeof r.tool_rounds === "number" && r.tool_rounds >= 1) script.tool_rounds = Math.floor(r.tool_rounds);
  if (r.fail && typeof r.fail === "object") {
    const f = r.fail as Record<string, unknown>;
    script.fail = {
      code: typeof f.code === "string" ? f.code : "server_error",
      message: typeof f.message === "string" ? f.message : "The model failed to generate a response.",
    };
  }
  if (typeof r.incomplete === "string") script.incomplete = r.incomplete;
  if (r.http_error && typeof r.http_error === "object") {
    const h = r.http_error as Record<string, unknown>;
    script.http_error = {
      status: typeof h.status === "number" ? h.status : 500,
      times: typeof h.times === "number" ? Math.max(0, Math.floor(h.times)) : 1,
      ...(typeof h.retry_after_s === "number" ? { retry_after_s: h.retry_after_s } : {}),
    };
  }
  if (r.annotations === true) script.annotations = true;
  if (r.code_interpreter === true) script.code_interpreter = { files: ["chart.png"] };
  else if (r.code_interpreter && typeof r.code_interpreter === "object") {
    const files = (r.code_interpreter as { files?: unknown }).files;
    script.code_interpreter = {
      files: Array.isArray(files) ? files.filter((f): f is string => typeof f === "string" && f !== "") : [],
    };
  }
  return script;
}

function toolCall(raw: unknown): ScriptToolCall {
  const r = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  if (typeof r.name !== "string" || r.name === "") {
    throw invalidParam("input", "each #sim tool_calls entry needs a name.", "invalid_sim_script");
  }
  const args = r.arguments === undefined ? "{}" : r.arguments;
  return { name: r.name, arguments: typeof args === "string" ? args : JSON.stringify(args) };
}

/** Deterministic token count: a quarter of the characters, rounded up. */
export function tokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** `tool results: ` + the outputs as compact JSON, outputs that are JSON text parsed first. */
export function toolResultsText(outputs: unknown[]): string {
  const values = outputs.map((output) => {
    if (typeof output !== "string") return output;
    try {
      return JSON.parse(output) as unknown;
    } catch {
      return output;
    }
  });
  return `tool results: ${JSON.stringify(values)}`;
}

/** Splits text into `n` nearly equal pieces without cutting a code point in two. */
export function splitText(text: string, n: number): string[] {
  const points = Array.from(text);
  if (points.length === 0) return [];
  const count = Math.max(1, Math.min(n, points.length));
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * points.length) / count);
    const to = Math.floor(((i + 1) * points.length) / count);
    pieces.push(points.slice(from, to).join(""));
  }
  return pieces;
}
