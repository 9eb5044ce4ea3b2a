/**
 * A Slack integration's run delivered to the Slack stand-in, with its reply state in Redis (the
 * REST stand-in): progress events (`message.delta`, in the outbox's JSON form) post a placeholder
 * in the thread and edit it as the text arrives; the answer then replaces the placeholder and posts
 * the rest; a retry after a part Slack refused posts only the parts not yet posted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLACK_DEV, type SlackHandle, startSlack } from "../../dev/slack/server.ts";
import { type Config, parseConfig } from "../../src/config";
import { deliverProgressToIntegration, deliverToIntegration } from "../../src/delivery/integration";
import { buildEvent } from "../../src/engine/present";
import type { IntegrationCallback, RunRecord } from "../../src/engine/types";
import { type IntegrationRecord, IntegrationStore } from "../../src/store/integrations";
import { useStoreRedis } from "../support/redis-rest";
import { plainRun } from "../support/run-fixtures";

const ctx = useStoreRedis();
let slack: SlackHandle;
let config: Config;
beforeAll(async () => {
  slack = await startSlack();
  const parsed = parseConfig({ THREADHOOK_ENV: "development", SLACK_API_URL: slack.apiUrl });
  if (!parsed.ok) throw new Error(parsed.problems.join("; "));
  config = parsed.config;
});
afterAll(() => slack?.close());

const integration: IntegrationRecord = {
  id: "integ_1",
  object: "integration",
  created_at: 0,
  type: "slack",
  assistant_id: "asst_1",
  credentials: { signing_secret: SLACK_DEV.signingSecret, bot_token: SLACK_DEV.botToken },
  options: { team_id: SLACK_DEV.teamId, app_id: SLACK_DEV.appId, max_message_chars: 500 },
  metadata: {},
};

function setup(channel: string) {
  const integrations = new IntegrationStore(ctx.redis);
  const target: IntegrationCallback = {
    kind: "integration",
    integration_id: integration.id,
    type: "slack",
    reply: { mode: "thread", channel, thread_ts: "1700000000.000001" },
  };
  const run = plainRun({ id: `run_${channel}`, tenant: "t1", callback: target });
  const deps = { integrations, config, now: Date.now };
  const delta = (n: number, text: string) =>
    JSON.stringify({
      id: `evt_${n}`,
      type: "message.delta",
      sequence_number: n,
      data: { run_id: run.id, text },
    });
  const finished = (text: string): RunRecord => ({
    ...run,
    status: "completed",
    ended_at_ms: Date.now(),
    output: { text, content: [] },
    delivery: { ...run.delivery, state: "pending", event_id: `evt_${run.id}`, event_type: "run.completed" },
  });
  return { integrations, target, run, deps, delta, finished };
}

describe("a Slack integration's answer with progress", () => {
  it("posts a placeholder, edits it as the text arrives, and ends with the answer in it", async () => {
    const channel = "C0PROGRESS";
    const { integrations, target, run, deps, delta, finished } = setup(channel);
    await integrations.create("t1", integration, 10);
    for (const [n, text] of [
      [1, "Hello"],
      [2, "Hello **wor"],
      [3, "Hello **world**"],
    ] as const) {
      const r = await deliverProgressToIntegration(deps, delta(n, text), run, target);
      expect(r).toMatchObject({ ok: true });
    }
    const done = finished("Hello **world**, and more.");
    expect(await deliverToIntegration(deps, buildEvent(done), done, target)).toMatchObject({ ok: true });
    const posts = slack.posts({ channel });
    expect(posts.map((p) => p.kind)).toEqual([
      "chat.postMessage",
      "chat.update",
      "chat.update",
      "chat.update",
    ]);
    expect(new Set(posts.map((p) => p.ts)).size).toBe(1);
    expect(posts[0]?.text).toBe("Hello …");
    expect(posts[3]?.text).toBe("Hello *world*, and more.");
  });

  it("after a part Slack refused, posts only the parts not yet posted", async () => {
    const channel = "C0RETRY";
    const { integrations, target, deps, finished } = setup(channel);
    await integrations.create("t1", integration, 10);
    const paragraphs = Array.from({ length: 3 }, (_, i) => `Part ${i} ${"x".repeat(400)}`);
    const done = finished(paragraphs.join("\n\n"));
    // The first part goes through, the second is refused.
    slack.failNext(1, "internal_error", 1);
    const first = await deliverToIntegration(deps, buildEvent(done), done, target);
    expect(first).toMatchObject({ ok: false, error: "Slack: internal_error" });
    const second = await deliverToIntegration(deps, buildEvent(done), done, target);
    expect(second).toMatchObject({ ok: true });
    const texts = slack.posts({ channel }).map((p) => p.text.slice(0, 6));
    expect(texts).toEqual(["Part 0", "Part 1", "Part 2"]);
  });
});
