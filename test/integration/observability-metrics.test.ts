/**
 * Metrics end to end, with the components the compose stack runs: a real VictoriaMetrics scrapes a
 * real master and a real worker agent (the deploy scrape config's jobs, 1 s interval) while jobs
 * run, get paused, canceled and completed, and a client hits the rate limit. PromQL over its HTTP API then finds
 * the worker's power and attempt counters and the master's jobs by status — and every query of every
 * Grafana dashboard panel is evaluated over the test's time window: the panels the issue names must
 * return data, every other panel data or at least only metric names that exist.
 */
import assert from 'node:assert/strict';
import type { JobView } from '../../domain/job';
import { JOB_STATUSES } from '../../domain/states';
import { startWorker, type WorkerAgent } from '../helpers/cluster';
import { dashboards, expandGrafanaVariables, metricNames } from '../helpers/deploy';
import { ApiClient, OTHER_KEY, startTestMaster, TEST_KEY, type TestMaster } from '../helpers/master';
import { VictoriaMetrics, type PromSeries } from '../helpers/victoria-metrics';
import { waitFor } from '../helpers/wait';

const WORKER_KEY = 'worker-key-0123456789abcdef';

/** Panels that must show data after a paused job and two completed ones (the list). */
const MUST_HAVE_DATA = ['Jobs by status', 'Task queue backlog', 'Encode fps per job', 'Worker CPU', 'Power draw by domain', 'Energy per job'];

describe('observability: metrics in VictoriaMetrics, and every dashboard query', function () {
  this.timeout(300_000);
  let vm: VictoriaMetrics;
  let master: TestMaster;
  let worker: WorkerAgent;
  let api: ApiClient;
  let startedAt: number;
  let paused = '';

  const has = async (expr: string) => ((await vm.query(expr)).length > 0 ? true : undefined);
  const value = (s: PromSeries | undefined) => Number(s?.value?.[1] ?? NaN);
  const untilStatus = (id: string, statuses: string[]) =>
    waitFor<JobView>(`job ${id} to be ${statuses.join('|')}`, async () => {
      const r = await api.get<JobView>(`/jobs/${id}`);
      return r.status === 200 && statuses.includes(r.body.status) ? r.body : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
  /** Requests with the other key until some are refused: the limit allows 20 a second per key. */
  const hitRateLimit = async () => {
    const other = new ApiClient(master.url, OTHER_KEY);
    const statuses = await Promise.all(Array.from({ length: 30 }, () => other.get('/jobs?limit=1').then((r) => r.status)));
    assert.ok(statuses.includes(429), `some were refused: ${statuses.join(',')}`);
  };

  before(async () => {
    startedAt = Date.now();
    // a fixed window of 1 s holding 20 requests per key: the test's own polling stays under it, and
    // the worker heartbeats with a key of its own
    master = await startTestMaster({
      FFMPEG_RTMP_API_KEY: `${TEST_KEY},${OTHER_KEY},${WORKER_KEY}`,
      FFRTMP_RUN_WORKFLOWS: 'true',
      FFRTMP_RATE_LIMIT_DISABLED: 'false',
      FFRTMP_RATE_LIMIT_BURST: '20',
      FFRTMP_RATE_LIMIT_PER_MINUTE: '1200',
    });
    api = master.api;
    worker = await startWorker({ name: 'metrics-worker', env: { FFRTMP_MASTER_URL: master.url, FFMPEG_RTMP_API_KEY: WORKER_KEY } });
    const masterTarget = new URL(master.metricsUrl).host;
    vm = await VictoriaMetrics.start({ 'ffrtmp-master': [masterTarget], 'ffrtmp-worker': [`127.0.0.1:${worker.metricsPort}`] });
    await waitFor('VictoriaMetrics to scrape the master and the worker', async () =>
      (await vm.query('up == 1')).length === 2 ? true : undefined, { timeoutMs: 30_000, intervalMs: 250 });

    // a job long enough to be seen running: paused as soon as it reports its speed, so its fps
    // gauge stays exported (and the encoder costs nothing) until the scrapes have it; then canceled
    const long = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 60 } });
    assert.equal(long.status, 201, long.text);
    paused = long.body.id;
    await waitFor('live fps', async () => {
      const v = (await api.get<JobView>(`/jobs/${paused}`)).body;
      if (v.status === 'completed') throw new Error('the job finished before it could be paused');
      return v.fps !== null ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    assert.equal((await api.post(`/jobs/${paused}/pause`)).status, 200);
    await waitFor('fps of the paused job in VictoriaMetrics', () => has(`ffmpeg_encode_fps{job_id="${paused}"}`), { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor('the master\'s paused count', async () => (value((await vm.query('ffrtmp_jobs{status="paused"}'))[0]) === 1 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });

    // 429s twice, with a scrape between, so the counter's rate is not zero
    await hitRateLimit();
    await waitFor('the rate-limited counter', () => has('ffrtmp_rate_limited_total'), { timeoutMs: 30_000, intervalMs: 250 });
    await hitRateLimit();

    assert.equal((await api.post(`/jobs/${paused}/cancel`)).status, 200);
    // two small jobs, one after the other, with a scrape between: the completed-attempt counter
    // and the duration histogram move within the window, so their rates are not empty
    for (let i = 1; i <= 2; i++) {
      const small = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } });
      assert.equal(small.status, 201, small.text);
      await untilStatus(small.body.id, ['completed']);
      await waitFor(`attempt ${i} and its energy in VictoriaMetrics`, async () =>
        value((await vm.query('sum(ffmpeg_jobs_total{status="completed"})'))[0]) === i && (await has(`ffmpeg_job_energy_joules{job_id="${small.body.id}"}`)) ? true : undefined,
        { timeoutMs: 30_000, intervalMs: 250 });
    }
    await waitFor('the master to count both finished', async () =>
      value((await vm.query('ffrtmp_jobs_finished_total{status="completed"}'))[0]) >= 2 ? true : undefined, { timeoutMs: 30_000, intervalMs: 250 });
  });

  after(async () => {
    await vm?.stop();
    await worker?.stop();
    await master?.stop();
  });

  it('PromQL returns the worker\'s power draw, by domain and source', async () => {
    const power = await vm.query('ffmpeg_power_watts');
    assert.ok(power.length > 0);
    for (const s of power) {
      assert.ok(s.metric.domain && s.metric.source, JSON.stringify(s.metric));
      assert.equal(s.metric.job, 'ffrtmp-worker');
      assert.ok(value(s) >= 0);
    }
  });

  it('PromQL returns the worker\'s attempts by status, engine, codec and encoder', async () => {
    const [completed] = await vm.query('ffmpeg_jobs_total{status="completed"}');
    assert.deepEqual({ engine: completed!.metric.engine, codec: completed!.metric.codec, encoder: completed!.metric.encoder }, { engine: 'ffmpeg', codec: 'h264', encoder: 'libx264' });
    assert.equal(value(completed), 2);
    assert.equal(value((await vm.query('sum(ffmpeg_jobs_total{status="canceled"})'))[0]), 1, 'the canceled attempt');
  });

  it('PromQL returns the master\'s jobs by status — every status, and the paused job while it was paused', async () => {
    const now = await vm.query('ffrtmp_jobs');
    assert.deepEqual(now.map((s) => s.metric.status).sort(), [...JOB_STATUSES].sort());
    const pausedOverTime = await vm.queryRange('max(ffrtmp_jobs{status="paused"})', startedAt, Date.now());
    assert.ok(pausedOverTime[0]!.values!.some(([, v]) => v === '1'), 'the paused job was counted');
    assert.equal(value((await vm.query('ffrtmp_jobs{status="paused"}'))[0]), 0, 'and is not any more');
  });

  it('every Grafana panel\'s query evaluates against these metrics', async () => {
    const stored = new Set(await vm.metricNames());
    const end = Date.now();
    const report: string[] = [];
    for (const { dashboard } of dashboards()) {
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          // the data source's answer over the test's window, as the panel would ask it
          const expr = expandGrafanaVariables(target.expr, '30s');
          const series = await vm.queryRange(expr, startedAt, end);
          const names = metricNames(target.expr);
          assert.ok(names.length > 0, `${panel.title}: no metric in ${target.expr}`);
          const absent = names.filter((n) => !stored.has(n));
          assert.deepEqual(absent, [], `${dashboard.title} / ${panel.title}: ${target.expr} reads metrics that do not exist`);
          const points = series.reduce((n, s) => n + (s.values?.filter(([, v]) => v !== 'NaN').length ?? 0), 0);
          if (MUST_HAVE_DATA.includes(panel.title)) assert.ok(points > 0, `${panel.title}: ${expr} returned no data`);
          report.push(`${points > 0 ? 'data' : 'names only'}  ${dashboard.uid} / ${panel.title} [${target.refId}]`);
        }
      }
    }
    console.log(report.map((l) => `      ${l}`).join('\n'));
    for (const t of MUST_HAVE_DATA) assert.ok(report.some((l) => l.includes(`/ ${t} [`)), `a panel named ${t}`);
  });
});
