/**
 * The list's page tokens: Temporal's own continuation token, wrapped with a version byte and a
 * check over the token and the query it continues. Temporal answers a token it cannot read with
 * a bare "something went wrong" (gRPC UNKNOWN), which looks like its own failure; unwrapping here
 * first makes a token this server never gave out — or one given out for other filters — the
 * client's error, a 400 that names page_token. The check is a digest, not a secret: it tells a
 * mistyped, truncated or invented token from ours, which is all a page token needs.
 */
import { createHash } from 'node:crypto';
import { badRequest } from './errors';

const VERSION = 1;
const CHECK_BYTES = 12;

const check = (raw: Uint8Array, query: string): Buffer => createHash('sha256').update(query).update('\0').update(raw).digest().subarray(0, CHECK_BYTES);

/** The token a client gets for the page after this one. */
export function pageTokenOf(raw: Uint8Array, query: string): string {
  return Buffer.concat([Buffer.from([VERSION]), check(raw, query), raw]).toString('base64url');
}

/** Temporal's token inside a client's page token; a 400 naming page_token when it is not one of ours for this query. */
export function temporalPageToken(token: string, query: string): Uint8Array {
  const bytes = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
  if (bytes.length <= 1 + CHECK_BYTES || bytes[0] !== VERSION) throw badRequest('page_token: is not a token this server gave out (use next_page_token of a list answer)');
  const raw = bytes.subarray(1 + CHECK_BYTES);
  if (!check(raw, query).equals(bytes.subarray(1, 1 + CHECK_BYTES))) {
    throw badRequest('page_token: was not given out for this list (the filters differ) or is damaged; list again without it');
  }
  return raw;
}
