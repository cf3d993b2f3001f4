import assert from 'node:assert/strict';
import type { JobView } from '../../domain/job';
import type { JobService } from '../../lib/job-service';
import { jobService, startWorker, type WorkerAgent } from '../helpers/cluster';
import { encodersOfJob, processState } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe('worker death and shutdown mid-encode', function () {
  this.timeout(180_000);
  let jobs: JobService;
  const workers: WorkerAgent[] = [];

  before(async () => {
    jobs = await jobService();
    workers.push(await startWorker({ name: 'kill-a' }), await startWorker({ name: 'kill-b' }));
  });

  const runningJob = async () => {
    const job = await jobs.create({
      scenario: '720p30-h264',
      confidence: 'auto',
      engine: 'auto',
      queue: 'default',
      priority: 'medium',
      parameters: { duration: 10, preset: 'medium' },
    });
    return waitFor<JobView>('running', async () => {
      const v = await jobs.get(job.id);
      return v.status === 'running' ? v : undefined;
    });
  };
  after(async () => Promise.all(workers.map((w) => w.stop())));

  it('leaves no encoder behind, and the job completes on the other worker', async () => {
    const running = await runningJob();
    const job = running;
    const victim = workers.find((w) => w.nodeId === running.node_id);
    assert.ok(victim, `job runs on ${running.node_id}, not on one of ours`);
    const survivor = workers.find((w) => w !== victim)!;
    const pid = await waitFor('encoder pid', () => encodersOfJob(job.id)[0]?.pid);

    victim.kill('SIGKILL');
    await victim.exited;
    // the parent-death signal takes the encoder down with its worker
    await waitFor('orphan encoder gone', () => processState(pid) === null, { timeoutMs: 2_000, intervalMs: 10 });

    const done = await waitFor<JobView>('completion elsewhere', async () => {
      const v = await jobs.get(job.id);
      return ['completed', 'failed', 'timed_out'].includes(v.status) ? v : undefined;
    }, { timeoutMs: 90_000, intervalMs: 200 });
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.node_id, survivor.nodeId);
    assert.equal(done.attempts[0]!.node_id, victim.nodeId);
    assert.match(done.attempts[0]!.error ?? '', /stopped heartbeating \(worker lost\)/);
    assert.equal(done.attempts[1]!.node_id, survivor.nodeId);
    workers.splice(workers.indexOf(victim), 1);
  });

  it('SIGTERM: the worker takes no new work, kills what outlasts its grace period, exits 0; the job runs elsewhere', async () => {
    workers.push(await startWorker({ name: 'kill-c' }));
    const running = await runningJob();
    const leaving = workers.find((w) => w.nodeId === running.node_id)!;
    const staying = workers.find((w) => w !== leaving)!;
    const pid = await waitFor('encoder pid', () => encodersOfJob(running.id)[0]?.pid);
    leaving.kill('SIGTERM'); // grace is 2 s in tests; the encode needs longer
    assert.equal(await leaving.exited, 0);
    assert.equal(processState(pid), null, 'its encoder is gone');
    assert.ok(leaving.logs.some((l) => l.includes('grace period over: killing encoders')));
    const done = await waitFor<JobView>('completion elsewhere', async () => {
      const v = await jobs.get(running.id);
      return ['completed', 'failed', 'timed_out'].includes(v.status) ? v : undefined;
    }, { timeoutMs: 90_000, intervalMs: 200 });
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.node_id, staying.nodeId);
    assert.match(done.attempts[0]!.error ?? '', /shutting down/);
  });
});
