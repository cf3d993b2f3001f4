/**
 * The list's page tokens: where the next page starts (lib/job-service.ts lists by sequence
 * number, open jobs first), with a version byte and a check over the cursor and the query it
 * continues, so a token this server never gave out — or one given out for other filters — is the
 * client's error, a 400 that names page_token. The check is a digest, not a secret: it tells a
 * mistyped, truncated or invented token from ours, which is all a page token needs.
 */
import { createHash } from 'node:crypto';
import { badRequest } from './errors';

/** 2: a sequence-number cursor (1 wrapped Temporal's own continuation token, which listed by start time) */
const VERSION = 2;
const CHECK_BYTES = 12;

/** The next page: jobs of the group (open runs, or the others after them) numbered below `below`; `top` bounds the others. */
export interface ListCursor {
  open: boolean;
  below: number;
  top: number;
}

const check = (raw: Uint8Array, query: string): Buffer => createHash('sha256').update(query).update('\0').update(raw).digest().subarray(0, CHECK_BYTES);

/** The token a client gets for the page after this one. */
export function pageTokenOf(cursor: ListCursor, query: string): string {
  const raw = Buffer.from(JSON.stringify([cursor.open ? 1 : 0, cursor.below, cursor.top]));
  return Buffer.concat([Buffer.from([VERSION]), check(raw, query), raw]).toString('base64url');
}

/** The cursor inside a client's page token; a 400 naming page_token when it is not one of ours for this query. */
export function pageCursor(token: string, query: string): ListCursor {
  const bytes = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
  if (bytes.length <= 1 + CHECK_BYTES || bytes[0] !== VERSION) throw badRequest('page_token: is not a token this server gave out (use next_page_token of a list answer)');
  const raw = bytes.subarray(1 + CHECK_BYTES);
  if (!check(raw, query).equals(bytes.subarray(1, 1 + CHECK_BYTES))) {
    throw badRequest('page_token: was not given out for this list (the filters differ) or is damaged; list again without it');
  }
  let fields: unknown;
  try {
    fields = JSON.parse(raw.toString());
  } catch {
    fields = undefined;
  }
  if (!Array.isArray(fields) || fields.length !== 3 || !fields.every((f) => Number.isSafeInteger(f) && f >= 0)) {
    throw badRequest('page_token: is damaged; list again without it');
  }
  const [open, below, top] = fields as [number, number, number];
  return { open: open === 1, below, top };
}
