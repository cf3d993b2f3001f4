/**
 * The web dashboard as an operator uses it: a real master (running workflows) and a real worker,
 * headless Chromium (Debian's /usr/bin/chromium through playwright-core, a fresh profile). The key
 * form; a node appearing once its worker runs; a job submitted from the page that runs, pauses,
 * resumes and is canceled from its buttons (a refused action shown as a message); the API's field
 * errors next to the fields; energy figures; 200 live rows measured for update lag and frame time;
 * a drain. Screenshots of every page at 1280 and 390 px go to test-artifacts/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { JobView } from '../../domain/job';
import { freePort } from '../../lib/dev-server';
import { REPO_ROOT, startWorker, type WorkerAgent } from '../helpers/cluster';
import { exec } from '../helpers/exec';
import { TEST_KEY, startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const WIDTHS = [1280, 390];
/** The 200 jobs' scenario (and the reconnect test's): names no other test uses, so the table's filter shows exactly them. */
const CROWD_SCENARIO = '360p24-h264';
const RECONNECT_SCENARIO = '360p25-h264';
const MTLS_SCENARIO = '360p23-h264';


describe('dashboard: the master\'s web page in headless Chromium', function () {
  this.timeout(300_000);
  let master: TestMaster;
  let worker: WorkerAgent;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const crowd: string[] = [];
  /** a completed job (the energy test's), for the segments test */
  let energyJob: JobView | undefined;
  /** jobs a test started that may still run when it fails: canceled after it, so the next finds the worker free */
  const started: string[] = [];

  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    profile = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((id) => master.api.post(`/jobs/${id}/cancel`)));
  });

  after(async () => {
    await Promise.all(crowd.map((id) => master.api.post(`/jobs/${id}/cancel`).catch(() => undefined)));
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await worker?.stop();
    await master?.stop();
  });

  const open = async (hash: string, heading: string | RegExp): Promise<void> => {
    await page.goto(`${master.url}/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  /** The page at each width, full length; at no width does the page itself scroll sideways (tables scroll in their box). */
  const shoot = async (name: string): Promise<void> => {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      if (overflow > 0) {
        // the widest elements that stick out, to say what to fix
        const wide = await page.evaluate<string[]>(`[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width))`);
        assert.fail(`${name} at ${width} px scrolls sideways by ${overflow} px: ${wide.join(', ')}`);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  };

  const figure = async (): Promise<number> => page.locator('progress[aria-label="Progress"]').evaluate((el) => (el as unknown as { value: number }).value);
  const badge = async (): Promise<string> => (await page.locator('h1 .badge').textContent()) ?? '';

  it('is served by the master outside the API: no key, not in the document; the API still answers JSON errors', async () => {
    const index = await fetch(`${master.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await index.text(), /<script type="module" src="\/ui\/main\.js">/);
    const script = await fetch(`${master.url}/ui/main.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);

    const json = async (method: string, url: string, key?: string) => {
      const res = await fetch(master.url + url, { method, headers: key ? { 'X-API-Key': key } : {} });
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${method} ${url}`);
      return { status: res.status, body: (await res.json()) as { error: string; status: number } };
    };
    assert.deepEqual(await json('GET', '/ui/missing.js'), { status: 404, body: { error: 'no such route: GET /ui/missing.js', status: 404 } });
    assert.equal((await json('GET', '/nope')).body.status, 404);
    assert.equal((await json('POST', '/')).status, 404);
    assert.equal((await json('GET', '/jobs')).status, 401);
    assert.equal((await json('DELETE', '/jobs', TEST_KEY)).status, 405);
    const doc = (await master.api.get<{ paths: Record<string, unknown> }>('/openapi.json')).body;
    assert.deepEqual(Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/ui')), [], 'the document lists API routes only');
  });

  it('asks for the API key once, refuses a wrong one, and keeps the right one for the browser session', async () => {
    await page.goto(`${master.url}/`);
    const key = page.getByLabel('API key');
    await key.waitFor();
    await shoot('sign-in');
    await key.fill('not-the-key');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused this API key' }).waitFor();
    await page.getByLabel('API key').fill(TEST_KEY);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('ffrtmp.api-key')"), TEST_KEY);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    assert.equal(await page.getByLabel('API key').count(), 0, 'no form again in the same session');
  });

  it('shows a node on the Nodes page once its worker runs', async () => {
    await open('#/nodes', 'Nodes');
    await page.locator('.table-wrap > *').first().waitFor();
    assert.equal(await page.getByText('dashboard-worker', { exact: true }).count(), 0, 'no such node before the worker starts');
    // linked to this master: it registers and heartbeats (every second) there
    worker = await startWorker({ name: 'dashboard-worker', env: { FFRTMP_MASTER_URL: master.url, FFMPEG_RTMP_API_KEY: TEST_KEY, FFRTMP_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    const row = page.locator(`tr[data-node-id="${worker.nodeId}"]`);
    await row.waitFor();
    await waitFor('the node\'s status and a heartbeat', async () => /online|busy/.test(await row.innerText()) && !/never/.test(await row.innerText()));
    const text = await row.innerText();
    assert.match(text, /dashboard-worker/);
    assert.match(text, /cpu/, 'its capabilities');
    assert.match(text, /\d+ threads/);
    // its power and what measures it (no sensor here: an estimate, labelled so)
    await waitFor('the node\'s power and its source', async () => / W · estimate/.test(await row.innerText()));
    await shoot('nodes');
  });

  it('runs a job submitted from the page: the bar moves, pause freezes it, resume moves it, cancel ends it', async () => {
    await open('#/submit', 'Submit a job');
    await page.getByLabel('Scenario', { exact: true }).fill('720p30-h264');
    await page.getByLabel('Duration', { exact: true }).fill('120');
    await page.getByLabel('Preset', { exact: true }).selectOption('medium');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    started.push(id);
    await page.getByRole('heading', { level: 1, name: /Job #\d+ · 720p30-h264/ }).waitFor();

    const first = await waitFor('the bar to move', async () => ((await figure()) > 0 ? figure() : undefined), { timeoutMs: 60_000 });
    await waitFor('the bar to move on', async () => (await figure()) > first, { timeoutMs: 30_000 });
    await waitFor('fps/progress points in the chart', async () => (await page.locator('svg.chart polyline').count()) === 2);
    assert.match(await page.locator('pre.command').innerText(), /ffmpeg .*libx264/, 'the command line, from the logs');
    await shoot('job');

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await waitFor('paused', async () => (await badge()) === 'paused');
    await page.getByRole('status').filter({ hasText: 'the job is paused' }).waitFor();
    const progressOf = async () => (await master.api.get<{ progress_percent: number }>(`/jobs/${id}`)).body.progress_percent;
    // the stream's last events of the pause may still be on their way, and a read just after a pause
    // may lack the encoder's figures (progress 0): the page caught up when it shows what the API says
    const apiBefore = await waitFor('the page to show the paused figure', async () => {
      const p = await progressOf();
      return p > 0 && (await figure()) === p ? p : undefined;
    });
    const frozen = await figure();
    await new Promise((r) => setTimeout(r, 2_000)); // an observation window, not synchronisation
    assert.equal(await figure(), frozen, 'the bar stands still while paused');
    assert.equal(await progressOf(), apiBefore, 'and so does the job');

    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await waitFor('running again', async () => (await badge()) === 'running');
    await waitFor('the bar to move after resume', async () => (await figure()) > frozen, { timeoutMs: 30_000 });

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await waitFor('canceled', async () => (await badge()) === 'canceled');
    const timeline = await page.locator('ol.timeline').innerText();
    assert.deepEqual([...timeline.matchAll(/→ (\w+)/g)].map((m) => m[1]), ['assigned', 'running', 'paused', 'running', 'canceled']);
    assert.equal((await master.api.get<JobView>(`/jobs/${id}`)).body.status, 'canceled');

    // the state machine refuses: a message, not a failure
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    const refusal = await master.api.post<{ error: string }>(`/jobs/${id}/resume`);
    assert.equal(refusal.status, 409);
    await page.getByRole('status').filter({ hasText: `Not now: ${refusal.body.error}` }).waitFor();
    assert.equal(await page.locator('.messages [role="alert"]').count(), 0);
  });

  it('shows the API\'s 400 message next to each field it names', async () => {
    await open('#/submit', 'Submit a job');
    await page.getByLabel('Scenario', { exact: true }).fill('240p30-h264');
    await page.getByLabel('Duration', { exact: true }).fill('0');
    await page.getByLabel('Bitrate', { exact: true }).fill('fast');
    await page.getByRole('button', { name: 'Submit job' }).click();
    const api = await master.api.post<{ error: string }>('/jobs', { scenario: '240p30-h264', parameters: { duration: 0, bitrate: 'fast' } });
    assert.equal(api.status, 400);
    for (const field of ['duration', 'bitrate']) {
      const error = page.locator(`[data-error-for="parameters.${field}"]`);
      await waitFor(`the error beside ${field}`, async () => ((await error.textContent()) ?? '') !== '');
      const shown = (await error.textContent())!;
      assert.ok(api.body.error.includes(`parameters.${field}: ${shown}`), `"${shown}" is the API's word on ${field}: ${api.body.error}`);
      assert.equal(await page.locator(`#f-parameters-${field}`).getAttribute('aria-invalid'), 'true');
    }
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'f-parameters-duration', 'focus on the first field named');
    assert.match(page.url(), /#\/submit$/, 'nothing submitted');
    await shoot('submit');
  });

  it('shows a completed job\'s energy on the Energy page', async () => {
    const created = (await master.api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } })).body;
    const done = await waitFor('the job to complete', async () => {
      const v = (await master.api.get<JobView>(`/jobs/${created.id}`)).body;
      if (v.status === 'failed') throw new Error(`the job failed: ${v.error}`);
      return v.status === 'completed' ? v : undefined;
    }, { timeoutMs: 60_000 });
    assert.ok(done.energy_joules !== null && done.avg_power_watts !== null, 'the job has energy figures');
    await open('#/energy', 'Energy');
    const row = page.locator('table.energy tbody tr').filter({ has: page.getByRole('link', { name: `#${done.sequence_number}`, exact: true }) });
    await row.waitFor();
    const text = await row.innerText();
    assert.ok(text.includes(`${done.energy_joules.toFixed(1)} J`), `energy ${done.energy_joules} J in: ${text}`);
    assert.ok(text.includes(`${done.avg_power_watts.toFixed(1)} W`), `power ${done.avg_power_watts} W in: ${text}`);
    // power by node: the page samples the worker's heartbeat figure (GET /nodes) and draws it
    const watts = (await master.api.get<{ load: { power_watts: number | null } | null }>(`/nodes/${worker.nodeId}`)).body.load?.power_watts;
    assert.ok(typeof watts === 'number', 'the worker reports its power');
    await page.locator('.power-chart ul.legend li', { hasText: 'dashboard-worker' }).waitFor();
    assert.ok((await page.locator('.power-chart svg.chart polyline').count()) >= 1, 'a line per node that reports power');
    await shoot('energy');
    // a page opened just now draws the node's last hour at once: its minute points from the master, then the page's first sample
    const history = async () => (await master.api.get<{ power_history?: unknown[] }>(`/nodes/${worker.nodeId}`)).body.power_history?.length ?? 0;
    const before = await history();
    assert.ok(before >= 1, 'the node keeps its power history');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Energy' }).waitFor();
    // the heading is there before the chart: wait for the chart's first drawing, not the page
    await page.locator('.power-chart ul.legend li', { hasText: 'dashboard-worker' }).waitFor();
    const names = await page.locator('.power-chart ul.legend li').allTextContents();
    const line = page.locator('.power-chart svg.chart polyline').nth(names.indexOf('dashboard-worker'));
    const points = ((await line.getAttribute('points')) ?? '').trim().split(/\s+/).length;
    const after = await history();
    assert.ok(points >= before + 1 && points <= after + 1, `the history's ${before}–${after} points and one sample, right after opening: ${points}`);
    energyJob = done;
  });

  it('shows a split job\'s segments on its page (a view with segments fed to the page), and no segments section for a job that has none', async () => {
    assert.ok(energyJob, 'the energy test\'s completed job');
    await open(`#/jobs/${energyJob.id}`, new RegExp(`Job #${energyJob.sequence_number}`));
    await page.locator('ol.timeline li').first().waitFor();
    assert.equal(await page.locator('section[aria-label="Segments"]').isHidden(), true, 'not split: no segments');
    // a job that ran before its page was opened: the chart draws its run from the view's progress_history
    const history = energyJob.progress_history;
    assert.ok(history && history.points.length >= 2, `the completed attempt's history: ${JSON.stringify(history)}`);
    const lines = page.locator('svg.chart polyline');
    await waitFor('progress and fps lines', async () => (await lines.count()) === 2);
    const drawn = ((await lines.first().getAttribute('points')) ?? '').trim().split(/\s+/).length;
    assert.equal(drawn, history.points.length, 'a point of progress per point of the history');

    const segments = [
      { index: 0, start_seconds: 0, duration_seconds: 4, status: 'completed', node_id: worker.nodeId, attempts: 1, fps: 212.5, progress: 100 },
      { index: 2, start_seconds: 8, duration_seconds: 3.5, status: 'queued', node_id: null, attempts: 0, fps: null, progress: 0 },
      { index: 1, start_seconds: 4, duration_seconds: 4, status: 'running', node_id: 'other-node-9091', attempts: 2, fps: 48.25, progress: 37.5 },
    ];
    const url = `**/jobs/${energyJob.id}`;
    await page.route(url, async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, json: { ...((await res.json()) as object), segments } });
    });
    try {
      await page.reload(); // the same address: read the job again
      await page.getByRole('heading', { level: 1, name: new RegExp(`Job #${energyJob.sequence_number}`) }).waitFor();
      const rows = page.locator('table.segments tbody tr');
      await waitFor('three segment rows', async () => (await rows.count()) === 3);
      assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-segment'))), ['0', '1', '2'], 'in input order');
      const cells = async (i: number) => (await rows.nth(i).locator('td').allInnerTexts()).map((t) => t.trim());
      assert.deepEqual(await cells(1), ['1', '4s', '4s', 'running', '37.5%', '48.3', 'other-node-9091', '2']);
      assert.deepEqual(await cells(2), ['2', '8s', '4s', 'queued', '0.0%', '—', '—', '0']);
      assert.equal(await rows.nth(0).locator('progress').getAttribute('aria-label'), 'Segment 0 progress');
      assert.match((await page.locator('table.segments caption').textContent()) ?? '', /3 segments, 1 completed/);
      await shoot('job-segments');
    } finally {
      await page.unroute(url);
    }
  });

  it('keeps 200 live rows current: each event reaches its row within a frame or so, frames stay short; a running job on the next page is live too', async () => {
    // an older job of the same scenario that runs: behind the 200, on the table's second page
    const long = await master.api.post<JobView>('/jobs', { scenario: CROWD_SCENARIO, parameters: { duration: 600, preset: 'medium' } });
    assert.equal(long.status, 201, long.text);
    started.push(long.body.id);
    await waitFor('the older job to run', async () => ((await master.api.get<{ progress_percent: number }>(`/jobs/${long.body.id}`)).body.progress_percent > 0 ? true : undefined), { timeoutMs: 60_000 });
    const batch = await master.api.post<{ jobs: JobView[] }>('/jobs/batch', { jobs: Array.from({ length: 200 }, () => ({ scenario: CROWD_SCENARIO, queue: 'batch', parameters: { hardware: 'required', duration: 1 } })) });
    assert.equal(batch.status, 201, batch.text);
    crowd.push(...batch.body.jobs.map((j) => j.id));
    // visibility indexes new runs a moment after they start: the first page holds the 200 once it
    // lists every one of them (before that, older jobs of the scenario fill it up)
    const listed = async () => new Set((await master.api.get<{ jobs: { id: string }[] }>(`/jobs?scenario=${CROWD_SCENARIO}&limit=200`)).body.jobs.map((j) => j.id));
    await waitFor('all 200 listed', async () => {
      const ids = await listed();
      return crowd.every((id) => ids.has(id));
    });

    await open(`#/jobs?scenario=${CROWD_SCENARIO}&limit=200`, 'Jobs');
    const rows = page.locator('tbody tr[data-job-id]');
    await waitFor('200 rows', async () => (await rows.count()) === 200);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    assert.equal(await page.locator('tbody .badge', { hasText: 'queued' }).count(), 200);
    await shoot('jobs');

    // the next page: its stream is that page's, so its running job's bar moves (the first page's stream never carried it)
    await page.getByRole('link', { name: 'Next page' }).click();
    const longRow = page.locator(`tr[data-job-id="${long.body.id}"]`);
    await longRow.waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    const bar = () => longRow.locator('progress').evaluate((el) => (el as unknown as { value: number }).value);
    const moved = await waitFor('its bar to show progress', async () => ((await bar()) > 0 ? bar() : undefined), { timeoutMs: 30_000 });
    await waitFor('and to move on', async () => (await bar()) > moved, { timeoutMs: 30_000 });
    assert.notEqual(await longRow.locator('td.num').first().textContent(), '—', 'its fps, from the stream');
    await master.api.post(`/jobs/${long.body.id}/cancel`);
    await open(`#/jobs?scenario=${CROWD_SCENARIO}&limit=200`, 'Jobs');
    await waitFor('200 rows again', async () => (await rows.count()) === 200);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    // where each column and the first row's cells sit: the same after every row changed (no layout jump)
    const layout = () => page.evaluate<string>(`JSON.stringify([...document.querySelectorAll('table.jobs th, table.jobs tbody tr:first-child td')].map((e) => { const r = e.getBoundingClientRect(); return [r.x, r.width, r.height]; }))`);
    const before = await layout();
    // every frame's time while the 200 change, and every row update's lag, from the page's own measures
    await page.evaluate(`
      performance.clearMeasures('ffrtmp:row-update');
      window.frameTimes = [];
      const tick = (t) => { window.frameTimes.push(t); requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    `);
    for (let i = 0; i < crowd.length; i += 20) await Promise.all(crowd.slice(i, i + 20).map((id) => master.api.post(`/jobs/${id}/cancel`)));
    await waitFor('all 200 rows canceled', async () => (await page.locator('tbody .badge', { hasText: 'canceled' }).count()) === 200, { timeoutMs: 60_000 });

    assert.equal(await layout(), before, 'the columns and the row did not move');
    const { lags, frames } = await page.evaluate<{ lags: number[]; frames: number[] }>(`({
      lags: performance.getEntriesByName('ffrtmp:row-update').map((e) => e.duration),
      frames: window.frameTimes.slice(1).map((t, i) => t - window.frameTimes[i]),
    })`);
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
    console.log(`      200 rows: ${lags.length} row updates, lag p50 ${p(lags, 0.5).toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms; ${frames.length} frames, p95 ${p(frames, 0.95).toFixed(1)} ms, max ${Math.max(...frames).toFixed(1)} ms`);
    assert.ok(lags.length >= 200, `every row was updated from its event (${lags.length} measured updates)`);
    assert.ok(Math.max(...lags) < 500, `an event reaches its row within 500 ms (max ${Math.max(...lags).toFixed(1)} ms)`);
    assert.ok(p(frames, 0.95) < 100, `95% of frames under 100 ms (p95 ${p(frames, 0.95).toFixed(1)} ms)`);
    assert.ok(Math.max(...frames) < 1_000, `no frame over 1 s (max ${Math.max(...frames).toFixed(1)} ms)`);
    crowd.length = 0;
  });

  it('reconnects its event stream when the master restarts, with Last-Event-ID, and goes on updating', async () => {
    // a master of its own, on a port that outlives it
    const port = String(await freePort());
    let other = await startTestMaster({ FFRTMP_API_PORT: port });
    try {
      await page.goto(`${other.url}/#/jobs?scenario=${RECONNECT_SCENARIO}`);
      await page.getByLabel('API key').fill(TEST_KEY); // another origin: another session
      await page.getByRole('button', { name: 'Open the dashboard' }).click();
      const live = page.getByRole('status').filter({ hasText: 'Live' });
      await live.waitFor();
      // a job created while the page listens: its first event (with an id) brings it into the table
      const job = (await master.api.post<JobView>('/jobs', { scenario: RECONNECT_SCENARIO, parameters: { hardware: 'required', duration: 1 } })).body;
      started.push(job.id);
      const row = page.locator(`tr[data-job-id="${job.id}"]`);
      await row.locator('.badge', { hasText: 'queued' }).waitFor();

      const reconnects: (string | undefined)[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/events') reconnects.push(r.headers()['last-event-id']);
      });
      await other.stop();
      await page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor();
      other = await startTestMaster({ FFRTMP_API_PORT: port });
      await live.waitFor({ timeout: 30_000 });
      assert.ok(reconnects.length > 0 && reconnects.every((id) => id !== undefined), `every reconnect names the last event it had: ${JSON.stringify(reconnects)}`);

      await master.api.post(`/jobs/${job.id}/cancel`);
      await row.locator('.badge', { hasText: 'canceled' }).waitFor();
    } finally {
      await other.stop();
    }
  });

  it('works behind mutual TLS: with its client certificate Chromium loads the page, lists jobs and follows the stream, no key asked; without it, the key form and 401s', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-dash-mtls-'));
    const tlsBrowser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    let tls: TestMaster | undefined;
    try {
      const made = await exec(path.join(REPO_ROOT, 'scripts', 'generate-certs.sh'), ['--out', dir, '--names', 'localhost', '--ips', '127.0.0.1']);
      assert.equal(made.code, 0, made.stderr);
      // a master of its own over HTTPS that asks for client certificates (workflows run on the suite's master)
      tls = await startTestMaster({ FFRTMP_TLS_CERT: path.join(dir, 'master.crt'), FFRTMP_TLS_KEY: path.join(dir, 'master.key'), FFRTMP_TLS_CLIENT_CA: path.join(dir, 'ca.crt') });
      assert.match(tls.url, /^https:/);
      // the browser does not know the private CA (ignoreHTTPSErrors); what is tested is the client side
      const withCert = await tlsBrowser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, clientCertificates: [{ origin: tls.url, certPath: path.join(dir, 'client.crt'), keyPath: path.join(dir, 'client.key') }] });
      const p = await withCert.newPage();
      p.setDefaultTimeout(30_000);
      await p.goto(`${tls.url}/#/jobs?scenario=${MTLS_SCENARIO}`);
      await p.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
      assert.equal(await p.getByLabel('API key').count(), 0, 'no key asked: the certificate authenticates');
      assert.equal(await p.evaluate<string | null>("sessionStorage.getItem('ffrtmp.api-key')"), null);
      const live = p.getByRole('status').filter({ hasText: 'Live' });
      await live.waitFor();
      const job = (await master.api.post<JobView>('/jobs', { scenario: MTLS_SCENARIO, parameters: { hardware: 'required', duration: 1 } })).body;
      started.push(job.id);
      const row = p.locator(`tr[data-job-id="${job.id}"]`);
      await row.locator('.badge', { hasText: 'queued' }).waitFor();
      await master.api.post(`/jobs/${job.id}/cancel`);
      await row.locator('.badge', { hasText: 'canceled' }).waitFor();
      await p.goto(`${tls.url}/#/jobs/${job.id}`);
      await p.getByRole('heading', { level: 1, name: new RegExp(`Job #${job.sequence_number}`) }).waitFor();

      const without = await tlsBrowser.newContext({ ignoreHTTPSErrors: true });
      const q = await without.newPage();
      q.setDefaultTimeout(30_000);
      await q.goto(`${tls.url}/#/jobs`);
      await q.getByLabel('API key').waitFor();
      assert.equal(await q.getByRole('heading', { level: 1, name: 'Jobs' }).count(), 0, 'no jobs without the certificate (or a key)');
      assert.equal(await q.evaluate<number>("fetch('/jobs').then((r) => r.status)"), 401);
      assert.equal(await q.evaluate<number>("fetch('/events').then((r) => r.status)"), 401);
    } finally {
      await tlsBrowser.close();
      await tls?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drains a node from the Nodes page', async () => {
    await open('#/nodes', 'Nodes');
    await page.getByRole('button', { name: 'Drain dashboard-worker' }).click();
    await page.getByRole('status').filter({ hasText: 'dashboard-worker is draining' }).waitFor();
    const node = await waitFor('the registry to say draining', async () => {
      const n = (await master.api.get<{ status: string; drain_requested: boolean }>(`/nodes/${worker.nodeId}`)).body;
      return n.drain_requested ? n : undefined;
    });
    assert.ok(['draining', 'drained'].includes(node.status), node.status);
    await waitFor('the row to say so', async () => /draining|drained/.test(await page.locator(`tr[data-node-id="${worker.nodeId}"]`).innerText()));
  });
});
