/**
 * Webhooks end to end (issue 15): a real master, worker and Temporal, real jobs, and a real HTTP
 * receiver that verifies every signature with the Standard Webhooks reference library. Short
 * retry backoffs and attempt timeouts come from the master's settings.
 */
import assert from 'node:assert/strict';
import type { JobView } from '../../domain/job';
import { WEBHOOK_REGISTRY_WORKFLOW_ID, webhookDeliveriesWorkflowId, type DeliveryRecord } from '../../domain/webhooks';
import { freePort } from '../../lib/dev-server';
import { ffrtmp } from '../helpers/cli';
import { cluster, restartTemporal, startWorker, type WorkerAgent } from '../helpers/cluster';
import { jobStatus } from '../helpers/jobs';
import { TEST_KEY, spawnMaster, startTestMaster, type ApiClient, type MasterProcess, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';
import { WebhookReceiver, firstArrivals } from '../helpers/webhook-receiver';

const WEBHOOK_ENV = {
  FFRTMP_RUN_WORKFLOWS: 'true',
  FFRTMP_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
  FFRTMP_WEBHOOK_RETRY_BACKOFF_SECONDS: '0.3',
  FFRTMP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS: '1',
  FFRTMP_WEBHOOK_TIMEOUT_SECONDS: '1',
};
const SHORT_JOB = { scenario: '240p30-h264', parameters: { duration: 1, audio: false } };

async function subscribe(api: ApiClient, receiver: WebhookReceiver, path: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await api.post<{ id: string; secret: string }>('/webhooks', { url: receiver.url(path), ...body });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  receiver.secret(path, r.body.secret);
  return r.body.id;
}

async function deliveriesOf(api: ApiClient, jobId: string, target?: string): Promise<DeliveryRecord[]> {
  const r = await api.get<{ deliveries: DeliveryRecord[] }>(`/jobs/${jobId}/webhooks`);
  assert.equal(r.status, 200, r.text);
  return r.body.deliveries.filter((d) => target === undefined || d.target === target);
}

/** Every string and payload (decoded as UTF-8) of a history, joined: what anyone reading it sees. */
function textOf(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map(textOf).join('\n');
  if (v && typeof v === 'object') return Object.values(v).map(textOf).join('\n');
  return String(v);
}

const typesOf = (v: JobView) => v.state_transitions.map((t) => `job.${t.to}`);

describe('webhooks: durable, signed job notifications', function () {
  this.timeout(180_000);
  const receiver = new WebhookReceiver();
  let worker: WorkerAgent;
  before(async () => {
    await receiver.start();
    worker = await startWorker({ name: 'webhook-worker', runWorkflows: false });
  });
  after(async () => {
    await worker?.stop();
    await receiver.stop();
  });

  describe('with one master', () => {
    let master: TestMaster;
    const subs: string[] = [];
    before(async () => {
      master = await startTestMaster(WEBHOOK_ENV);
    });
    after(async () => {
      for (const id of subs) await master.api.delete(`/webhooks/${id}`);
      await master?.stop();
    });

    it('refuses loopback, private and link-local URLs unless the host is allowed; the secret is shown once', async () => {
      for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data', `http://localhost:${receiver.port}/x`, 'http://192.168.0.10:8080/']) {
        const r = await master.api.post('/webhooks', { url });
        assert.equal(r.status, 422, `${url}: ${r.text}`);
        assert.equal(r.body.status, 422);
        assert.match(r.body.error, /resolves to (10\.1\.2\.3|169\.254\.169\.254|127\.0\.0\.1|::1|192\.168\.0\.10), a loopback, private or link-local address/);
      }
      const job = await master.api.post('/jobs', { ...SHORT_JOB, parameters: { ...SHORT_JOB.parameters, webhook_url: 'http://172.16.5.5/hook' } });
      assert.equal(job.status, 422, job.text);
      assert.match(job.body.error, /^parameters\.webhook_url: 172\.16\.5\.5 resolves to 172\.16\.5\.5/);

      // 127.0.0.1 is listed for the tests' receiver: allowed
      receiver.route('/all');
      const id = await subscribe(master.api, receiver, '/all', { description: 'every event' });
      subs.push(id);
      const one = await master.api.get(`/webhooks/${id}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.url, receiver.url('/all'));
      assert.deepEqual(one.body.events, ['*']);
      const list = await master.api.get('/webhooks');
      assert.ok(list.body.webhooks.some((w: { id: string }) => w.id === id));
      for (const text of [one.text, list.text]) assert.doesNotMatch(text, /whsec_|"secret"/);
    });

    it("every event of a job's life arrives once, in order, signed; job.completed carries the result; the job's own webhook_url too", async () => {
      receiver.route('/own');
      const created = await master.api.post<JobView>('/jobs', { ...SHORT_JOB, parameters: { ...SHORT_JOB.parameters, webhook_url: receiver.url('/own') } });
      assert.equal(created.status, 201, created.text);
      const secret = created.headers.get('webhook-secret');
      assert.match(secret ?? '', /^whsec_/);
      receiver.secret('/own', secret!);
      const job = await jobStatus(master.api, created.body.id, ['completed'], 90_000);

      const expected = typesOf(job);
      assert.deepEqual(expected.slice(0, 1), ['job.queued']);
      assert.equal(expected.at(-1), 'job.completed');
      for (const path of ['/all', '/own']) {
        await waitFor(`${path}: job.completed`, () => receiver.at(path, job.id).some((r) => r.type === 'job.completed' && r.answer === 200), { timeoutMs: 30_000 });
        const got = receiver.at(path, job.id);
        assert.ok(got.every((r) => r.verified), `${path}: every delivery verifies`);
        const first = firstArrivals(got.filter((r) => r.answer === 200));
        assert.deepEqual(first.map((r) => r.type), expected, `${path}: each event once, in the job's order`);
        assert.deepEqual(first.map((r) => r.id), expected.map((_t, i) => `msg_${job.id}_${i}`));
        const done = first.at(-1)!.body;
        assert.equal(done.data.status, 'completed');
        assert.ok(done.data.output?.path, 'the output');
        assert.ok(typeof done.data.energy_joules === 'number' && done.data.power_source, 'the energy figures');
        assert.ok(done.data.verification?.passed, 'the quality checks');
        assert.equal(done.timestamp, job.state_transitions.at(-1)!.at);
      }
      const deliveries = await waitFor('deliveries recorded', async () => {
        const d = await deliveriesOf(master.api, job.id);
        return d.length === expected.length * 2 && d.every((x) => x.status === 'delivered') ? d : undefined;
      });
      for (const d of deliveries) {
        assert.equal(d.attempts.at(-1)!.status_code, 200);
        assert.ok(typeof d.attempts.at(-1)!.latency_ms === 'number');
        assert.equal(d.error, null);
      }
      const bySub = await master.api.get<{ deliveries: DeliveryRecord[] }>(`/webhooks/${subs[0]}/deliveries`);
      assert.equal(bySub.status, 200, bySub.text);
      assert.equal(bySub.body.deliveries.filter((d) => d.job_id === job.id).length, expected.length);

      // no secret in Temporal: not in the registry's history, nor in the job's or its deliveries' (memo and search attributes included)
      const { client } = await cluster();
      for (const wf of [WEBHOOK_REGISTRY_WORKFLOW_ID, webhookDeliveriesWorkflowId(job.id), `job-${job.id}`]) {
        const history = textOf(await client.workflow.getHandle(wf).fetchHistory());
        assert.ok(history.includes(receiver.url('/')), `${wf}: its payloads were read (they name the receiver)`);
        assert.ok(!history.includes('whsec_'), `${wf}: no secret in its history`);
        for (const s of [secret!, ...receiver.secretsOf('/all')]) assert.ok(!history.includes(s.slice(6)), `${wf}: no secret's bytes in its history`);
      }
    });

    it('a rotated secret signs at once, beside the old one during the grace period, alone after it', async () => {
      const id = subs[0]!;
      const rotated = await master.api.post<{ secret: string; secret_version: number; previous_secret: { version: number; valid_until: string } }>(`/webhooks/${id}/rotate`, { grace_seconds: 600 });
      assert.equal(rotated.status, 200, rotated.text);
      assert.equal(rotated.body.secret_version, 2);
      assert.equal(rotated.body.previous_secret.version, 1);
      assert.match(rotated.body.secret, /^whsec_/);
      // only the new secret verifies here now
      receiver.onlySecrets('/all', [rotated.body.secret]);
      const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
      const first = await waitFor('job.queued under the new secret', () => receiver.at('/all', job.id).find((r) => r.type === 'job.queued'));
      assert.ok(first.verified);
      assert.equal(first.signatures, 2, 'the old secret signs too, during the grace period');
      const again = await master.api.post<{ secret: string }>(`/webhooks/${id}/rotate`, { grace_seconds: 0 });
      receiver.onlySecrets('/all', [again.body.secret]);
      const next = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
      const lone = await waitFor('job.queued after a rotation without grace', () => receiver.at('/all', next.id).find((r) => r.type === 'job.queued'));
      assert.ok(lone.verified);
      assert.equal(lone.signatures, 1);
      assert.doesNotMatch((await master.api.get(`/webhooks/${id}`)).text, /whsec_/);
      await jobStatus(master.api, next.id, ['completed'], 90_000);
    });

    it('a receiver that answers 500 three times, then 200: retried with growing waits, every attempt recorded', async () => {
      receiver.route('/flaky', (n) => (n < 3 ? 500 : 200));
      const id = await subscribe(master.api, receiver, '/flaky', { events: ['job.queued'] });
      subs.push(id);
      const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
      const [d] = await waitFor('delivered after three 500s', async () => {
        const list = await deliveriesOf(master.api, job.id, id);
        return list[0]?.status === 'delivered' ? list : undefined;
      });
      assert.deepEqual(d!.attempts.map((a) => a.status_code), [500, 500, 500, 200]);
      assert.deepEqual(d!.attempts.slice(0, 3).map((a) => a.error), ['answered 500', 'answered 500', 'answered 500']);
      const at = d!.attempts.map((a) => Date.parse(a.at));
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      assert.ok(gaps[0]! >= 250 && gaps[1]! >= 500, `backoff doubles: gaps ${gaps.join(', ')} ms`);
      const got = receiver.at('/flaky', job.id);
      assert.equal(got.length, 4);
      assert.ok(got.every((r) => r.verified && r.id === `msg_${job.id}_0`), 'the same webhook-id every time');

      const metrics = await (await fetch(master.metricsUrl)).text();
      assert.ok(Number(/ffrtmp_webhook_deliveries_total\{outcome="http_error"\} (\d+)/.exec(metrics)?.[1]) >= 3, 'failed attempts counted');
      assert.ok(Number(/ffrtmp_webhook_deliveries_total\{outcome="delivered"\} (\d+)/.exec(metrics)?.[1]) >= 1);
      assert.match(metrics, /ffrtmp_webhook_delivery_duration_seconds_count\{outcome="delivered"\} [1-9]/);
      await jobStatus(master.api, job.id, ['completed'], 90_000);
    });

    it('a receiver that is down for a while and comes back gets every event, in order', async () => {
      const port = await freePort();
      const later = new WebhookReceiver();
      const path = '/back';
      const r = await master.api.post<{ id: string; secret: string }>('/webhooks', { url: `http://127.0.0.1:${port}${path}`, events: ['job.queued', 'job.completed'] });
      assert.equal(r.status, 201, r.text);
      subs.push(r.body.id);
      const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
      try {
        const failing = await waitFor('attempts refused while it is down', async () => {
          const list = await deliveriesOf(master.api, job.id, r.body.id);
          return (list[0]?.attempts.length ?? 0) >= 2 ? list[0] : undefined;
        });
        assert.equal(failing.status, 'pending');
        assert.match(failing.attempts[0]!.error ?? '', /ECONNREFUSED/);
        later.route(path);
        later.secret(path, r.body.secret);
        await later.start(port);
        const list = await waitFor('both delivered once it is back', async () => {
          const l = await deliveriesOf(master.api, job.id, r.body.id);
          return l.length === 2 && l.every((d) => d.status === 'delivered') ? l : undefined;
        }, { timeoutMs: 90_000 });
        assert.deepEqual(list.map((d) => d.event_type), ['job.queued', 'job.completed']);
        assert.deepEqual(firstArrivals(later.at(path, job.id)).map((x) => x.type), ['job.queued', 'job.completed']);
        assert.ok(later.at(path, job.id).every((x) => x.verified));
      } finally {
        await later.stop();
      }
    });

    it('a receiver that hangs: its attempts time out and retry, and the other subscriber is not delayed', async () => {
      let hang = true;
      receiver.route('/hang', () => (hang ? 'hang' : 200));
      const id = await subscribe(master.api, receiver, '/hang');
      subs.push(id);
      const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
      const done = await jobStatus(master.api, job.id, ['completed'], 90_000);
      await waitFor('the other subscriber has every event', () => firstArrivals(receiver.at('/all', job.id).filter((r) => r.answer === 200)).length === done.state_transitions.length, { timeoutMs: 30_000 });
      const stuck = await waitFor('attempts timed out', async () => {
        const [first] = await deliveriesOf(master.api, job.id, id);
        return first && first.attempts.length >= 2 ? first : undefined;
      });
      assert.equal(stuck.status, 'pending');
      assert.equal(stuck.event_type, 'job.queued');
      assert.match(stuck.attempts[0]!.error ?? '', /no answer within 1 s/);
      assert.ok(receiver.at('/hang', job.id).every((r) => r.answer === 'hang'), 'nothing answered yet');

      hang = false;
      receiver.release(200);
      await waitFor('every event once it answers', async () => {
        const list = await deliveriesOf(master.api, job.id, id);
        return list.length === done.state_transitions.length && list.every((d) => d.status === 'delivered');
      }, { timeoutMs: 60_000 });
      const answered = firstArrivals(receiver.at('/hang', job.id).filter((r) => r.answer === 200));
      assert.deepEqual(answered.map((r) => r.type), typesOf(done), 'in order');
    });
  });

  describe('Temporal restarted mid-delivery', () => {
    let master: TestMaster;
    before(async () => {
      master = await startTestMaster(WEBHOOK_ENV);
    });
    after(() => master?.stop());

    it('a pending delivery goes on after Temporal comes back, in order', async () => {
      let up = false;
      receiver.route('/outage', () => (up ? 200 : 500));
      const id = await subscribe(master.api, receiver, '/outage', { events: ['job.queued', 'job.completed'] });
      try {
        const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
        await waitFor('a failed attempt before the outage', async () => ((await deliveriesOf(master.api, job.id, id))[0]?.attempts.length ?? 0) >= 1);
        await restartTemporal();
        up = true;
        const list = await waitFor('both delivered after the restart', async () => {
          const l = await deliveriesOf(master.api, job.id, id).catch(() => []);
          return l.length === 2 && l.every((d) => d.status === 'delivered') ? l : undefined;
        }, { timeoutMs: 90_000, intervalMs: 500 });
        assert.ok(list[0]!.attempts.length >= 2 && list[0]!.attempts[0]!.status_code === 500);
        assert.deepEqual(firstArrivals(receiver.at('/outage', job.id).filter((r) => r.answer === 200)).map((r) => r.type), ['job.queued', 'job.completed']);
      } finally {
        await master.api.delete(`/webhooks/${id}`);
      }
    });
  });

  describe('a delivery that fails for good; test events; the CLI', () => {
    let master: TestMaster;
    before(async () => {
      master = await startTestMaster({ ...WEBHOOK_ENV, FFRTMP_WEBHOOK_GIVE_UP_SECONDS: '2' });
    });
    after(() => master?.stop());

    it('is marked failed after its time is up, and a re-send delivers it', async () => {
      let up = false;
      receiver.route('/late', () => (up ? 200 : 500));
      const id = await subscribe(master.api, receiver, '/late', { events: ['job.queued'] });
      try {
        const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
        const [failed] = await waitFor('failed for good', async () => {
          const l = await deliveriesOf(master.api, job.id, id);
          return l[0]?.status === 'failed' ? l : undefined;
        });
        assert.match(failed!.error ?? '', /^gave up after \d+ attempt\(s\) in \d+ s: answered 500$/);
        assert.ok(failed!.attempts.length >= 2);
        const eventId = `msg_${job.id}_0`;
        up = true;
        const resent = await master.api.post<DeliveryRecord>(`/webhooks/${id}/deliveries/${eventId}/resend`);
        assert.equal(resent.status, 200, resent.text);
        assert.equal(resent.body.status, 'pending');
        await waitFor('delivered after the re-send', async () => (await deliveriesOf(master.api, job.id, id))[0]?.status === 'delivered');
        const again = await master.api.post(`/webhooks/${id}/deliveries/${eventId}/resend`);
        assert.equal(again.status, 409, again.text);
        const none = await master.api.post(`/webhooks/${id}/deliveries/msg_${job.id}_99/resend`);
        assert.equal(none.status, 404, none.text);
        await jobStatus(master.api, job.id, ['completed'], 90_000);
      } finally {
        await master.api.delete(`/webhooks/${id}`);
      }
    });

    it('ffrtmp webhooks add, list, test and remove', async () => {
      receiver.route('/cli');
      const env = { FFMPEG_RTMP_API_KEY: TEST_KEY, FFRTMP_MASTER_URL: master.url };
      const add = await ffrtmp(['-o', 'json', 'webhooks', 'add', receiver.url('/cli'), '--events', 'job.completed,job.failed', '--queue', 'live'], { env });
      assert.equal(add.code, 0, add.stderr);
      const created = JSON.parse(add.stdout) as { id: string; secret: string; events: string[]; queues: string[] };
      assert.deepEqual([created.events, created.queues], [['job.completed', 'job.failed'], ['live']]);
      receiver.secret('/cli', created.secret);
      const list = await ffrtmp(['webhooks', 'list'], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.ok(list.stdout.includes(created.id) && list.stdout.includes('queue=live'), list.stdout);
      assert.ok(!list.stdout.includes('whsec_'));
      const test = await ffrtmp(['webhooks', 'test', created.id], { env });
      assert.equal(test.code, 0, test.stderr);
      assert.match(test.stdout, /^delivered msg_test_[0-9a-f-]+: 200 in \d+ ms\n$/);
      const got = receiver.at('/cli').at(-1)!;
      assert.ok(got.verified && got.type === 'webhook.test');
      receiver.route('/cli', () => 503);
      const refused = await ffrtmp(['webhooks', 'test', created.id], { env });
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stdout, /^not delivered msg_test_[0-9a-f-]+: answered 503\n$/);
      const rm = await ffrtmp(['webhooks', 'remove', created.id], { env });
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal((await master.api.get(`/webhooks/${created.id}`)).status, 404);
      const gone = await ffrtmp(['webhooks', 'remove', created.id], { env });
      assert.equal(gone.code, 4, gone.stderr);
    });
  });

  describe('a master killed mid-delivery', () => {
    let master: MasterProcess | undefined;
    let sub: string | undefined;
    after(async () => {
      if (sub) await master?.api.delete(`/webhooks/${sub}`);
      await master?.stop();
    });

    it('the delivery is made by the next master; the lost attempt is recorded', async () => {
      master = await spawnMaster(WEBHOOK_ENV);
      let answered = false;
      receiver.route('/kill', () => (answered ? 200 : 'hang'));
      sub = await subscribe(master.api, receiver, '/kill', { events: ['job.queued'] });
      const job = (await master.api.post<JobView>('/jobs', SHORT_JOB)).body;
      await waitFor('the first attempt in flight', () => receiver.at('/kill', job.id).length > 0);
      await master.halt('SIGKILL');
      answered = true;
      master = await spawnMaster(WEBHOOK_ENV);
      const [d] = await waitFor('delivered by the next master', async () => {
        const list = await deliveriesOf(master!.api, job.id, sub);
        return list[0]?.status === 'delivered' ? list : undefined;
      }, { timeoutMs: 60_000 });
      assert.match(d!.attempts[0]!.error ?? '', /attempt lost/);
      assert.equal(d!.attempts.at(-1)!.status_code, 200);
      assert.ok(receiver.at('/kill', job.id).every((r) => r.verified && r.id === `msg_${job.id}_0`));
      assert.ok(!master.logs.some((l) => l.includes('whsec_')), 'no secret in the logs');
      await jobStatus(master.api, job.id, ['completed'], 90_000);
    });
  });
});
