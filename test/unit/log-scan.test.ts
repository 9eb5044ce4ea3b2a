/** The suite's log check itself: it must find what it is there to find. */
import { describe, expect, it } from "vitest";
import { scanLogs } from "../support/log-capture/scan.ts";

const secret = (name: string, value: string) => ({ kind: "secret" as const, name, value });

describe("log check", () => {
  it("passes clean logs that carry every canary", () => {
    const r = scanLogs({ "a.log": '{"level":"warn","message_id":"canary-1"}' }, [
      secret("api key", "thk_dev_0000000000000000000000000000"),
      { kind: "canary", value: "canary-1" },
    ]);
    expect(r).toEqual({ problems: [], secretsChecked: 1, canariesFound: 1 });
  });

  it("names the leaked secret and the file, never the value", () => {
    const value = "sk-threadhook-dev";
    const r = scanLogs({ "a.log": "ok", "b.log": `calling with ${value}` }, [secret("model key", value)]);
    expect(r.problems).toEqual(["b.log: contains the model key"]);
    expect(r.problems.join()).not.toContain(value);
  });

  it.each([
    ["an API key", "key=thk_AbCdEfGhIjKlMnOpQrStUvWxYz012345"],
    ["a webhook secret", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="],
    ["a QStash signing key", "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"],
    ["an operator key", "thop_dev_000000000000000000000000000"],
    [
      "a bearer header",
      "authorization: Bearer eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=",
    ],
  ])("flags %s that was never registered", (_what, line) => {
    expect(scanLogs({ "c.log": line }, []).problems).toHaveLength(1);
  });

  it("reports a Worker whose logs were not captured", () => {
    const r = scanLogs({ "a.log": "nothing" }, [{ kind: "canary", value: "canary-9" }]);
    expect(r.problems).toEqual(["the Worker's log line canary-9 was not captured"]);
  });
});
