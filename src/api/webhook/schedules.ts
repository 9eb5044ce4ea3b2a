/** `/v1/schedules`: runs on a cron in a time zone (commands/schedules.ts). Tenant-wide keys only. */
import { Hono } from "hono";
import { z } from "zod";
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  type ScheduleInput,
  updateSchedule,
} from "../../commands/schedules";
import { type AuthedEnv, requireKey, requireRole, requireUnscoped } from "../../security/auth";
import { CallbackUrl, ConversationKey, Id, ListQuery, LongText, Metadata } from "../schemas";
import { parseBody, parseQuery } from "../validate";

const Time = z.iso.datetime({ offset: true });

const ScheduleFields = {
  cron: z.string().min(9).max(128),
  timezone: z.string().min(1).max(64),
  start_at: Time.nullable(),
  end_at: Time.nullable(),
  enabled: z.boolean(),
  assistant_id: Id,
  input: LongText.min(1),
  conversation: ConversationKey.nullable(),
  callback_url: CallbackUrl,
  metadata: Metadata,
};

export const ScheduleCreate = z.strictObject({
  ...ScheduleFields,
  timezone: ScheduleFields.timezone.default("UTC"),
  start_at: ScheduleFields.start_at.default(null),
  end_at: ScheduleFields.end_at.default(null),
  enabled: ScheduleFields.enabled.default(true),
  conversation: ScheduleFields.conversation.default(null),
  metadata: ScheduleFields.metadata.default({}),
});

export const SchedulesQuery = ListQuery.extend({ order: z.enum(["asc", "desc"]).default("asc") });

export const ScheduleUpdate = z.strictObject(ScheduleFields).partial();

export const schedules = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .post("/", requireRole("editor"), requireUnscoped, async (c) => {
    const body = (await parseBody(c, ScheduleCreate)) as ScheduleInput;
    return c.json(await createSchedule(c.var.deps, c.var.principal, body), 201);
  })
  .get("/", requireUnscoped, async (c) =>
    c.json(await listSchedules(c.var.deps, c.var.principal, parseQuery(c, SchedulesQuery))),
  )
  .get("/:id", requireUnscoped, async (c) =>
    c.json(await getSchedule(c.var.deps, c.var.principal, c.req.param("id"))),
  )
  .patch("/:id", requireRole("editor"), requireUnscoped, async (c) => {
    const body = await parseBody(c, ScheduleUpdate);
    const patch = Object.fromEntries(
      Object.entries(body).filter(([, v]) => v !== undefined),
    ) as Partial<ScheduleInput>;
    return c.json(await updateSchedule(c.var.deps, c.var.principal, c.req.param("id"), patch));
  })
  .delete("/:id", requireRole("editor"), requireUnscoped, async (c) =>
    c.json(await deleteSchedule(c.var.deps, c.var.principal, c.req.param("id"))),
  );
