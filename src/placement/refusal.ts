/** The answer to a write of a tenant whose move has frozen its writes (src/placement/mover.ts). */
import { MOVE_REFUSAL } from "../repo/placement";
import { ApiError } from "../scim/errors";

/** What a write refused during a move is told to wait (the final catch-up and switch take about a second). */
export const MOVE_RETRY_AFTER_SECONDS = 1;

/** True for the error the freeze triggers raise on the source database of a moving tenant. */
export function isMoveRefusal(error: unknown): boolean {
  return new RegExp(`\\b${MOVE_REFUSAL}\\b`).test(String((error as Error)?.message ?? ""));
}

export function moveRefusal(): ApiError {
  return new ApiError(429, `This tenant is being moved to another database; writes resume in a moment. Retry after ${MOVE_RETRY_AFTER_SECONDS} seconds.`, {
    headers: { "Retry-After": String(MOVE_RETRY_AFTER_SECONDS) },
  });
}

