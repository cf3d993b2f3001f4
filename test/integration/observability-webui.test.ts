/**
 * The Temporal Web UI as an operator uses it: headless Chromium (Debian's /usr/bin/chromium driven
 * by playwright-core, a fresh profile) opens the test run's Temporal UI, finds a finished job's
 * workflow by its job id (and by its search attributes), opens it, sees its status, and reads the
 * job's search attributes on their tab. Screenshots go to test-artifacts/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { jobWorkflowId, type JobView } from '../../domain/job';
import { REPO_ROOT, cluster, jobService, startWorker, type WorkerAgent } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

describe('observability: a job in the Temporal Web UI (headless Chromium)', function () {
  this.timeout(180_000);
  let worker: WorkerAgent;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  let job: JobView;
  let uiUrl: string;

  before(async () => {
    const { server } = await cluster();
    assert.ok(server.uiUrl, 'the test run\'s dev server serves its Web UI');
    uiUrl = server.uiUrl;
    worker = await startWorker({ name: 'webui-worker' });
    const jobs = await jobService();
    const created = await jobs.create({ scenario: '240p30-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters: { duration: 1 } });
    job = await waitFor('the job to complete', async () => {
      const v = await jobs.get(created.id);
      if (v.status === 'failed') throw new Error(`the job failed: ${v.error}`);
      return v.status === 'completed' ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });

    profile = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1400, height: 1000 } });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await worker?.stop();
  });

  /** The workflow list filtered by a visibility query, as the UI's own links carry it. */
  async function listRows(query: string): Promise<string> {
    await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const row = page.getByRole('link', { name: jobWorkflowId(job.id), exact: true });
    await row.first().waitFor({ state: 'visible' });
    return page.innerText('main');
  }

  it('finds the job\'s workflow by its job id, and by its search attributes', async () => {
    const byId = await listRows(`WorkflowId = "${jobWorkflowId(job.id)}"`);
    assert.match(byId, /1 COMPLETED/i, 'one completed workflow matches the job id');
    assert.match(byId, new RegExp(`COMPLETED\\s+${jobWorkflowId(job.id)}`), 'its row shows the status');
    assert.ok(byId.includes('transcodeJob'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'webui-workflow-list.png') });

    // the custom search attributes are queryable from the UI
    const bySa = await listRows(`JobStatus = "completed" AND JobScenario = "240p30-h264" AND JobSeq = ${job.sequence_number} AND JobNode = "${worker.nodeId}"`);
    assert.ok(bySa.includes(jobWorkflowId(job.id)));
  });

  it('opens the workflow, shows its status, and lists the job\'s search attributes', async () => {
    await listRows(`WorkflowId = "${jobWorkflowId(job.id)}"`);
    await page.getByRole('link', { name: jobWorkflowId(job.id), exact: true }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${jobWorkflowId(job.id)}/`));
    const heading = page.getByRole('heading', { name: new RegExp(jobWorkflowId(job.id)) });
    await heading.waitFor({ state: 'visible' });
    const header = await page.innerText('main');
    assert.match(header, new RegExp(`COMPLETED\\s+${jobWorkflowId(job.id)}`), 'the status badge beside the workflow id');
    assert.match(header, /transcodeJob/);
    assert.match(header, /ffrtmp-orchestration/);

    await page.getByText('Search Attributes', { exact: true }).first().click();
    await page.waitForURL(/\/search-attributes$/);
    await page.getByText('"JobStatus"').first().waitFor({ state: 'visible' });
    const text = await page.innerText('main');
    const expected: Record<string, string | number> = {
      JobStatus: 'completed',
      JobScenario: '240p30-h264',
      JobQueue: 'default',
      JobPriority: 'medium',
      JobEngine: 'ffmpeg',
      JobCapability: 'cpu',
      JobNode: worker.nodeId,
      JobSeq: job.sequence_number,
      JobRetryCount: 0,
    };
    for (const [name, value] of Object.entries(expected)) {
      assert.ok(text.includes(`"${name}": ${JSON.stringify(value)}`), `the UI shows ${name}: ${JSON.stringify(value)}\n${text.slice(0, 2000)}`);
    }
    const file = path.join(ARTIFACTS, 'webui-job-search-attributes.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`      screenshots: ${path.relative(REPO_ROOT, ARTIFACTS)}/webui-workflow-list.png, ${path.relative(REPO_ROOT, file)}`);
  });
});
