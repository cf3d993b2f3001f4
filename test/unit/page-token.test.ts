import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ApiError } from '../../lib/errors';
import { pageCursor, pageTokenOf } from '../../lib/page-token';

const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof ApiError && err.status === 400 && /page_token/.test(err.message) && pattern.test(err.message));

describe('list page tokens', () => {
  const query = "WorkflowType = 'transcodeJob' AND JobQueue = 'live'";

  it('carry the cursor of the next page for the query they were given out for', () => {
    for (const cursor of [{ open: true, below: 41, top: 120 }, { open: false, below: 1, top: 7 }]) {
      assert.deepEqual(pageCursor(pageTokenOf(cursor, query), query), cursor);
    }
  });

  it('refuse a token for other filters, a damaged one, an invented one and one of the older kind', () => {
    const token = pageTokenOf({ open: true, below: 41, top: 120 }, query);
    refused(() => pageCursor(token, "WorkflowType = 'transcodeJob'"), /filters differ/);
    refused(() => pageCursor(`${token.slice(0, -2)}AA`, query), /filters differ|damaged/);
    refused(() => pageCursor('%%%', query), /gave out/);
    // version 1 wrapped Temporal's own continuation token (a listing by start time)
    const raw = Buffer.from('temporal-token');
    const v1 = Buffer.concat([Buffer.from([1]), createHash('sha256').update(query).update('\0').update(raw).digest().subarray(0, 12), raw]).toString('base64url');
    refused(() => pageCursor(v1, query), /gave out/);
  });
});
