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
    // the first asks alone; the 24 that waited meanwhile, together, with as many again held
    // for the next round (the demand one round trip showed)
    assert.deepEqual(takes, [1, 48]);
    const more = await Promise.all(Array.from({ length: 24 }, () => alloc.next()));
    assert.deepEqual(more, Array.from({ length: 24 }, (_, i) => i + 26), 'served from what was held, in order');
    assert.deepEqual(takes, [1, 48], 'without waiting for another take');
    assert.equal(await alloc.next(), 50);
    assert.deepEqual(takes, [1, 48, 1], 'at rest, exactly what is asked: no gaps');
  });

  it('numbers stay unique and in arrival order under bursts, and no held number is lost', async () => {
    let next = 1;
    const alloc = new SequenceAllocator(async (count) => {
      await new Promise((r) => setTimeout(r, 5));
      const first = next;
      next += count;
      return first;
    });
    const got: number[] = [];
    for (let burst = 0; burst < 20; burst++) {
      got.push(...(await Promise.all(Array.from({ length: 1 + ((burst * 7) % 13) }, () => alloc.next()))));
    }
    assert.deepEqual(got, [...got].sort((a, b) => a - b), 'increasing in arrival order');
    assert.equal(new Set(got).size, got.length, 'unique');
    assert.ok(next - 1 - got.length <= 13, `at most one round's prefetch left unused (${next - 1 - got.length})`);
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
