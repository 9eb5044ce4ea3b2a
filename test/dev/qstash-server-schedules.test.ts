// The QStash stand-in's schedules, through the official client's `schedules.*`: create (and replace
// by id), get, list, pause, resume, delete; cron with CRON_TZ time zones; deliveries signed and
// marked with Upstash-Schedule-Id; time-scaled so an every-minute schedule fires within a second.
import { Client, Receiver } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type QStashHandle, startQStash } from "../../dev/qstash-server/server.ts";
import { type Destination, startDestination } from "./qstash-server-helpers.ts";

let qstash: QStashHandle;
let dest: Destination;
let client: Client;
const SCALE = 0.005; // a minute passes in 0.3 s
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  qstash = await startQStash({ timeScale: SCALE });
  dest = await startDestination();
  client = new Client({ baseUrl: qstash.url, token: qstash.token, devMode: false });
});
afterAll(async () => {
  await qstash?.close();
  await dest?.close();
});

describe("qstash-server schedules", () => {
  it("creates, fires (signed, with Upstash-Schedule-Id), pauses, resumes and deletes", async () => {
    const { scheduleId } = await client.schedules.create({
      destination: `${dest.base}/tick`,
      cron: "* * * * *",
      body: JSON.stringify({ hello: "world" }),
      headers: { "content-type": "application/json" },
      retries: 1,
    });
    expect(scheduleId).toMatch(/^scd_/);
    const got = await client.schedules.get(scheduleId);
    expect(got).toMatchObject({
      scheduleId,
      cron: "* * * * *",
      destination: `${dest.base}/tick`,
      method: "POST",
      body: '{"hello":"world"}',
      retries: 1,
      isPaused: false,
    });
    expect(got.nextScheduleTime).toBeGreaterThan(Date.now() - 60_000);
    expect((await client.schedules.list()).map((s) => s.scheduleId)).toContain(scheduleId);

    const hits = await dest.waitFor("/tick", 2, 10_000);
    const receiver = new Receiver({
      currentSigningKey: qstash.currentSigningKey,
      nextSigningKey: qstash.nextSigningKey,
    });
    for (const hit of hits.slice(0, 2)) {
      expect(hit.headers["upstash-schedule-id"]).toBe(scheduleId);
      expect(hit.body).toBe('{"hello":"world"}');
      const ok = await receiver.verify({
        signature: String(hit.headers["upstash-signature"]),
        body: hit.body,
        url: `${dest.base}/tick`,
      });
      expect(ok).toBe(true);
    }
    // Distinct firings are distinct messages.
    expect(hits[0]?.headers["upstash-message-id"]).not.toBe(hits[1]?.headers["upstash-message-id"]);
    expect((await client.schedules.get(scheduleId)).lastScheduleTime).toBeGreaterThan(0);

    await client.schedules.pause({ schedule: scheduleId });
    expect((await client.schedules.get(scheduleId)).isPaused).toBe(true);
    await sleep(200); // let a firing already under way land
    const paused = dest.on("/tick").length;
    await sleep(1000); // more than three schedule minutes
    expect(dest.on("/tick").length).toBe(paused);

    await client.schedules.resume({ schedule: scheduleId });
    await dest.waitFor("/tick", paused + 1, 10_000);

    await client.schedules.delete(scheduleId);
    await expect(client.schedules.get(scheduleId)).rejects.toThrow(/not found/);
    await sleep(200);
    const deleted = dest.on("/tick").length;
    await sleep(1000);
    expect(dest.on("/tick").length).toBe(deleted);
  });

  it("replaces a schedule created again with its Upstash-Schedule-Id", async () => {
    const first = await client.schedules.create({
      destination: `${dest.base}/a`,
      cron: "0 * * * *",
      scheduleId: "mine-1",
    });
    expect(first.scheduleId).toBe("mine-1");
    await client.schedules.create({
      destination: `${dest.base}/b`,
      cron: "30 * * * *",
      scheduleId: "mine-1",
    });
    const got = await client.schedules.get("mine-1");
    expect(got).toMatchObject({ destination: `${dest.base}/b`, cron: "30 * * * *" });
    expect((await client.schedules.list()).filter((s) => s.scheduleId === "mine-1")).toHaveLength(1);
    await client.schedules.delete("mine-1");
  });

  it("evaluates cron in the CRON_TZ time zone", async () => {
    const { scheduleId } = await client.schedules.create({
      destination: `${dest.base}/nine`,
      cron: "CRON_TZ=America/New_York 0 9 * * *",
    });
    const next = (await client.schedules.get(scheduleId)).nextScheduleTime as number;
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: "America/New_York",
      hour: "numeric",
      minute: "numeric",
      hourCycle: "h23",
    }).formatToParts(new Date(next));
    expect(Number(parts.find((p) => p.type === "hour")?.value)).toBe(9);
    expect(parts.find((p) => p.type === "minute")?.value).toBe("00");
    // In UTC that is not 09:00 (New York is 4 or 5 hours behind).
    expect(new Date(next).getUTCHours()).not.toBe(9);
    await client.schedules.delete(scheduleId);
  });

  it("refuses an invalid cron or time zone with the parser's reason", async () => {
    await expect(
      client.schedules.create({ destination: `${dest.base}/x`, cron: "61 * * * *" }),
    ).rejects.toThrow(/invalid cron: .*minute/i);
    await expect(
      client.schedules.create({ destination: `${dest.base}/x`, cron: "CRON_TZ=Mars/Base * * * * *" }),
    ).rejects.toThrow(/invalid cron: .*timezone/i);
    await expect(client.schedules.create({ destination: `${dest.base}/x`, cron: "* * *" })).rejects.toThrow(
      /5 fields/,
    );
  });
});
