/** `poll`: one GET of the response per step, then the next step after STEP_POLL_DELAY_S. */
import { SECOND_MS, STEP_POLL_DELAY_S } from "../../engine/constants";
import { onePollPerStep } from "./shared";

export const poll = onePollPerStep(() => STEP_POLL_DELAY_S * SECOND_MS);
