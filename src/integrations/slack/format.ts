/**
 * The model's Markdown as Slack mrkdwn (`slackify-markdown`: links `<url|text>`, `*bold*`, `_italic_`,
 * `•` lists, headings as bold, code blocks kept), and a long answer split into messages Slack shows
 * whole. Pure.
 */
import { slackifyMarkdown } from "slackify-markdown";

/**
 * Characters per message. Slack cuts `text` at 40,000 characters and advises at most 4,000 for a
 * message to read well; an integration's `max_message_chars` option changes it.
 */
export const SLACK_MESSAGE_CHARS = 3900;

export function toMrkdwn(markdown: string): string {
  try {
    return slackifyMarkdown(markdown).trimEnd();
  } catch {
    return markdown;
  }
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
