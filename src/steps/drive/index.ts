/** Each DRIVE_STRATEGY's implementation (`auto` is resolved to one of them by config.ts). */
import type { DriveStrategy } from "../../config";
import { budgetPoll } from "./budget-poll";
import { call } from "./call";
import { poll } from "./poll";
import { stream } from "./stream";
import type { Drive } from "./types";
import { webhook } from "./webhook";

const DRIVES: Record<DriveStrategy, Drive> = { call, stream, webhook, "budget-poll": budgetPoll, poll };

export const driveFor = (strategy: DriveStrategy): Drive => DRIVES[strategy];
