/**
 * Freshness of what a partner sends. SMEV MessageIDs are version-1 UUIDs,
 * which carry the time they were made: a SendRequest or SendResponse whose
 * MessageID is older than MESSAGE_MAX_AGE_HOURS, or later than now plus a
 * clock-skew allowance, is refused with StaleMessageId (as the SMEV exchange
 * does) — a replay from beyond the idempotency horizon, or a sender with a
 * wrong clock. Within the window a replay is the duplicate logic's business
 * (first reply again, or MessageIsAlreadySent).
 *
 * A GetStatus carries only a signed Timestamp; a captured one replayed later
 * would hand the next status message to whoever replays it, so its window is
 * tight (the skew allowance either side of a GETSTATUS_MAX_AGE).
 */
import { SmevFault } from '../soap/faults.js';
import { uuidV1Time } from '../soap/message-id.js';
import { textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';

/** How far ahead of the gateway's clock a partner's clock may be. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** How old a GetStatus Timestamp may be. */
export const GETSTATUS_MAX_AGE_MS = 15 * 60_000;

const HOUR = 3_600_000;

export function checkMessageIdFresh(messageId: string, now: Date, maxAgeHours: number): void {
  const made = uuidV1Time(messageId);
  if (!made) return; // the format check (InvalidMessageIdFormat) runs first
  if (made.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw new SmevFault('StaleMessageId', `MessageID ${messageId} was made at ${made.toISOString()}, in the future by the gateway's clock (${now.toISOString()}); check the sender's clock`);
  }
  if (made.getTime() < now.getTime() - maxAgeHours * HOUR) {
    throw new SmevFault('StaleMessageId', `MessageID ${messageId} was made at ${made.toISOString()}, more than ${maxAgeHours} h ago; give the message a new MessageID`);
  }
}

/** GetStatusRequest's signed Timestamp (xs:dateTime) must be close to now. */
export function checkTimestampFresh(timestamp: XmlElement, now: Date): void {
  const value = textContent(timestamp).trim();
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(value) ? new Date(value) : null;
  const refuse = (why: string) => {
    throw new SmevFault('InvalidContent', `Timestamp ${why}`, { validationErrors: [{ message: `Timestamp: ${why}`, position: timestamp.start }] });
  };
  if (!at || Number.isNaN(at.getTime())) return refuse('is not an xs:dateTime');
  if (at.getTime() > now.getTime() + CLOCK_SKEW_MS) refuse(`${at.toISOString()} is in the future by the gateway's clock (${now.toISOString()})`);
  if (at.getTime() < now.getTime() - GETSTATUS_MAX_AGE_MS - CLOCK_SKEW_MS) refuse(`${at.toISOString()} is older than ${GETSTATUS_MAX_AGE_MS / 60_000} min; sign a new request`);
}
