/**
 * The Slack adapter's pure parts: which requests ask for a run (and on which conversation, with
 * which dedup key), which are ignored or refused; Markdown to mrkdwn; splitting a long answer; the
 * text a run's end posts.
 */
import { describe, expect, it } from "vitest";
import { appMention, eventEnvelope, messageEvent, slashCommand } from "../../dev/slack/signer.ts";
import type { CallbackEvent } from "../../src/engine/present.ts";
import type { RunRecord } from "../../src/engine/types.ts";
import {
  decideCommand,
  decideEvent,
  decideInteraction,
  type SlackOptions,
  stripMention,
} from "../../src/integrations/slack/events.ts";
import { splitMessage, toMrkdwn } from "../../src/integrations/slack/format.ts";
import { answerText } from "../../src/integrations/slack/post.ts";

const T = "T0THREADHK";
const o: SlackOptions = {
  team_id: T,
  app_id: "A0THREADHK",
  bot_user_id: "U0THREADBOT",
  bot_id: "B0THREADBOT",
  respond_to_bots: false,
  respond_to_edits: false,
  slash_response: "in_channel",
  max_message_chars: 3900,
};

const ask = (d: ReturnType<typeof decideEvent>) => (d.kind === "ask" ? d.ask : d);

describe("Slack events → runs", () => {
  it("a mention asks in its thread (or starts one), keyed by the message", () => {
    expect(
      ask(
        decideEvent(eventEnvelope(appMention({ channel: "C1", ts: "2.0", thread_ts: "1.0", text: "hi" })), o),
      ),
    ).toEqual({
      team: T,
      conversation: `slack:${T}:C1:1.0`,
      dedupKey: `${T}:C1:2.0`,
      text: "hi",
      user: "U0PERSON01",
      reply: { mode: "thread", channel: "C1", thread_ts: "1.0" },
      onlyInKnownThread: false,
    });
    expect(
      ask(decideEvent(eventEnvelope(appMention({ channel: "C1", ts: "3.0", text: "hi" })), o)),
    ).toMatchObject({
      conversation: `slack:${T}:C1:3.0`,
      reply: { thread_ts: "3.0" },
    });
  });

  it("a DM asks; a thread reply asks only in a thread the bot is in; a top-level channel message does not", () => {
    expect(
      ask(
        decideEvent(
          eventEnvelope(messageEvent({ channel: "D1", ts: "4.0", channel_type: "im", text: "q" })),
          o,
        ),
      ),
    ).toMatchObject({
      conversation: `slack:${T}:D1:4.0`,
      onlyInKnownThread: false,
    });
    expect(
      ask(
        decideEvent(
          eventEnvelope(messageEvent({ channel: "C1", ts: "5.0", thread_ts: "1.0", text: "q" })),
          o,
        ),
      ),
    ).toMatchObject({
      conversation: `slack:${T}:C1:1.0`,
      onlyInKnownThread: true,
    });
    expect(decideEvent(eventEnvelope(messageEvent({ channel: "C1", ts: "6.0", text: "q" })), o).kind).toBe(
      "ignore",
    );
  });

  it("ignores the bot's own messages, other bots' (unless configured), edits (unless configured), other subtypes", () => {
    const dm = (extra: Record<string, unknown>) =>
      eventEnvelope({
        ...messageEvent({ channel: "D1", ts: "7.0", channel_type: "im", text: "x" }),
        ...extra,
      });
    const kinds = (opts: SlackOptions) =>
      [
        dm({ bot_id: "B0THREADBOT", user: undefined }),
        dm({ user: "U0THREADBOT" }),
        dm({ bot_id: "B0OTHER", subtype: "bot_message" }),
        dm({
          subtype: "message_changed",
          message: { type: "message", user: "U1", text: "new", ts: "7.0", edited: { ts: "8.0" } },
        }),
        dm({ subtype: "channel_join" }),
      ].map((e) => decideEvent(e, opts).kind);
    expect(kinds(o)).toEqual(["ignore", "ignore", "ignore", "ignore", "ignore"]);
    expect(kinds({ ...o, respond_to_bots: true, respond_to_edits: true })).toEqual([
      "ignore",
      "ignore",
      "ask",
      "ask",
      "ignore",
    ]);
    const edit = ask(
      decideEvent(
        dm({
          subtype: "message_changed",
          message: { type: "message", user: "U1", text: "new", ts: "7.0", edited: { ts: "8.0" } },
        }),
        { ...o, respond_to_edits: true },
      ),
    );
    expect(edit).toMatchObject({ text: "new", dedupKey: `${T}:D1:7.0:edit:8.0` });
  });

  it("refuses another workspace or app, answers the URL challenge", () => {
    const mention = appMention({ channel: "C1", ts: "2.0", text: "hi" });
    expect(decideEvent(eventEnvelope(mention, { team_id: "T0OTHER" }), o).kind).toBe("forbidden");
    expect(decideEvent(eventEnvelope(mention, { api_app_id: "A0OTHER" }), o).kind).toBe("forbidden");
    expect(decideEvent({ type: "url_verification", challenge: "abc" }, o)).toEqual({
      kind: "challenge",
      challenge: "abc",
    });
  });

  it("a slash command asks with its response_url; empty text gets the usage; a shortcut asks about its message", () => {
    const form = new URLSearchParams(
      slashCommand({ text: "why?", channel: "C2", response_url: "https://hooks.slack.com/commands/x" }),
    );
    const d = decideCommand(form, o);
    expect(d.kind === "ask" && d.ack).toBe("ephemeral");
    expect(ask(d as never)).toMatchObject({
      conversation: `slack:${T}:C2:cmd-U0PERSON01`,
      text: "why?",
      reply: {
        mode: "response_url",
        response_url: "https://hooks.slack.com/commands/x",
        response_type: "in_channel",
      },
    });
    form.set("text", "  ");
    expect(decideCommand(form, o).kind).toBe("usage");
    form.set("team_id", "T0OTHER");
    expect(decideCommand(form, o).kind).toBe("forbidden");
    const shortcut = JSON.stringify({
      type: "message_action",
      team: { id: T },
      api_app_id: "A0THREADHK",
      channel: { id: "C3" },
      user: { id: "U2" },
      message: { type: "message", text: "explain this", ts: "9.0", user: "U5" },
    });
    expect(ask(decideInteraction(shortcut, o))).toMatchObject({
      conversation: `slack:${T}:C3:9.0`,
      text: "explain this",
    });
    expect(decideInteraction(JSON.stringify({ type: "block_actions", team: { id: T } }), o).kind).toBe(
      "ignore",
    );
  });

  it("takes the bot's mention out of the text, keeps others", () => {
    expect(stripMention("<@U0THREADBOT> ask <@U9> please", "U0THREADBOT")).toBe("ask <@U9> please");
  });
});

describe("Slack formatting", () => {
  it("turns Markdown into mrkdwn: bold, italics, links, lists, headings, code, escapes", () => {
    const md = [
      "# Title **x**",
      "**Bold** _it_ *it2* ~~gone~~ [site](https://example.com) ![img](https://x.y/i.png) <https://auto.link/a>",
      "",
      "- a",
      "  - nested **b**",
      "* c",
      "",
      "```js",
      "if (a < b && c) x = 1",
      "```",
      "> quoted **q**",
      "`code **kept**` a < b & c > d, snake_case_word, 2*3*4",
    ].join("\n");
    expect(toMrkdwn(md).split("\n")).toEqual([
      "*Title x*",
      "*Bold* _it_ _it2_ ~gone~ <https://example.com|site> <https://x.y/i.png|img> <https://auto.link/a>",
      "",
      "• a",
      "  • nested *b*",
      "• c",
      "",
      "```",
      "if (a &lt; b &amp;&amp; c) x = 1",
      "```",
      "> quoted *q*",
      "`code **kept**` a &lt; b &amp; c &gt; d, snake_case_word, 2*3*4",
    ]);
  });

  it("splits over the limit at paragraph ends, and closes and reopens a code block it cuts", () => {
    const paras = Array.from({ length: 6 }, (_, i) => `p${i} ${"w".repeat(300)}`);
    const parts = splitMessage(paras.join("\n\n"), 700);
    expect(parts.every((p) => p.length <= 700)).toBe(true);
    expect(parts.join("\n\n")).toBe(paras.join("\n\n"));
    const code = `\`\`\`\n${Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n")}\n\`\`\``;
    const cut = splitMessage(code, 120);
    expect(cut.length).toBeGreaterThan(1);
    for (const p of cut) {
      expect(p.length).toBeLessThanOrEqual(120);
      expect(p.startsWith("```")).toBe(true);
      expect(p.endsWith("```")).toBe(true);
    }
    expect(splitMessage("short")).toEqual(["short"]);
  });

  it("posts a completed run's answer with its files' links, another end as a friendly line with the run id", () => {
    const run = {
      id: "run_1",
      status: "completed",
      output: { text: "**done**", content: [] },
    } as unknown as RunRecord;
    const event = {
      data: {
        run: {
          files: [{ filename: "chart.png", download_url: "https://t.example/v1/files/f/download?x=1&y=2" }],
        },
      },
    } as unknown as CallbackEvent;
    expect(answerText(event, run)).toBe(
      "*done*\n\n*Files:*\n• <https://t.example/v1/files/f/download?x=1&amp;y=2|chart.png>",
    );
    expect(answerText(event, { ...run, status: "expired" })).toBe(
      "Sorry, I couldn't answer: the answer took too long. (Reference: `run_1`)",
    );
  });
});
