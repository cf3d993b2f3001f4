import assert from 'node:assert/strict';
import { CONFIDENCES, HARDWARE_POLICIES, OUTPUT_MODES, PRIORITIES, QUEUES } from '../../domain/job';
import { jobParametersSchema } from '../../domain/schemas';
import { JOB_OPTIONS, buildCreateBody } from '../../cli/commands/jobs';
import { cli, fail, fakeJob, ok } from './cli-fakes';

describe('cli options: parsing into API requests', () => {
  it('jobs submit maps every job field and parameter onto the POST /jobs body', async () => {
    const r = await cli(
      ['jobs', 'submit', '--scenario', '720p30-h264', '--confidence', 'high', '--engine', 'ffmpeg', '--queue', 'batch', '--priority', 'low',
        '--duration', '2.5', '--bitrate', '2500k', '--input', 'clips/a.mp4', '--output-mode', 'rtmp', '--rtmp-url', 'rtmp://live.local/app/k',
        '--codec', 'h264', '--preset', 'veryfast', '--timeout', '90', '--max-retries', '1', '--hardware', 'cpu', '--no-audio'],
      () => ok(fakeJob(), 201),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.transport.calls, [{
      method: 'POST',
      path: '/jobs',
      body: {
        scenario: '720p30-h264', confidence: 'high', engine: 'ffmpeg', queue: 'batch', priority: 'low',
        parameters: { duration: 2.5, bitrate: '2500k', input: 'clips/a.mp4', output_mode: 'rtmp', rtmp_url: 'rtmp://live.local/app/k', codec: 'h264', preset: 'veryfast', timeout: 90, max_retries: 1, hardware: 'cpu', audio: false },
      },
    }]);
    assert.match(r.stdout, /^job 7 submitted: 11111111-2222-4333-8444-555555555555 \(queued\)\n$/);
    assert.ok(r.transport.closed);
  });

  it('sends only what was given: the API fills in the defaults; audio stays unset without --no-audio', async () => {
    const r = await cli(['jobs', 'submit', '--scenario', '4K60-h264', '--duration', '30'], () => ok(fakeJob(), 201));
    assert.deepEqual(r.transport.calls[0]!.body, { scenario: '4K60-h264', parameters: { duration: 30 } });
    assert.deepEqual(buildCreateBody({ scenario: '4K60-h264', audio: true }), { scenario: '4K60-h264' });
  });

  it('every parameter of the API schema has an option, and the choices are the domain enums', () => {
    const params = JOB_OPTIONS.filter((o) => o.in === 'parameters').map((o) => o.field).sort();
    // parameters.engine is the spec clients' spelling of the engine: the CLI sends --engine at the top level
    assert.deepEqual(params, Object.keys(jobParametersSchema.shape).filter((k) => k !== 'engine').sort());
    const choices = Object.fromEntries(JOB_OPTIONS.filter((o) => o.choices).map((o) => [o.field, o.choices]));
    assert.deepEqual(choices, { confidence: CONFIDENCES, engine: ENGINES_OF(), queue: QUEUES, priority: PRIORITIES, output_mode: OUTPUT_MODES, hardware: HARDWARE_POLICIES });
  });

  it('bad values are usage errors (exit 2) before any request, naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['jobs', 'submit'], /required option '--scenario <name>' not specified/],
      [['jobs', 'submit', '--scenario', 'x', '--duration', 'ten'], /--duration <seconds>' argument 'ten' is invalid\. Not a number/],
      [['jobs', 'submit', '--scenario', 'x', '--duration', '0'], /--duration: Too small/],
      [['jobs', 'submit', '--scenario', 'x', '--max-retries', '1.5'], /Not a whole number/],
      [['jobs', 'submit', '--scenario', 'x', '--max-retries', '99'], /--max-retries: Too big/],
      [['jobs', 'submit', '--scenario', 'x', '--priority', 'urgent'], /Allowed choices are high, medium, low/],
      [['jobs', 'submit', '--scenario', 'x', '--bitrate', 'fast'], /--bitrate: must be between 50k and 200M/],
      [['jobs', 'submit', '--scenario', 'x', '--input', '-i /etc/passwd'], /--input: must not start with "-"/],
      [['jobs', 'status', '--status', 'sleeping'], /Allowed choices are queued/],
      [['jobs', 'status', '--limit', '0'], /--limit: Too small/],
      [['jobs', 'status', '7', '--queue', 'live'], /filters \(--queue\) apply to the list/],
      [['jobs', 'frobnicate'], /unknown command 'frobnicate'/],
      [['jobs', 'status', '--colour'], /unknown option '--colour'/],
      [['jobs', 'logs'], /missing required argument 'id'/],
      [['--output', 'yaml', 'jobs', 'status'], /Allowed choices are table, json/],
      [['jobs', 'watch', '7', '--interval', '5'], /Give 100 to 60000/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.equal(r.transport.calls.length, 0, `${args.join(' ')} sent a request`);
    }
  });

  it('jobs status: one job by id or sequence number; the list with its filters as the query string', async () => {
    const one = await cli(['jobs', 'status', '123'], () => ok(fakeJob()));
    assert.deepEqual(one.transport.calls.map((c) => `${c.method} ${c.path}`), ['GET /jobs/123']);
    const list = await cli(['jobs', 'status', '--status', 'running', '--queue', 'live', '--priority', 'high', '--scenario', '4K60-h264', '--node', 'w-1', '--limit', '5', '--page-token', 'abc'], () => ok({ jobs: [], count: 0, next_page_token: null }));
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.transport.calls[0]!.path, '/jobs?status=running&queue=live&priority=high&scenario=4K60-h264&node=w-1&limit=5&page_token=abc');
    assert.match(list.stderr, /no jobs/);
  });

  it('global options are taken before the command and after its own options', async () => {
    const r = await cli(['jobs', 'status', '7', '-o', 'json'], () => ok(fakeJob()));
    assert.deepEqual(JSON.parse(r.stdout), fakeJob());
    const after = await cli(['jobs', 'submit', '--scenario', '240p30-h264', '--output', 'json'], () => ok(fakeJob(), 201));
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(JSON.parse(after.stdout), fakeJob());
    const env = await cli(['jobs', 'status', '7'], () => ok(fakeJob()), { env: { FFRTMP_OUTPUT: 'json' } });
    assert.deepEqual(JSON.parse(env.stdout), fakeJob());
  });

  it('certificate flags with an http:// master: a warning, since they cannot be used', async () => {
    const r = await cli(['--cert', 'c.crt', '--key', 'c.key', 'jobs', 'status', '7'], () => ok(fakeJob()));
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^warning: --cert\/--key\/--ca are not used with an http:\/\/ master \(http:\/\/127\.0\.0\.1:8080\); give --master https:/);
    assert.equal((await cli(['--master', 'https://m:8080', '--cert', 'c.crt', '--key', 'c.key', 'jobs', 'status', '7'], () => ok(fakeJob()))).stderr, '');
  });

  it('control actions: POST /jobs/{id}/<action>, with the reason as the body when given', async () => {
    for (const action of ['cancel', 'pause', 'resume', 'retry']) {
      const r = await cli(['jobs', action, '12'], () => ok(fakeJob({ status: 'paused' })));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.transport.calls, [{ method: 'POST', path: `/jobs/12/${action}`, body: undefined }]);
      assert.match(r.stdout, /^job 7 paused \(11111111-/);
    }
    const why = await cli(['jobs', 'cancel', '12', '--reason', 'maintenance window'], () => ok(fakeJob({ status: 'canceled' })));
    assert.deepEqual(why.transport.calls[0]!.body, { reason: 'maintenance window' });
    for (const action of ['pause', 'resume', 'retry']) assert.equal((await cli(['jobs', action, '12', '--reason', 'x'])).code, 2, `${action} takes no reason`);
  });

  it('nodes and scenarios map onto their routes; ids are URL-encoded', async () => {
    const calls = async (args: string[], body: unknown) => (await cli(args, () => ok(body))).transport.calls.map((c) => `${c.method} ${c.path}`);
    assert.deepEqual(await calls(['nodes', 'list'], { nodes: [], count: 0 }), ['GET /nodes']);
    assert.deepEqual(await calls(['-o', 'json', 'nodes', 'show', 'a/b'], {}), ['GET /nodes/a%2Fb']);
    assert.deepEqual(await calls(['-o', 'json', 'nodes', 'remove', 'w-1'], {}), ['DELETE /nodes/w-1']);
    assert.deepEqual(await calls(['-o', 'json', 'scenarios', 'list'], {}), ['GET /scenarios']);
  });

  it('--wait follows the job to its end; the exit code tells the outcome', async () => {
    const run = async (final: Partial<Parameters<typeof fakeJob>[0]>) => {
      let polls = 0;
      return cli(['jobs', 'submit', '--scenario', '240p30-h264', '--wait', '--interval', '100'], (c) => {
        if (c.method === 'POST') return ok(fakeJob(), 201);
        polls++;
        return ok(polls < 2 ? fakeJob({ status: 'running', progress: 50, fps: 31.5, eta_seconds: 3 }) : fakeJob(final));
      });
    };
    const done = await run({ status: 'completed', progress: 100, started_at: '2026-01-02T10:00:00.000Z', completed_at: '2026-01-02T10:00:02.500Z', avg_fps: 60, attempt: 1, output: { path: '/out/a.mp4', url: null, size_bytes: 1 } });
    assert.equal(done.code, 0);
    assert.match(done.stdout, /job 7 completed in 2\.5 s \(attempt 1, 60\.0 fps\): \/out\/a\.mp4/);
    // no terminal: plain lines on stderr, one per status, never an escape sequence
    assert.match(done.stderr, /job 7 running \(50%, 31\.5 fps, ETA 3\.0 s\)\njob 7 completed/);
    assert.doesNotMatch(done.stdout + done.stderr, /\x1b/);
    const failed = await run({ status: 'failed', error: 'encoder crashed' });
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /job 7 failed: encoder crashed/);
    assert.equal((await run({ status: 'canceled' })).code, 1);
    assert.equal((await run({ status: 'timed_out' })).code, 1);
  });
});

function ENGINES_OF() {
  return JOB_OPTIONS.find((o) => o.field === 'engine')!.choices;
}

describe('cli errors: one line on stderr and an exit code by class', () => {
  it('API errors print "error <status>: <message>" and map to 2/3/4/5/6/7', async () => {
    const cases: [number, number][] = [[400, 2], [401, 3], [403, 3], [404, 4], [409, 5], [413, 2], [429, 7], [500, 6], [503, 6]];
    for (const [status, code] of cases) {
      const r = await cli(['jobs', 'resume', '7'], () => fail(status, `problem ${status}\nsecond line`));
      assert.equal(r.code, code, `status ${status}`);
      assert.equal(r.stderr, `error ${status}: problem ${status} second line\n`);
      assert.equal(r.stdout, '');
    }
    const odd = await cli(['jobs', 'status', '7'], () => ({ status: 502, body: '<html>bad gateway</html>', headers: {} }));
    assert.equal(odd.code, 6);
    assert.equal(odd.stderr, 'error 502: unexpected answer from http://fake\n');
  });

  it('help and version exit 0; a command group without a command shows its help and exits 2', async () => {
    const help = await cli(['jobs', 'submit', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--scenario <name>/);
    assert.match(help.stdout, /Examples:\n/);
    assert.match(help.stdout, /Exit codes:\n  0  success/);
    assert.match(help.stdout, /Global Options:[\s\S]*--api-key <key>/);
    assert.equal((await cli(['--version'])).code, 0);
    const bare = await cli(['jobs']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /Usage: ffrtmp jobs/);
  });

  it('every command has --help with examples', async () => {
    const commands = [[], ['jobs'], ['jobs', 'submit'], ['jobs', 'status'], ['jobs', 'logs'], ['jobs', 'watch'], ['jobs', 'cancel'], ['jobs', 'pause'], ['jobs', 'resume'], ['jobs', 'retry'], ['nodes'], ['nodes', 'list'], ['nodes', 'show'], ['nodes', 'remove'], ['scenarios', 'list']];
    for (const c of commands) {
      const r = await cli([...c, '--help']);
      assert.equal(r.code, 0, c.join(' '));
      assert.match(r.stdout, /Examples:\n  # .+\n  \$ ffrtmp /, c.join(' '));
    }
  });
});
