/**
 * What the bot says (pure): the run's answer split into Discord messages (2,000 characters each),
 * and a short, friendly message with the run's id when there is no answer to give.
 */

/** Discord's limit on a message's `content`. */
export const DISCORD_MAX_CONTENT = 2000;
const FENCE = /^```(\S*)\s*$/;

/**
 * Split text into parts of at most `max` characters: at a paragraph or line break when one is in
 * the second half of the part, else at a space, else hard (never inside a surrogate pair). A code
 * block cut in two is closed at the end of one part and opened again (same language) in the next.
 */
export function splitMessage(text: string, max = DISCORD_MAX_CONTENT): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  let reopen = "";
  while (rest.length > 0) {
    const room = max - reopen.length;
    if (rest.length <= room) {
      parts.push(reopen + rest);
      break;
    }
    let cut = cutPoint(rest, room);
    // A part that leaves a code block open needs room to close it.
    if (openFence(reopen + rest.slice(0, cut)) !== null) cut = cutPoint(rest, room - 4);
    const head = rest.slice(0, cut);
    const open = openFence(reopen + head);
    parts.push(`${reopen}${head.trimEnd()}${open === null ? "" : "\n```"}`);
    reopen = open === null ? "" : `\`\`\`${open.length <= 16 ? open : ""}\n`;
    rest = rest.slice(cut).replace(/^[ \t]*\n*/, "");
  }
  return parts.length > 0 ? parts : [""];
}

function cutPoint(text: string, max: number): number {
  const window = text.slice(0, max + 1);
  for (const sep of ["\n\n", "\n", " "]) {
    const at = window.lastIndexOf(sep);
    if (at >= max / 2) return at;
  }
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

/** The language of the code block still open at the end of the text ("" for none given), or null. */
function openFence(text: string): string | null {
  let open: string | null = null;
  for (const line of text.split("\n")) {
    const m = FENCE.exec(line.trim());
    if (m) open = open === null ? (m[1] ?? "") : null;
  }
  return open;
}

/** Generated files as Discord links under the answer (links expire: FILE_LINK_TTL_S). */
export function withFiles(text: string, files: { filename: string; download_url?: string }[]): string {
  const links = files
    .filter((f) => f.download_url)
    .map((f) => `- [${f.filename.replace(/[[\]()\\]/g, "_")}](<${f.download_url}>)`);
  return links.length > 0 ? `${text}\n\n**Files:**\n${links.join("\n")}` : text;
}

const ENDINGS: Record<string, string> = {
  failed: "Sorry, something went wrong while answering.",
  expired: "Sorry, that took too long and was stopped.",
  cancelled: "The answer was cancelled.",
  incomplete: "Sorry, the answer was cut short.",
  completed: "The assistant gave no text answer.",
};

/** A short message for a run with no answer to show, with its id for support. */
export function friendlyEnding(status: string, runId: string): string {
  const what = ENDINGS[status] ?? "Sorry, I could not answer that.";
  return `${what} (reference: \`${runId}\`)`;
}
