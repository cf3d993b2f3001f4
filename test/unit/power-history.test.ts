/**
 * A node's power as its heartbeat reports it (the figure and what it is measured by) and the
 * history its entity keeps: a point a minute, the mean of the minute's heartbeats, an hour at most;
 * a job attempt's progress history, bounded however long it runs.
 */
import assert from 'node:assert/strict';
import { POWER_HISTORY_POINTS, addPowerReading, combinedSource, type PowerPoint } from '../../domain/power';
import { PROGRESS_HISTORY_POINTS, addProgressPoint, newProgressHistory } from '../../domain/progress-history';
import { heartbeatSchema } from '../../domain/schemas';
import { nodePower } from '../../workers/power';

const T0 = Date.parse('2026-12-02T05:00:00Z');
const MIN = 60_000;

describe('node power: the heartbeat figure and its source', () => {
  it('sums the sensors and names them; the estimate only where no sensor reads, never added to them', () => {
    assert.deepEqual(nodePower([]), { power_watts: null, power_source: null });
    assert.deepEqual(nodePower([{ domain: 'cpu', source: 'estimate', watts: 12.34 }]), { power_watts: 12.3, power_source: 'estimate' });
    assert.deepEqual(
      nodePower([
        { domain: 'cpu', source: 'estimate', watts: 50 },
        { domain: 'gpu0', source: 'nvidia-smi', watts: 80 },
        { domain: 'package-0', source: 'rapl', watts: 20.04 },
      ]),
      { power_watts: 100, power_source: 'nvidia-smi+rapl' },
    );
    assert.equal(combinedSource(['rapl', 'nvidia-smi', 'rapl']), 'nvidia-smi+rapl');
    // a package's sub-zones (named core@0 and so on) are inside it: not counted twice
    assert.deepEqual(
      nodePower([
        { domain: 'package-0', source: 'rapl', watts: 20 },
        { domain: 'core@0', source: 'rapl', watts: 15 },
        { domain: 'package-1', source: 'rapl', watts: 10 },
      ]),
      { power_watts: 30, power_source: 'rapl' },
    );
  });

  it('the heartbeat accepts what the worker sends, and no source is required (older workers)', () => {
    for (const source of ['rapl', 'nvidia-smi', 'estimate', 'nvidia-smi+rapl', null, undefined]) {
      assert.ok(heartbeatSchema.safeParse({ power_watts: 3, power_source: source }).success, String(source));
    }
    for (const source of ['', 'watts', 'rapl+', '--rapl', 'rapl;rm']) assert.equal(heartbeatSchema.safeParse({ power_source: source }).success, false, source);
  });
});

describe('node power history: a point a minute over the last hour', () => {
  it('folds heartbeats of one minute into their mean, and starts a point per new minute', () => {
    let h: PowerPoint[] = [];
    h = addPowerReading(h, T0 + 1_000, 10);
    h = addPowerReading(h, T0 + 30_000, 20);
    h = addPowerReading(h, T0 + 59_999, 30);
    assert.deepEqual(h, [{ at: '2026-12-02T05:00:00.000Z', watts: 20, heartbeats: 3 }]);
    h = addPowerReading(h, T0 + MIN, 5);
    assert.deepEqual(h.map((p) => [p.at, p.watts, p.heartbeats]), [['2026-12-02T05:00:00.000Z', 20, 3], ['2026-12-02T05:01:00.000Z', 5, 1]]);
  });

  it('keeps an hour at most, however long the node runs, and drops minutes older than an hour after a silence', () => {
    let h: PowerPoint[] = [];
    for (let m = 0; m < 3 * 60; m++) for (let s = 0; s < 60; s += 5) h = addPowerReading(h, T0 + m * MIN + s * 1000, m);
    assert.equal(h.length, POWER_HISTORY_POINTS);
    assert.equal(h[0]!.at, new Date(T0 + 120 * MIN).toISOString());
    assert.equal(h.at(-1)!.at, new Date(T0 + 179 * MIN).toISOString());
    assert.ok(h.every((p) => p.heartbeats === 12));
    // silent for 50 minutes: the points before the last hour go
    h = addPowerReading(h, T0 + 229 * MIN, 1);
    assert.equal(h[0]!.at, new Date(T0 + 170 * MIN).toISOString());
    assert.equal(h.length, 11);
  });
});

describe('job progress history: bounded, evenly thinned', () => {
  it('a point per step; a full series keeps every other point and doubles its step, the newest always kept', () => {
    let h = newProgressHistory(new Date(T0));
    h = addProgressPoint(h, 0.2, 0, null);
    h = addProgressPoint(h, 0.7, 1, 30); // within the step: not taken
    h = addProgressPoint(h, 1.3, 2, 31.26);
    assert.deepEqual(h.points, [[0.2, 0, null], [1.3, 2, 31.3]]);
    for (let s = 2; s < 3_600; s += 0.5) h = addProgressPoint(h, s, s / 36, 30);
    assert.ok(h.points.length <= PROGRESS_HISTORY_POINTS, `${h.points.length} points`);
    assert.ok(h.points.length > PROGRESS_HISTORY_POINTS / 2, 'thinned by half at most');
    assert.equal(h.step_seconds, 32, 'an hour at two readings a second: the step doubled five times');
    const gaps = h.points.slice(1).map((p, i) => p[0] - h.points[i]![0]);
    assert.ok(gaps.slice(1, -1).every((g) => g >= 16 && g <= 64), `evenly spaced: ${gaps.join(' ')}`);
    h = addProgressPoint(h, 3_600.4, 100, 29, true);
    assert.deepEqual(h.points.at(-1), [3600.4, 100, 29], 'the final figure is always kept');
    assert.equal(h.started_at, '2026-12-02T05:00:00.000Z');
    assert.ok(JSON.stringify(h).length < 4_000, `small: ${JSON.stringify(h).length} bytes`);
  });

  it('the mean of huge readings stays a finite number (a summed mean overflowed to Infinity, answered as null)', () => {
    const t = Date.parse('2026-12-02T08:00:10Z');
    const h = addPowerReading(addPowerReading([], t, Number.MAX_VALUE), t + 1_000, Number.MAX_VALUE);
    assert.equal(h.length, 1);
    assert.equal(h[0]!.watts, Number.MAX_VALUE);
    assert.equal(h[0]!.heartbeats, 2);
  });
});
