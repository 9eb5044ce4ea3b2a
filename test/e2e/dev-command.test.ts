/** The README's first command: `npm run dev` prints one READY line and serves a healthy Worker. */
import { afterAll, describe, expect, it } from "vitest";
import { type DevCommand, EPHEMERAL_PORTS, startDevCommand } from "../support/dev-command";

let dev: DevCommand | null = null;
afterAll(() => dev?.kill());

describe("npm run dev", () => {
  it("prints READY with every base URL and credential, answers /health 200, and stops on Ctrl-C", async () => {
    // Every port 0: each part binds an ephemeral port itself and the READY line says which. The
    // Worker's variables come from THREADHOOK_VAR_* (docs/local-stack.md).
    dev = startDevCommand({ ...EPHEMERAL_PORTS, THREADHOOK_VAR_DRIVE_STRATEGY: "poll" }, 60_000);
    const { ready, stderr } = await dev.ready;
    expect(stderr).toContain("Worker variables from the environment: DRIVE_STRATEGY");
    expect(Object.keys(ready).sort()).toEqual([
      "apiKey",
      "discord",
      "inbox",
      "openai",
      "operatorKey",
      "qstash",
      "redis",
      "slack",
      "webhookSecret",
      "worker",
    ]);
    expect(ready.worker).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.qstash).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      token: expect.any(String),
      currentSigningKey: expect.stringMatching(/^sig_/),
      nextSigningKey: expect.stringMatching(/^sig_/),
    });
    expect(ready.openai.baseURL).toMatch(/\/v1$/);
    expect(ready.slack).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      botToken: expect.stringMatching(/^xoxb-/),
      signingSecret: expect.any(String),
    });
    expect(ready.discord).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      apiUrl: `${ready.discord.url}/api/v10`,
      applicationId: expect.stringMatching(/^\d+$/),
      publicKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      botToken: expect.any(String),
    });
    expect(await (await fetch(`${ready.worker}/health`)).json()).toEqual({ status: "ok" });
    // The details are the operator's.
    const health = await fetch(`${ready.worker}/health`, {
      headers: { authorization: `Bearer ${ready.operatorKey}` },
    });
    const body = (await health.json()) as any;
    expect(health.status).toBe(200);
    expect(body.drive_strategy).toBe("poll"); // from THREADHOOK_VAR_DRIVE_STRATEGY (the default would be "call")
    expect(body.services).toMatchObject({
      redis: { reachable: true },
      qstash: { reachable: true },
      openai: { reachable: true },
    });

    const running = (dev as DevCommand).proc;
    const exited = new Promise<string>((resolve) =>
      running.on("exit", (code, signal) => resolve(`${code}/${signal}`)),
    );
    process.kill(-(running.pid as number), "SIGINT"); // what Ctrl-C sends to the terminal's process group
    expect(["0/null", "null/SIGINT", "130/null"]).toContain(await exited);
    // Everything it started is gone: the Worker and every stand-in stop answering.
    const until = Date.now() + 10_000;
    const stillUp = async () => {
      const urls = [
        `${ready.worker}/health`,
        `${ready.inbox.url}/deliveries`,
        `${ready.qstash.url}/v2/keys`,
        `${ready.slack.url}/posts`,
        `${ready.discord.url}/posts`,
      ];
      const results = await Promise.allSettled(urls.map((u) => fetch(u)));
      return results.some((r) => r.status === "fulfilled");
    };
    while ((await stillUp()) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(await stillUp()).toBe(false);
  }, 90_000);
});
