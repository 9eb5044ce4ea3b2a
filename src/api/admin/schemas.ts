/** Request bodies shared by the operator API and a tenant admin's own account routes. */
import { z } from "zod";
import { ROLES } from "../../security/roles";
import { Id } from "../schemas";

export const CreateKey = z.strictObject({
  name: z.string().max(256).nullable().optional(),
  role: z.enum(ROLES),
  assistant_ids: z.array(Id).min(1).max(100).nullable().optional(),
  rate_limit_per_min: z.number().int().min(0).max(1_000_000).nullable().optional(),
});

export const RotateSecret = z.strictObject({
  window_s: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .optional(),
});
