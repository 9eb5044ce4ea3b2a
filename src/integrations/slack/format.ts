/**
 * The model's Markdown as Slack mrkdwn, and a long answer split into messages Slack shows whole.
 * Pure. The conversion is written here rather than taken from `slackify-markdown` (a remark/unified
 * pipeline): that grew the Worker's bundle by about 68 KiB gzipped of a 600 KiB budget, for what
 * the model's answers need, which is a handful of line and inline rules:
 * - fenced code blocks kept (their language tag dropped: Slack would show it), inline code kept;
 * - `**bold**` / `__bold__` → `*bold*`, `*it*` / `_it_` → `_it_`, `~~strike~~` → `~strike~`;
 * - `[text](url)` and `![alt](url)` → `<url|text>`, `<https://…>` → `<https://…>`;
 * - `# Heading` → `*Heading*`, `- item` / `* item` → `• item` (nesting kept), quotes and numbered
 *   lists as they are;
 * - `&`, `<`, `>` escaped everywhere else (Slack reads them as its own markup).
 */

/**
 * Characters per message. Slack cuts `text` at 40,000 characters and advises at most 4,000 for a
 * message to read well; an integration's `max_message_chars` option changes it.
 */
export const SLACK_MESSAGE_CHARS = 3900;

const escapeSlack = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function toMrkdwn(markdown: string): string {
  const out: string[] = [];
  let code: string[] | null = null;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      if (code) {
        out.push(`\`\`\`\n${code.join("\n")}\n\`\`\``);
        code = null;
      } else code = [];
      continue;
    }
    if (code) code.push(escapeSlack(line));
    else out.push(convertLine(line));
  }
  if (code) out.push(`\`\`\`\n${code.join("\n")}\n\`\`\``);
  return out.join("\n").trimEnd();
}

function convertLine(line: string): string {
  const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (heading) return `*${inline((heading[1] ?? "").replace(/\*\*|__/g, ""))}*`;
  if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return "───";
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1]}• ${inline(bullet[2] ?? "")}`;
  const quote = /^(\s*>+\s?)(.*)$/.exec(line);
  if (quote) return `>${quote[1]?.replace(/^\s*>+/, "") ?? ""}${inline(quote[2] ?? "")}`;
  return inline(line);
}

/** Inline rules on one line, code spans left alone. */
function inline(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part, i) => (i % 2 === 1 ? escapeSlack(part) : inlineText(part)))
    .join("");
}

const BOLD = "\u0001";

function inlineText(text: string): string {
  return escapeSlack(text)
    .replace(/!?\[([^\]]*)\]\((\S+?)(?:\s+"[^"]*")?\)/g, (_m, label: string, url: string) =>
      label ? `<${url}|${label.replace(/[|]/g, "/")}>` : `<${url}>`,
    )
    .replace(/&lt;(https?:\/\/[^\s&]+(?:&amp;[^\s&]+)*)&gt;/g, "<$1>")
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, `${BOLD}$2${BOLD}`)
    .replace(/(^|[^\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?!\w)/g, "$1_$2_")
    .replace(/~~(?=\S)(.+?)(?<=\S)~~/g, "~$1~")
    .replaceAll(BOLD, "*");
}

const FENCE = "```";

/**
 * Split text into parts of at most `max` characters: at a blank line if there is one in the second
 * half of the part, else at a line end, else at a space, else hard. A code block cut in two is
 * closed at the end of one part and opened again at the start of the next.
 */
export function splitMessage(text: string, max = SLACK_MESSAGE_CHARS): string[] {
  const parts: string[] = [];
  let rest = text;
  let reopen = false;
  while (rest.length > 0) {
    const head: string = reopen ? `${FENCE}\n` : "";
    // Room for a reopened fence at the start and a closing one at the end.
    const room = max - head.length - FENCE.length - 1;
    if (head.length + rest.length <= max) {
      parts.push(head + rest);
      break;
    }
    const cut = cutAt(rest, room);
    let part: string = head + rest.slice(0, cut).trimEnd();
    rest = rest.slice(cut).replace(/^\n+/, "");
    const open: boolean = (part.split(FENCE).length - 1) % 2 === 1;
    if (open) part += `\n${FENCE}`;
    reopen = open;
    parts.push(part);
  }
  return parts;
}

function cutAt(text: string, room: number): number {
  const window = text.slice(0, room);
  const half = Math.floor(room / 2);
  for (const sep of ["\n\n", "\n", " "]) {
    const at = window.lastIndexOf(sep);
    if (at >= half) return at + sep.length;
  }
  return room;
}
