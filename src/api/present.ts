/** How the API shows stored objects that the engine does not present (engine/present.ts has runs). */
import type { ThreadRecord } from "../commands/threads";

/** A thread as the API shows it (the upstream conversation id stays inside threadhook). */
export const presentThread = <T extends ThreadRecord & { conversation_id?: string | null }>(
  t: T,
): ThreadRecord => {
  const { conversation_id: _hidden, ...rest } = t;
  return rest;
};
