/** QStash-invoked step routes. Non-2xx makes QStash retry, so infrastructure errors propagate. */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { requireConfig } from "../config";
import { ApiError } from "../errors";
import { STEP_PATH } from "../queue/steps";
import { stepDeps, stepQueue } from "../services";
import { driveStep, logStepError } from "./runner";

const StepMessageSchema = z.object({
  tenant: z.string().min(1).max(64),
  run_id: z.string().min(1).max(64),
  seq: z.number().int().min(0),
});

export const steps = new Hono<AppEnv>().post(STEP_PATH, async (c) => {
  const config = requireConfig(c.env);
  const origin = new URL(c.req.url).origin;
  const body = await c.req.text();
  const url = `${config.publicUrl ?? origin}${STEP_PATH}`;
  if (!(await stepQueue(config, origin).verify(c.req.header("upstash-signature") ?? null, body, url))) {
    throw new ApiError(401, "invalid_signature", "Missing or invalid Upstash-Signature.");
  }
  const parsed = StepMessageSchema.safeParse(safeJson(body));
  if (!parsed.success) return c.json({ outcome: "ignored", reason: "malformed step message" }, 200);
  try {
    const outcome = await driveStep(stepDeps(config, origin), parsed.data);
    return c.json({ outcome }, outcome === "busy" ? 503 : 200);
  } catch (err) {
    logStepError(parsed.data, err);
    throw err;
  }
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
