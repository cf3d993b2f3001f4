import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import type { NodeView } from '../../domain/nodes';
import { freePort } from '../../lib/dev-server';
import { ffrtmp, plain, startFfrtmp, startFfrtmpInPty, submittedSeq, type CliResult } from '../helpers/cli';
import { startWorker, type WorkerAgent } from '../helpers/cluster';
import { TEST_KEY, answersOf, startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

const ESC = '\x1b';

/** exactly one line on stderr */
function oneLine(r: CliResult, re: RegExp): void {
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `stderr: ${r.stderr}`);
  assert.match(r.stderr.trimEnd(), re);
}

describe('ffrtmp CLI against a real master', function () {
  this.timeout(180_000);
  let master: TestMaster;
  /** the environment a user has after `export FFMPEG_RTMP_API_KEY=…` */
  const userEnv = (extra: Record<string, string> = {}) => ({ FFMPEG_RTMP_API_KEY: TEST_KEY, ...extra });
  const run = (args: string[], extra: Record<string, string> = {}) => ffrtmp(['--master', master.url, ...args], { env: userEnv(extra) });
  const runJson = async <T>(args: string[]): Promise<T> => {
    const r = await run(['-o', 'json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  /** a job that stays queued: it needs a GPU worker and none will come */
  const parkedJob = async () => {
    const r = await run(['jobs', 'submit', '--scenario', '240p30-h264', '--duration', '1', '--hardware', 'required']);
    assert.equal(r.code, 0, r.stderr);
    return submittedSeq(r.stdout);
  };

  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
  });
  after(async () => master?.stop());

  // No worker in this part: jobs stay queued, so nothing races the assertions and nothing encodes.

  it("runs the spec's examples as written, ids as sequence numbers", async () => {
    const env = userEnv({ FFRTMP_MASTER_URL: master.url });
    const submit = await ffrtmp(['jobs', 'submit', '--scenario', '4K60-h264', '--duration', '30'], { env });
    assert.equal(submit.code, 0, submit.stderr);
    const seq = submittedSeq(submit.stdout);

    const status = await ffrtmp(['jobs', 'status', String(seq)], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^Job +${seq}$`, 'm'));
    assert.match(status.stdout, /^Scenario +4K60-h264$/m);
    assert.match(status.stdout, /^Status +queued$/m);
    assert.match(status.stdout, /^Parameters +duration=30$/m);

    const logs = await ffrtmp(['jobs', 'logs', String(seq)], { env });
    assert.equal(logs.code, 0, logs.stderr);

    const list = await ffrtmp(['jobs', 'status'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^JOB +ID +STATUS +SCENARIO/);
    assert.match(list.stdout, new RegExp(`^${seq} +[0-9a-f-]{36} +queued +4K60-h264`, 'm'));

    const cancel = await ffrtmp(['jobs', 'cancel', String(seq)], { env });
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`^job ${seq} canceled \\(`));

    // `./bin/ffrtmp --api-key "your-key" jobs status`: the key from the flag alone
    const withKey = await ffrtmp(['--api-key', TEST_KEY, 'jobs', 'status'], { env: { FFRTMP_MASTER_URL: master.url } });
    assert.equal(withKey.code, 0, withKey.stderr);
    assert.match(withKey.stdout, new RegExp(`^${seq} .* canceled `, 'm'));
  });

  it('submit sends every job field and parameter; --output json prints the API documents', async () => {
    const created = await runJson<JobView>([
      'jobs', 'submit', '--scenario', '240p30-h264', '--confidence', 'high', '--engine', 'ffmpeg', '--queue', 'batch', '--priority', 'low',
      '--duration', '1.5', '--bitrate', '300k', '--input', 'clips/in.mp4', '--output-mode', 'rtmp', '--rtmp-url', 'rtmp://127.0.0.1:1/live/k',
      '--codec', 'libx264', '--preset', 'veryfast', '--timeout', '60', '--max-retries', '1', '--hardware', 'required', '--no-audio',
    ]);
    assert.deepEqual([created.scenario, created.confidence, created.engine, created.queue, created.priority, created.status], ['240p30-h264', 'high', 'ffmpeg', 'batch', 'low', 'queued']);
    assert.deepEqual(created.parameters, { duration: 1.5, bitrate: '300k', input: 'clips/in.mp4', output_mode: 'rtmp', rtmp_url: 'rtmp://127.0.0.1:1/live/k', codec: 'libx264', preset: 'veryfast', timeout: 60, max_retries: 1, hardware: 'required', audio: false });
    assert.equal(created.max_retries, 1);

    // the same documents as the API gives (the job moves from its created view to its first
    // attempt meanwhile: compare reads of the same moment, retrying until they are)
    await waitFor('the job as the API gives it', async () => {
      const cli = await runJson(['jobs', 'status', String(created.sequence_number)]);
      assert.deepEqual(cli, (await master.api.get<JobView>(`/jobs/${created.id}`)).body);
      return true;
    }, { timeoutMs: 10_000, intervalMs: 300 });
    await waitFor('the list as the API gives it', async () => {
      const [cli, direct] = [await runJson(['jobs', 'status', '--limit', '3']), (await master.api.get('/jobs?limit=3')).body];
      assert.deepEqual(cli, direct);
      return true;
    }, { timeoutMs: 10_000, intervalMs: 300 });
    assert.deepEqual(await runJson(['scenarios', 'list']), (await master.api.get('/scenarios')).body);
    assert.deepEqual(await runJson(['jobs', 'logs', created.id]), (await master.api.get(`/jobs/${created.id}/logs`)).body);
    const canceled = await runJson<JobView>(['jobs', 'cancel', created.id]);
    assert.equal(canceled.status, 'canceled');
  });

  it('pause, resume, cancel and retry by sequence number or uuid, with 409 as exit code 5', async () => {
    const seq = await parkedJob();
    const id = (await master.api.get<JobView>(`/jobs/${seq}`)).body.id;

    const pause = await run(['jobs', 'pause', String(seq)]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal(pause.stdout, `job ${seq} paused (${id})\n`);
    assert.equal((await master.api.get<JobView>(`/jobs/${id}`)).body.status, 'paused');

    const again = await run(['jobs', 'pause', String(seq)]);
    assert.equal(again.code, 5);
    oneLine(again, /^error 409: cannot pause a job that is paused \(allowed from: queued, assigned, running\)$/);

    assert.equal((await run(['jobs', 'resume', id])).code, 0);
    const resumeQueued = await run(['jobs', 'resume', String(seq)]);
    assert.equal(resumeQueued.code, 5);
    oneLine(resumeQueued, /^error 409: cannot resume a job that is queued \(allowed from: paused\)$/);

    assert.equal((await run(['jobs', 'cancel', String(seq), '--reason', 'maintenance window'])).code, 0);
    assert.equal((await run(['jobs', 'cancel', String(seq)])).code, 5);
    // watching a job that already ended answers at once, with its outcome
    const watch = await run(['jobs', 'watch', String(seq)]);
    assert.equal(watch.code, 1);
    assert.equal(watch.stdout, `job ${seq} canceled\n`);

    const retry = await runJson<JobView>(['jobs', 'retry', String(seq)]);
    assert.equal(retry.id, id);
    assert.deepEqual(retry.state_transitions.map((t) => t.to), ['queued', 'paused', 'queued', 'canceled', 'retrying', 'queued']);
    assert.equal(retry.state_transitions[3]!.reason, 'maintenance window');
    assert.equal((await run(['jobs', 'cancel', id])).code, 0);
  });

  it('jobs watch follows the job\'s event stream: one stream request, no polling reads, and the outcome read once at the end', async () => {
    const seq = await parkedJob();
    const id = (await master.api.get<JobView>(`/jobs/${seq}`)).body.id;
    const [readsBefore, streamsBefore] = [await answersOf(master.metricsUrl, 'GET', '/jobs/:id'), await answersOf(master.metricsUrl, 'GET', '/jobs/:id/events')];
    const watch = startFfrtmp(['--master', master.url, 'jobs', 'watch', String(seq), '--interval', '100'], { env: userEnv() });
    await waitFor('the watch to start', () => watch.stderr.includes(`job ${seq} queued`));
    // an observation window, not a synchronisation: polling every 100 ms would read the job ~10 times in it
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await master.api.post(`/jobs/${id}/cancel`)).status, 200);
    const r = await watch.done;
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, `job ${seq} canceled\n`);
    // the stream's answer is counted when it closes
    await waitFor('the stream counted', async () => (await answersOf(master.metricsUrl, 'GET', '/jobs/:id/events')) === streamsBefore + 1);
    // the CLI's reads of the job: only the final view
    assert.equal((await answersOf(master.metricsUrl, 'GET', '/jobs/:id')) - readsBefore, 1, 'one read: the outcome');
  });

  it('Ctrl-C stops watching (exit 130); the job goes on', async () => {
    const seq = await parkedJob();
    const watch = startFfrtmp(['--master', master.url, 'jobs', 'watch', String(seq)], { env: userEnv() });
    await waitFor('the watch to start', () => watch.stderr.includes(`job ${seq} queued`));
    watch.proc.kill('SIGINT');
    const r = await watch.done;
    assert.equal(r.code, 130);
    assert.match(r.stderr, new RegExp(`stopped watching; the job goes on \\(ffrtmp jobs watch ${seq}\\)`));
    assert.equal((await master.api.get<JobView>(`/jobs/${seq}`)).body.status, 'queued');
    assert.equal((await run(['jobs', 'cancel', String(seq)])).code, 0);
  });

  it('exit codes by class: usage 2, auth 3, not found 4, unavailable 6, rate limited 7', async () => {
    // a refusal only the master can make (the media root is its configuration): a 400 is a usage error too
    const invalid = await run(['jobs', 'submit', '--scenario', '240p30-h264', '--input', '../../etc/passwd']);
    assert.equal(invalid.code, 2);
    oneLine(invalid, /^error 400: parameters\.input: /);
    const local = await run(['jobs', 'submit', '--scenario', '9K90-h266']);
    assert.equal(local.code, 2);
    oneLine(local, /^error: --scenario: unknown scenario "9K90-h266"/);
    const usage = await run(['jobs', 'submit', '--scenario', '240p30-h264', '--duration', 'ten']);
    assert.equal(usage.code, 2);
    oneLine(usage, /^error: option '--duration <seconds>' argument 'ten' is invalid/);

    const wrongKey = await ffrtmp(['--master', master.url, '--api-key', 'wrong-key-0123456789abcdef', 'jobs', 'status']);
    assert.equal(wrongKey.code, 3);
    oneLine(wrongKey, /^error 401: missing or invalid API key/);
    const noKey = await ffrtmp(['--master', master.url, 'jobs', 'status']);
    assert.equal(noKey.code, 3);

    for (const args of [['jobs', 'status', '999999'], ['jobs', 'logs', '00000000-0000-4000-8000-000000000000'], ['jobs', 'cancel', 'not-a-job'], ['nodes', 'show', 'no-such-node']]) {
      const r = await run(args);
      assert.equal(r.code, 4, args.join(' '));
      oneLine(r, /^error 404: /);
    }

    const down = await ffrtmp(['--master', `http://127.0.0.1:${await freePort()}`, 'jobs', 'status'], { env: userEnv() });
    assert.equal(down.code, 6);
    oneLine(down, /^error: cannot reach the master at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED .*--via temporal/);

    const limited = await startTestMaster({ FFRTMP_RATE_LIMIT_DISABLED: 'false', FFRTMP_RATE_LIMIT_BURST: '2', FFRTMP_RATE_LIMIT_PER_MINUTE: '1' });
    try {
      const codes: (number | null)[] = [];
      let last: CliResult | undefined;
      for (let i = 0; i < 3; i++) {
        last = await ffrtmp(['--master', limited.url, 'jobs', 'status', '--limit', '1'], { env: userEnv() });
        codes.push(last.code);
      }
      assert.deepEqual(codes, [0, 0, 7]);
      oneLine(last!, /^error 429: rate limit exceeded: 2 requests per \d+ s; retry after \d+ s$/);
    } finally {
      await limited.stop();
    }
  });

  it('settings: a config file gives the master and key; its environment variable beats it; a flag beats both', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-home-'));
    mkdirSync(path.join(home, '.ffrtmp'));
    writeFileSync(path.join(home, '.ffrtmp', 'config.yaml'), `master_url: ${master.url}\napi_key: ${TEST_KEY}\noutput: json\n`);
    const dead = `http://127.0.0.1:${await freePort()}`;

    const fromFile = await ffrtmp(['jobs', 'status', '--limit', '1'], { env: { HOME: home } });
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.ok(Array.isArray(JSON.parse(fromFile.stdout).jobs), 'output: json from the file');

    const envWins = await ffrtmp(['jobs', 'status', '--limit', '1'], { env: { HOME: home, FFRTMP_MASTER_URL: dead } });
    assert.equal(envWins.code, 6);
    const flagWins = await ffrtmp(['--master', master.url, '-o', 'table', 'jobs', 'status', '--limit', '1'], { env: { HOME: home, FFRTMP_MASTER_URL: dead } });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    assert.match(flagWins.stdout, /^JOB +ID/);
    const envKeyWins = await ffrtmp(['jobs', 'status'], { env: { HOME: home, FFMPEG_RTMP_API_KEY: 'wrong-key-0123456789abcdef' } });
    assert.equal(envKeyWins.code, 3);

    const other = path.join(home, 'other.yaml');
    writeFileSync(other, `master_url: ${dead}\n`);
    assert.equal((await ffrtmp(['--config', other, 'jobs', 'status'], { env: { HOME: home } })).code, 6, '--config replaces the default file');
    const typo = path.join(home, 'typo.yaml');
    writeFileSync(typo, `master: ${master.url}\n`);
    const bad = await ffrtmp(['--config', typo, 'jobs', 'status'], { env: { HOME: home } });
    assert.equal(bad.code, 2);
    oneLine(bad, /^error: config file .*typo\.yaml: unknown field: master$/);
  });

  describe('with a worker', () => {
    let worker: WorkerAgent;
    before(async () => {
      worker = await startWorker({
        name: 'cli-worker',
        env: { FFRTMP_MASTER_URL: master.url, FFMPEG_RTMP_API_KEY: TEST_KEY, FFRTMP_HEARTBEAT_INTERVAL_SECONDS: '1', FFRTMP_PROGRESS_INTERVAL_MS: '200' },
      });
    });
    after(async () => worker?.stop());

    it('submit --wait in a terminal draws a live progress bar with percent, fps and ETA', async () => {
      const p = startFfrtmpInPty(['jobs', 'submit', '--scenario', '240p30-h264', '--duration', '3', '--preset', 'veryslow', '--interval', '200', '--wait'], { env: userEnv({ FFRTMP_MASTER_URL: master.url }) });
      const r = await p.done;
      const screen = plain(r.stdout);
      assert.equal(r.code, 0, screen);
      assert.ok(r.stdout.includes(`${ESC}[`), 'escape sequences on a terminal');
      assert.match(r.stdout, new RegExp(`${ESC}\\[32mcompleted${ESC}\\[39m`), 'the status in colour');
      // every frame: job N, the bar, percent, status, fps, ETA; the last one with the average fps
      assert.match(screen, /job \d+ [█░]{24} \d+% \| (queued|assigned|running) \| (--|\d+(\.\d)?) fps \| ETA /);
      assert.match(screen, /job \d+ █{24} 100% \| completed \| \d+(\.\d)? fps \| ETA 0 s/);
      assert.match(screen, /job \d+ completed in \d+(\.\d)? s \(attempt 1, \d+(\.\d)? fps\): \/.*\/output\.mp4/);
    });

    it('--wait rides out the rate limit: a 429 waits for Retry-After, the job is followed to its end', async () => {
      const limited = await startTestMaster({ FFRTMP_RATE_LIMIT_DISABLED: 'false', FFRTMP_RATE_LIMIT_BURST: '1', FFRTMP_RATE_LIMIT_PER_MINUTE: '6' });
      try {
        // one request per 10 s: the submit takes it, so the event stream is refused (429) and the CLI
        // polls instead, every 100 ms: refused again, it must wait for Retry-After and not give up
        const r = await ffrtmp(['--master', limited.url, 'jobs', 'submit', '--scenario', '240p30-h264', '--duration', '3', '--preset', 'veryslow', '--interval', '100', '--wait'], { env: userEnv() });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /^job \d+ completed on cli-worker$/m);
        assert.match(await (await fetch(limited.metricsUrl)).text(), /ffrtmp_rate_limited_total\{principal="api-key"\} [1-9]/, 'the limit was met');
      } finally {
        await limited.stop();
      }
    });

    it('without a terminal: no bar, no colour, no escape sequence; NO_COLOR keeps a terminal plain too', async () => {
      const r = await run(['jobs', 'submit', '--scenario', '240p30-h264', '--duration', '1', '--wait']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(ESC), JSON.stringify(r.stdout + r.stderr));
      assert.match(r.stderr, /^job \d+ completed on cli-worker$/m);
      const seq = submittedSeq(r.stdout);

      const table = startFfrtmpInPty(['jobs', 'status', String(seq)], { env: userEnv({ FFRTMP_MASTER_URL: master.url }) });
      assert.match((await table.done).stdout, new RegExp(`${ESC}\\[1mStatus${ESC}\\[22m`), 'bold labels on a terminal');
      const noColour = await startFfrtmpInPty(['jobs', 'status', String(seq)], { env: userEnv({ FFRTMP_MASTER_URL: master.url, NO_COLOR: '1' }) }).done;
      assert.equal(noColour.code, 0);
      assert.ok(!noColour.stdout.includes(ESC), JSON.stringify(noColour.stdout));
    });

    it('-o json --wait prints the final job; a job that fails exits 1, and so does watching it', async () => {
      const done = JSON.parse((await run(['-o', 'json', 'jobs', 'submit', '--scenario', '240p30-h264', '--duration', '1', '--wait'])).stdout) as JobView;
      assert.equal(done.status, 'completed');
      assert.deepEqual(done, (await master.api.get(`/jobs/${done.id}`)).body);
      const watchDone = await run(['jobs', 'watch', String(done.sequence_number)]);
      assert.equal(watchDone.code, 0);

      const failed = await run(['jobs', 'submit', '--scenario', '240p30-h264', '--input', 'missing.mp4', '--max-retries', '0', '--wait']);
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stdout, /^job \d+ failed: input is not readable media: /m);
      const watchFailed = await run(['-o', 'json', 'jobs', 'watch', String(submittedSeq(failed.stdout))]);
      assert.equal(watchFailed.code, 1);
      assert.equal(JSON.parse(watchFailed.stdout).status, 'failed');
    });

    it('jobs logs, and logs --follow printing new lines until the job ends', async () => {
      const seq = submittedSeq((await run(['jobs', 'submit', '--scenario', '240p30-h264', '--duration', '3', '--preset', 'veryslow'])).stdout);
      const follow = await run(['jobs', 'logs', String(seq), '--follow', '--interval', '200']);
      assert.equal(follow.code, 0, follow.stderr);
      assert.match(follow.stdout, /^### attempt 1 on cli-worker \(completed\)$/m);
      assert.match(follow.stdout, /^=== STDERR ===$/m);
      assert.equal(follow.stdout.match(/^Command: ffmpeg /gm)?.length, 1, `the command line once:\n${follow.stdout}`);

      const logs = await run(['jobs', 'logs', String(seq)]);
      const api = await master.api.get<{ logs: string }>(`/jobs/${seq}/logs`);
      assert.equal(logs.stdout, `${api.body.logs.replace(/\n$/, '')}\n`);
      assert.match(logs.stdout, /=== Command Execution ===\nCommand: ffmpeg .*-c:v libx264 -preset veryslow/);
    });

    it('jobs status lists with filters and pages', async () => {
      const page1 = await runJson<{ jobs: JobView[]; count: number; next_page_token: string | null }>(['jobs', 'status', '--status', 'completed', '--limit', '1']);
      assert.equal(page1.count, 1);
      assert.equal(page1.jobs[0]!.status, 'completed');
      assert.ok(page1.next_page_token, 'more completed jobs');
      const page2 = await runJson<typeof page1>(['jobs', 'status', '--status', 'completed', '--limit', '1', '--page-token', page1.next_page_token]);
      assert.equal(page2.jobs[0]!.status, 'completed');
      assert.notEqual(page2.jobs[0]!.id, page1.jobs[0]!.id);

      const table = await run(['jobs', 'status', '--status', 'completed', '--scenario', '240p30-h264', '--node', worker.nodeId]);
      assert.equal(table.code, 0, table.stderr);
      const rows = table.stdout.trim().split('\n').slice(1);
      assert.ok(rows.length >= 2);
      for (const row of rows) assert.match(row, new RegExp(`^\\d+ +[0-9a-f-]{36} +completed +240p30-h264 .* ${worker.nodeId.replace(/\./g, '\\.')} `));
      const none = await run(['jobs', 'status', '--queue', 'live', '--status', 'timed_out']);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.equal(none.stderr, 'no jobs\n');
    });

    it('nodes list, show and remove; scenarios list', async () => {
      const listed = await waitFor('the worker in nodes list', async () => {
        const l = await runJson<{ nodes: NodeView[] }>(['nodes', 'list']);
        return l.nodes.find((n) => n.id === worker.nodeId);
      });
      assert.equal(listed.name, 'cli-worker');
      const table = await run(['nodes', 'list']);
      assert.match(table.stdout, /^ID +NAME +STATUS +CPU +GPU +CAPABILITIES +JOBS +HEARTBEAT$/m);
      assert.match(table.stdout, new RegExp(`^${worker.nodeId.replace(/\./g, '\\.')} +cli-worker +(online|busy) +\\d+ +- +cpu`, 'm'));
      const show = await run(['nodes', 'show', worker.nodeId]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^Name +cli-worker$/m);
      assert.match(show.stdout, /^Encoders +.*libx264/m);

      // a node with nothing running is drained at once
      const reg = await master.api.post<NodeView>('/nodes/register', { address: 'http://10.9.9.9:9999', cpu_threads: 4, cpu_model: 'test', ram_total_bytes: 1e9 });
      assert.equal(reg.status, 201, reg.text);
      const remove = await run(['nodes', 'remove', reg.body.id]);
      assert.equal(remove.code, 0, remove.stderr);
      assert.match(remove.stdout, new RegExp(`^node ${reg.body.id.replace(/\./g, '\\.')} (draining|drained): it takes no new work`));

      const scenarios = await run(['scenarios', 'list']);
      assert.equal(scenarios.code, 0);
      assert.match(scenarios.stdout, /^4K60-h264 +3840x2160 +60 +h264 +30000k$/m);
      assert.match(scenarios.stdout, /^libx264 +ffmpeg +h264 +cpu +medium +ultrafast /m);
    });
  });
});
