/** Run records and upstream observations for tests that build runs without a stack. */
import { createRunRecord, type NewRunInput } from "../../src/engine/new-run";
import type { RunRecord } from "../../src/engine/types";
import type { ObservedResponse } from "../../src/engine/upstream-types";

export const T0 = 1_700_000_000_000;

/** What a response looked like when observed: `resp_1` in `status`, nothing else unless given. */
export const resp = (
  status: ObservedResponse["status"],
  extra: Partial<ObservedResponse> = {},
): ObservedResponse => ({
  id: "resp_1",
  status,
  tool_calls: [],
  message_id: null,
  content: [],
  usage: null,
  error: null,
  incomplete_reason: null,
  ...extra,
});

/** The input of a plain run (an assistant with no tools, 600 s timeout, no callback) with changes. */
export const runInput = (over: Partial<NewRunInput> = {}): NewRunInput => ({
  id: "run_1",
  tenant: "t1",
  threadId: "thread_1",
  conversationKey: null,
  assistant: {
    id: "asst_1",
    model: "m",
    instructions: null,
    temperature: null,
    top_p: null,
    tools: [],
    response_format: "auto",
  },
  limits: { maxToolRounds: 2, requiresActionTimeoutS: 600 },
  overrides: {},
  input: "hi",
  callback: null,
  timeoutS: 600,
  now: T0,
  ...over,
});

export const plainRun = (over: Partial<NewRunInput> = {}): RunRecord => createRunRecord(runInput(over));
