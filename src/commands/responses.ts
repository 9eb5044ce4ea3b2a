/** Whether a response OpenAI tells about (its project-wide webhook) is one of threadhook's runs'. */
import type { ResponseIndex, ResponseOwner } from "../store/responses";

export type { ResponseOwner };

export const responseOwner = (deps: { responses: Pick<ResponseIndex, "owner"> }, responseId: string) =>
  deps.responses.owner(responseId);
