/**
 * Structured logs, read the way an operator's log pipeline reads them: a real master process and a
 * real worker agent log JSON lines at debug level while jobs complete, fail (an input that is not
 * media), get paused, resumed and canceled. Every line that mentions a job carries job_id, attempt
 * and node: lines from an encode or control activity name this worker; lines from the job's workflow
 * (which may run in any worker or master) the job's current attempt and node, null before a worker
 * took the attempt; the master's answer lines what the answer says (null when it does not include
 * the job). On a terminal the same logger writes human-readable lines.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { DIST, mediaFile, startWorker, type WorkerAgent } from '../helpers/cluster';
import { spawnMaster, TEST_KEY, type ApiClient, type MasterProcess } from '../helpers/master';
import { waitFor } from '../helpers/wait';

type Line = Record<string, unknown> & { msg?: string };

function parseAll(source: string, lines: string[]): Line[] {
  return lines.map((text) => {
    try {
      return JSON.parse(text) as Line;
    } catch {
      throw new Error(`${source} wrote a line that is not JSON: ${text}`);
    }
  });
}

async function untilStatus(api: ApiClient, id: string, statuses: string[]): Promise<JobView> {
  return waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
    const r = await api.get<JobView>(`/jobs/${id}`);
    return r.status === 200 && statuses.includes(r.body.status) ? r.body : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200 });
}

describe('observability: structured logs', function () {
  this.timeout(240_000);
  let master: MasterProcess;
  let worker: WorkerAgent;
  let api: ApiClient;
  const jobs: Record<'completed' | 'failed' | 'canceled', string> = { completed: '', failed: '', canceled: '' };

  before(async () => {
    master = await spawnMaster({ LOG_LEVEL: 'debug' });
    api = master.api;
    worker = await startWorker({ name: 'logs-worker', env: { LOG_LEVEL: 'debug', FFRTMP_MASTER_URL: master.url, FFMPEG_RTMP_API_KEY: TEST_KEY } });

    const ok = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } });
    assert.equal(ok.status, 201, ok.text);
    jobs.completed = ok.body.id;

    await mediaFile('logs-not-video.txt', 'this is not a video\n');
    const bad = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1, input: 'logs-not-video.txt' } });
    assert.equal(bad.status, 201, bad.text);
    jobs.failed = bad.body.id;

    await untilStatus(api, jobs.completed, ['completed']);
    await untilStatus(api, jobs.failed, ['failed']);

    // long enough to steer: pause (SIGSTOP through the node's control queue), resume, cancel
    const long = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 120, preset: 'medium' } });
    jobs.canceled = long.body.id;
    await untilStatus(api, jobs.canceled, ['running']);
    assert.equal((await api.post(`/jobs/${jobs.canceled}/pause`)).status, 200);
    assert.equal((await api.post(`/jobs/${jobs.canceled}/resume`)).status, 200);
    assert.equal((await api.post(`/jobs/${jobs.canceled}/cancel`)).status, 200);
    await waitFor('the worker to log the cancel', () => worker.logs.some((l) => l.includes(jobs.canceled) && l.includes('encode canceled')));
  });

  after(async () => {
    await worker?.stop();
    await master?.stop();
  });

  it('the worker writes JSON lines, and every line about a job has job_id, attempt and node', () => {
    const lines = parseAll('the worker', worker.logs);
    for (const [outcome, id] of Object.entries(jobs)) {
      const about = lines.filter((l) => JSON.stringify(l).includes(id));
      // the workflow's own lines may come from the master, which runs workflow tasks too
      assert.ok(about.length >= 1, `the worker logged about the ${outcome} job`);
      for (const l of about) {
        assert.equal(l.job_id, id, `job_id on: ${JSON.stringify(l)}`);
        assert.ok(Number.isInteger(l.attempt) && (l.attempt as number) >= 1, `attempt on: ${JSON.stringify(l)}`);
        const fromWorkflow = l.workflowType === 'transcodeJob' && l.activityType === undefined;
        if (fromWorkflow) assert.ok(l.node === null || l.node === worker.nodeId, `node on: ${JSON.stringify(l)}`);
        else assert.equal(l.node, worker.nodeId, `node on: ${JSON.stringify(l)}`);
      }
    }
    const messages = (id: string) => lines.filter((l) => l.job_id === id).map((l) => l.msg);
    assert.ok(messages(jobs.completed).includes('encoder started') && messages(jobs.completed).includes('encoder finished'));
    assert.ok(messages(jobs.canceled).some((m) => m?.startsWith('encode canceled')));
    // the SDK's own line about the failed attempt keeps its error message (not an empty object)
    const failure = lines.find((l) => l.job_id === jobs.failed && l.level === 40);
    assert.ok(failure, `a warning about the failed job: ${messages(jobs.failed).join(' | ')}`);
    assert.match(JSON.stringify(failure.err), /input is not readable media/);
  });

  it('the master writes JSON lines, and every line about a job has job_id, attempt and node', () => {
    const lines = parseAll('the master', master.logs);
    for (const [outcome, id] of Object.entries(jobs)) {
      const about = lines.filter((l) => JSON.stringify(l).includes(id));
      assert.ok(about.length >= 1, `the master logged about the ${outcome} job`);
      for (const l of about) {
        assert.equal(l.job_id, id, `job_id on: ${JSON.stringify(l)}`);
        assert.ok('attempt' in l && 'node' in l, `attempt and node on: ${JSON.stringify(l)}`);
        if (l.attempt !== null) assert.ok(Number.isInteger(l.attempt));
      }
    }
    // the answer to a running job's pause names where it runs
    const pause = lines.find((l) => l.job_id === jobs.canceled && (l.req as { url?: string } | undefined)?.url?.endsWith('/pause'));
    assert.ok(pause, 'the pause request was logged');
    assert.equal(pause.node, worker.nodeId);
    assert.equal(pause.attempt, 1);
  });

  it('on a terminal the logger writes human-readable lines, with the same fields', async () => {
    const code = `require(${JSON.stringify(path.join(DIST, 'lib', 'logger.js'))}).createLogger('worker').child({ job_id: 'job-on-a-tty', attempt: 2, node: 'tty-node' }).info('encoder started')`;
    // util-linux `script` gives the process a pseudo-terminal, as an operator's shell would
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'dumb' };
    delete env.LOG_FORMAT; // the default, auto
    const out = await new Promise<string>((resolve, reject) =>
      execFile('script', ['-q', '-e', '-c', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(code)}`, '/dev/null'], { env, timeout: 30_000 }, (err, stdout) =>
        err ? reject(err) : resolve(String(stdout)),
      ),
    );
    // eslint-disable-next-line no-control-regex
    const text = out.replace(/\u001b\[[0-9;]*m/g, '');
    assert.match(text, /INFO.*encoder started/);
    assert.match(text, /job_id: "job-on-a-tty"/);
    assert.match(text, /attempt: 2/);
    assert.match(text, /node: "tty-node"/);
    assert.throws(() => JSON.parse(text.trim().split('\n')[0]!), 'not JSON on a terminal');
  });
});
