/**
 * The contract with the spec's own CLI (issue 13): every command it has, against a real master, a
 * real worker and a real encode, with exactly its requests (Bearer auth, parameters.engine, empty
 * control POSTs) and its answer types (test/helpers/spec-client.ts). ffrtmp's own clients lose
 * nothing: the precise progress is there as progress_percent.
 */
import assert from 'node:assert/strict';
import type { JobWire } from '../../domain/api-schemas';
import { startWorker, type WorkerAgent } from '../helpers/cluster';
import { TEST_KEY, startTestMaster, type TestMaster } from '../helpers/master';
import { SpecCli, SpecCliError } from '../helpers/spec-client';
import { waitFor } from '../helpers/wait';

describe("the spec's own CLI against ffrtmp's master: its requests, its answer types", function () {
  this.timeout(240_000);
  let master: TestMaster;
  let worker: WorkerAgent;
  let cli: SpecCli;
  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    worker = await startWorker({ name: 'spec-client-worker' });
    cli = new SpecCli(master.url, TEST_KEY);
  });
  after(async () => {
    await worker?.stop();
    await master?.stop();
  });

  it('jobs submit (with parameters.engine), status <n> on a running job (integer progress), pause, resume, logs, the list, cancel, retry', async () => {
    const job = await cli.submit({ scenario: '720p30-h264', parameters: { duration: 20, preset: 'medium', output_mode: 'file' } });
    assert.equal(job.status, 'queued');
    // running, with a progress that is not a whole number: the spec's client still reads it
    const precise = await waitFor('a fractional progress', async () => {
      const v = (await master.api.get<JobWire>(`/jobs/${job.id}`)).body;
      return v.status === 'running' && v.progress_percent % 1 !== 0 ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 50 });
    assert.equal(precise.progress, Math.floor(precise.progress_percent));
    const running = await cli.status(job.sequence_number);
    assert.equal(running.status, 'running');
    assert.ok(Number.isInteger(running.progress) && running.progress! >= 0 && running.progress! <= 100);
    assert.ok(running.started_at && running.node_id === worker.nodeId);

    assert.equal((await cli.control(job.sequence_number, 'pause')).status, 'paused');
    assert.equal((await cli.control(job.id, 'resume')).status, 'running');
    const logs = await cli.logs(job.sequence_number);
    assert.equal(logs.job_id, job.id);
    assert.match(logs.logs, /=== Command Execution ===/);
    const list = await cli.list();
    assert.ok(list.count >= 1 && list.jobs!.some((j) => j.id === job.id));
    assert.equal((await cli.control(job.sequence_number, 'cancel')).status, 'canceled');
    const retried = await cli.control(job.sequence_number, 'retry');
    assert.ok(['queued', 'retrying', 'assigned', 'running'].includes(retried.status), retried.status);
    assert.equal((await cli.control(job.sequence_number, 'cancel')).status, 'canceled');
  });

  it('status --follow stops on completed; the engine in both places agrees or is refused', async () => {
    const job = await cli.submit({ scenario: '240p30-h264', engine: 'ffmpeg', parameters: { duration: 1 } });
    assert.equal(job.engine, 'ffmpeg');
    const done = await cli.follow(job.sequence_number, 200, 60_000);
    assert.equal(done.status, 'completed');
    assert.ok(done.completed_at);
    assert.equal(done.progress, 100);
    // ffrtmp's own clients send the engine once; two that disagree are the client's error
    const r = await master.api.post('/jobs', { scenario: '240p30-h264', engine: 'ffmpeg', parameters: { engine: 'gstreamer' } });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^parameters\.engine: "gstreamer" disagrees with engine "ffmpeg"/);
  });

  it('nodes: register as the spec shows it (comma-separated GPU features), list, get, remove (a drain)', async () => {
    const reg = await cli.register({ address: 'https://spec-gpu-1.local:9091', type: 'worker', cpu_threads: 8, cpu_model: 'Intel Xeon', has_gpu: true, gpu_type: 'NVIDIA RTX 4090', gpu_capabilities: 'nvenc,cuda', ram_total_bytes: 17179869184 });
    assert.deepEqual(reg.gpu_capabilities, ['nvenc', 'cuda']);
    const listed = (await cli.nodes()).nodes!.find((n) => n.id === reg.id);
    assert.deepEqual(listed?.gpu_capabilities, ['nvenc', 'cuda']);
    assert.equal((await cli.node(reg.id)).cpu_threads, 8);
    // DELETE drains (docs/API.md): the node takes no new work, and is gone once its agent has finished
    await cli.removeNode(reg.id);
    assert.ok(['draining', 'drained'].includes((await cli.node(reg.id)).status));
  });

  it('an unknown job is a 404 in the error format, which the client prints', async () => {
    await assert.rejects(cli.status(999_999), (err: SpecCliError) => err.status === 404 && /"status":404/.test(err.message));
  });
});
