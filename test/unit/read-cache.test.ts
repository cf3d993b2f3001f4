import assert from 'node:assert/strict';
import { ReadCache } from '../../lib/read-cache';

describe('read cache: a write during a read', () => {
  it('a read in flight when this process writes the key answers what was written (it was rejected with "replaced")', async () => {
    const cache = new ReadCache<{ v: number }>({ max: 10, ttlMs: 1_000 });
    let finish!: (v: { v: number }) => void;
    const reading = cache.get('k', () => new Promise((r) => (finish = r)));
    cache.set('k', { v: 2 });
    finish({ v: 1 });
    assert.deepEqual(await reading, { v: 2 });
    assert.deepEqual(await cache.get('k', async () => ({ v: 3 })), { v: 2 }, 'the write is kept');
  });

  it('a read in flight when the key is dropped reads again; a load that fails still fails with its own error', async () => {
    const cache = new ReadCache<{ v: number }>({ max: 10, ttlMs: 1_000 });
    let n = 0;
    let finish!: (v: { v: number }) => void;
    const reading = cache.get('k', () => (n++ === 0 ? new Promise((r) => (finish = r)) : Promise.resolve({ v: 9 })));
    cache.delete('k');
    finish({ v: 1 });
    assert.deepEqual(await reading, { v: 9 });
    const boom = new Error('Temporal is unreachable');
    await assert.rejects(cache.get('x', () => Promise.reject(boom)), (e) => e === boom);
  });

  it('a load slower than the TTL still answers (an expiry timer must not abort a read in flight: GET /jobs answered 500 when one did)', async () => {
    const cache = new ReadCache<{ v: number }>({ max: 10, ttlMs: 20 });
    let loads = 0;
    const slow = () => new Promise<{ v: number }>((r) => setTimeout(() => r({ v: ++loads }), 120));
    assert.deepEqual(await cache.get('k', slow), { v: 1 });
    assert.equal(loads, 1, 'read once');
  });
});
