import assert from 'node:assert/strict';
import { SequenceAllocator } from '../../lib/sequence-allocator';

describe('sequence allocator', () => {
  it('coalesces waiting requests into one take and hands numbers out in arrival order', async () => {
    const takes: number[] = [];
    let next = 1;
    const alloc = new SequenceAllocator(async (count) => {
      takes.push(count);
      await new Promise((r) => setImmediate(r));
      const first = next;
      next += count;
      return first;
    });
    const got = await Promise.all(Array.from({ length: 25 }, () => alloc.next()));
    assert.deepEqual(got, Array.from({ length: 25 }, (_, i) => i + 1));
    assert.deepEqual(takes, [1, 24], 'the first asks alone; the 24 that waited meanwhile, together');
    assert.equal(await alloc.next(), 26);
  });

  it('a failed take fails exactly its batch; the next batch goes on', async () => {
    let calls = 0;
    const alloc = new SequenceAllocator(async (count) => {
      calls++;
      if (calls === 1) throw new Error('unavailable');
      return 100 + count;
    });
    const first = alloc.next();
    await assert.rejects(first, /unavailable/);
    assert.equal(await alloc.next(), 101);
  });
});
