import { afterEach, describe, expect, it, vi } from "vitest";
import { errorFields, log, setLogLevel } from "../../src/log";

afterEach(() => {
  vi.restoreAllMocks();
  setLogLevel("info");
});

describe("logs", () => {
  it("redacts fields whose names could carry a secret, whatever the value", () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((l: string) => void lines.push(l));
    log("info", "x", {
      api_key: "thk_live_1",
      authorization: "Bearer s",
      webhook_secret: "whsec_x",
      run_id: "run_1",
    });
    expect(JSON.parse(lines[0] ?? "{}")).toEqual({
      level: "info",
      msg: "x",
      api_key: "[redacted]",
      authorization: "[redacted]",
      webhook_secret: "[redacted]",
      run_id: "run_1",
    });
  });

  it("drops the request a vendor error quotes (Upstash appends the command with its arguments)", () => {
    const err = new Error(
      'ERR injected fault (HTTP 500), command was: [["evalsha","abc","{\\"callback\\":{\\"headers\\":{\\"x-token\\":\\"s3cret\\"}}}"]]',
    );
    err.name = "UpstashError";
    expect(errorFields(err)).toEqual({
      error: "UpstashError",
      error_message: "ERR injected fault (HTTP 500)",
    });
  });

  it("stays silent below the threshold", () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => {});
    setLogLevel("warn");
    log("info", "quiet");
    expect(spy).not.toHaveBeenCalled();
  });
});
