/** Schedules' pure parts: the cron and zone check (the parser's reasons) and the input template. */
import { describe, expect, it } from "vitest";
import { checkCron, renderInput } from "../../src/commands/schedules";

describe("checkCron", () => {
  it("accepts five-field crons in IANA zones", () => {
    expect(() => checkCron("0 9 * * 1-5", "Europe/Berlin")).not.toThrow();
    expect(() => checkCron("*/15 * * * *", "UTC")).not.toThrow();
  });
  it("refuses with the parser's reason", () => {
    expect(() => checkCron("0 25 * * *", "UTC")).toThrow(/hour: 25/);
    expect(() => checkCron("0 9 * *", "UTC")).toThrow(/5 fields/);
    expect(() => checkCron("0 9 * * *", "Europe/Atlantis")).toThrow(/Europe\/Atlantis/);
  });
});

describe("renderInput", () => {
  it("puts the firing's date and time in the schedule's zone", () => {
    const at = Date.parse("2026-12-31T23:30:00Z");
    expect(renderInput("digest {{date}}", at, "UTC")).toBe("digest 2026-12-31");
    expect(renderInput("digest {{date}} at {{datetime}}", at, "Asia/Tokyo")).toBe(
      "digest 2027-01-01 at 2027-01-01 08:30",
    );
    expect(renderInput("no template", at, "UTC")).toBe("no template");
  });
});
