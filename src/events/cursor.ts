/**
 * The change feed's cursor: opaque to consumers (they store the `nextCursor` they were given and
 * pass it back as `after`), in fact base64url of "c1:<seq>", the outbox's feed order. The prefix
 * versions the format and makes a random string (or a bare seq) fail to decode. Pure.
 */
import { base64ToBytes, base64url } from "../lib/crypto";

const PREFIX = "c1:";

export function encodeCursor(seq: number): string {
  return base64url(new TextEncoder().encode(`${PREFIX}${seq}`));
}

/** The seq a cursor stands for, or null when the string is not a cursor this feed handed out. */
export function decodeCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) return null;
  let text: string;
  try {
    text = new TextDecoder().decode(base64ToBytes(cursor));
  } catch {
    return null;
  }
  const match = /^c1:(0|[1-9][0-9]{0,15})$/.exec(text);
  if (!match) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? seq : null;
}
