import { ErrorCodes, GovernedError, UpstreamError } from "../errors.js";
import type { Clock } from "../clock.js";
import { signalOf, type AbortSource } from "../linked-abort.js";
import type { GenieMessage, WorkspaceApi } from "./workspace-api.js";

const FIRST_POLL_MS = 75;
const MAX_POLL_MS = 2000;
const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "QUERY_RESULT_EXPIRED"]);

export interface GeniePollOptions {
  signal: AbortSource;
  deadline: number;
  clock: Clock;
  /** Told each new status, numbered by poll. */
  onStatus(polls: number, status: string): Promise<void>;
}

/**
 * Polls one Genie message until Genie is done with it: fast while it moves from step to step, backing off (capped)
 * while it stays on one. A FAILED, CANCELLED or expired message becomes its stable error.
 */
export async function pollGenieMessage(
  workspace: WorkspaceApi,
  target: { spaceId: string; conversationId: string; messageId: string },
  options: GeniePollOptions,
): Promise<GenieMessage> {
  const { signal, deadline, clock } = options;
  let message: GenieMessage;
  let delay = FIRST_POLL_MS;
  let lastStatus = "";
  let polls = 0;
  for (;;) {
    if (signal.aborted) throw new GovernedError(ErrorCodes.CANCELLED, "The Genie call was cancelled; polling stopped.");
    message = await workspace.getMessage(target.spaceId, target.conversationId, target.messageId, { signal, deadline });
    polls += 1;
    const progressed = message.status !== lastStatus;
    if (progressed) {
      lastStatus = message.status;
      await options.onStatus(polls, message.status);
    }
    if (FINAL.has(message.status)) break;
    delay = progressed ? FIRST_POLL_MS : Math.min(Math.round(delay * 1.5), MAX_POLL_MS);
    await clock.sleep(delay, signalOf(signal)).catch(() => undefined);
  }
  if (message.status === "FAILED")
    throw new UpstreamError(
      ErrorCodes.QUERY_FAILED,
      `Genie could not answer: ${message.error?.error ?? "unknown error"}. Rephrase the question or check your access.`,
    );
  if (message.status === "CANCELLED") throw new UpstreamError(ErrorCodes.CANCELLED, "Genie cancelled the message.");
  if (message.status === "QUERY_RESULT_EXPIRED")
    throw new UpstreamError(ErrorCodes.QUERY_RESULT_EXPIRED, "The Genie query result expired; ask again.");
  return message;
}
