/**
 * The versioning rule, live: a job started by workflow code from before a patched change (its
 * patches answered "no"), whose worker is then replaced by one with this code, completes on the
 * path it started on — no patch marker, no staged output, no publish step — while new jobs take
 * the patched path. The replay test covers the same for recorded histories of older commits.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createWebhookHandOffActivities } from '../../activities/webhook-handoff';
import { jobWorkflowId } from '../../domain/job';
import { workflowBundlePath } from '../../workers/bundle-path';
import { waitFor } from '../helpers/wait';
import { REPO_ROOT, harness, request, startJob, until, type Harness } from './harness';

const QUEUE = 'ffrtmp-versioning-test';

describe('versioning: a job started before a patched change completes after it', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async function () {
    this.timeout(90_000);
    h = await harness();
  });

  async function worker(bundle: { code: string } | { codePath: string }): Promise<{ stop(): Promise<void> }> {
    const w = await Worker.create({
      connection: h.native,
      namespace: 'default',
      taskQueue: QUEUE,
      workflowBundle: bundle,
      activities: { liveCapabilities: async () => h.world.live, handOffJobEvents: createWebhookHandOffActivities().handOffJobEvents },
      shutdownGraceTime: '1s',
    });
    const running = w.run();
    await waitFor('worker running', () => w.getState() === 'RUNNING' || undefined, { timeoutMs: 20_000, intervalMs: 20 });
    return {
      async stop() {
        w.shutdown();
        await running;
      },
    };
  }

  it('runs the old path to the end on the new code; a new job takes the new path', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(REPO_ROOT, 'dist', 'workflows', 'index.js'),
      workflowInterceptorModules: [path.join(REPO_ROOT, 'dist', 'workflows', 'log-context.js')],
      webpackConfigHook: (config) => {
        config.resolve = { ...config.resolve, alias: { ...(config.resolve?.alias as object), '@temporalio/workflow$': path.join(__dirname, 'unpatched.js') } };
        return config;
      },
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    const old = await worker({ code });
    const id = await startJob(h, request(), [{ kind: 'until-released' }], {}, QUEUE);
    await until(h, id, (v) => v.status === 'running', 'running on the old code');
    await old.stop();

    const current = await worker({ codePath: workflowBundlePath() });
    try {
      h.world.released.add(id);
      const v = await until(h, id, (x) => x.status === 'completed', 'completed on the new code');
      assert.equal(v.attempts.length, 1);
      const sent = h.world.requests.filter((r) => r.jobId === id);
      assert.ok(sent.length === 1 && sent[0]!.stage === undefined, 'the encode was asked the old way (no staged output)');
      assert.ok(!h.world.published.some((p) => p.startsWith(id)), 'no publish step for it');
      const history = await h.client.workflow.getHandle(jobWorkflowId(id)).fetchHistory();
      const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
      assert.equal(markers.length, 0, 'no patch marker in its history');

      // a job started now takes the patched path
      const fresh = await startJob(h, request(), [{ kind: 'complete' }], {}, QUEUE);
      await until(h, fresh, (x) => x.status === 'completed', 'a new job completed');
      assert.equal(h.world.requests.find((r) => r.jobId === fresh)?.stage, true);
      assert.ok(h.world.published.includes(`${fresh}#1`));
    } finally {
      await current.stop();
    }
  });
});
