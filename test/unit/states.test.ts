import assert from 'node:assert/strict';
import { ACTION_ALLOWED_FROM, JOB_STATUSES, TRANSITIONS, canTransition, isTerminal, refuseAction } from '../../domain/states';

describe('job state machine table', () => {
  it('contains the spec FSM edges', () => {
    const spec: [string, string][] = [
      ['queued', 'assigned'], ['assigned', 'running'], ['running', 'completed'],
      ['assigned', 'canceled'], ['running', 'failed'], ['failed', 'retrying'],
      ['retrying', 'queued'], ['running', 'timed_out'], ['timed_out', 'retrying'],
    ];
    for (const [from, to] of spec) assert.ok(canTransition(from as never, to as never), `${from} -> ${to}`);
  });

  it('adds paused: from queued, assigned and running, back to any of them', () => {
    for (const s of ['queued', 'assigned', 'running'] as const) {
      assert.ok(canTransition(s, 'paused'));
      assert.ok(canTransition('paused', s));
    }
  });

  it('completed is final; nothing skips straight from queued to running or completed', () => {
    assert.deepEqual(TRANSITIONS.completed, []);
    assert.ok(!canTransition('queued', 'running'));
    assert.ok(!canTransition('queued', 'completed'));
    assert.ok(!canTransition('retrying', 'running'));
    assert.ok(!canTransition('paused', 'completed'));
  });

  it('every status appears in the table and only known statuses are targets', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...JOB_STATUSES].sort());
    for (const targets of Object.values(TRANSITIONS)) for (const t of targets) assert.ok(JOB_STATUSES.includes(t));
  });

  it('terminal statuses', () => {
    assert.deepEqual(JOB_STATUSES.filter(isTerminal).sort(), ['canceled', 'completed', 'failed', 'timed_out']);
  });

  it('control actions: what each is allowed from, and a refusal that names the state', () => {
    assert.equal(refuseAction('resume', 'paused'), undefined);
    assert.match(refuseAction('resume', 'running')!, /cannot resume a job that is running/);
    assert.match(refuseAction('cancel', 'completed')!, /cannot cancel a job that is completed/);
    assert.equal(refuseAction('retry', 'failed'), undefined);
    assert.equal(refuseAction('retry', 'canceled'), undefined);
    assert.ok(refuseAction('retry', 'completed'));
    // every allowed action leads somewhere the table allows
    for (const s of ACTION_ALLOWED_FROM.pause) assert.ok(canTransition(s, 'paused'));
    for (const s of ACTION_ALLOWED_FROM.cancel) assert.ok(canTransition(s, 'canceled'));
    for (const s of ACTION_ALLOWED_FROM.retry) assert.ok(canTransition(s, 'retrying'));
  });
});
