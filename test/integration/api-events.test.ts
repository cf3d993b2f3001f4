/**
 * Live updates without polling: GET /jobs/{id}/events and GET /events as server-sent events from a
 * real master, a real worker and a real encode. Every state change arrives once and in order,
 * progress at most every 0.5 s; a reconnect with Last-Event-ID gets what it missed; many
 * subscribers to one job cost the Temporal calls of one (the master's own counter says).
 */
import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import type { JobView } from '../../domain/job';
import { HttpClient, type StreamEvent } from '../../lib/http-client';
import { startWorker, type WorkerAgent } from '../helpers/cluster';
import { TEST_KEY, startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

async function collect(stream: AsyncIterable<StreamEvent>, until: (e: StreamEvent) => boolean, seen: StreamEvent[] = []): Promise<StreamEvent[]> {
  for await (const e of stream) {
    seen.push({ ...e, at: Date.now() } as StreamEvent);
    if (until(e)) break;
  }
  return seen;
}

async function temporalCalls(m: TestMaster): Promise<number> {
  const text = await (await fetch(m.metricsUrl)).text();
  return [...text.matchAll(/^ffrtmp_master_temporal_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)].reduce((n, x) => n + Number(x[1]), 0);
}

describe('event streams: GET /jobs/{id}/events and GET /events', function () {
  this.timeout(180_000);
  let master: TestMaster;
  let worker: WorkerAgent;
  let http: HttpClient;
  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    worker = await startWorker({ name: 'events-worker' });
    http = new HttpClient(master.url, { apiKey: TEST_KEY });
  });
  after(async () => {
    http?.close();
    await worker?.stop();
    await master?.stop();
  });

  it('a job: snapshot, every transition once and in order, progress at most every 0.5 s, end', async () => {
    const job = (await master.api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 6, preset: 'medium' } })).body;
    const events = await collect(http.events(`/jobs/${job.id}/events`), (e) => e.event === 'end');
    assert.equal(events[0]!.event, 'snapshot');
    const snapshot = events[0]!.data as JobView;
    const states = events.filter((e) => e.event === 'state').map((e) => (e.data as { status: string }).status);
    assert.deepEqual([...snapshot.state_transitions.map((t) => t.to), ...states], ['queued', 'assigned', 'running', 'completed']);
    const ids = events.filter((e) => e.event === 'state').map((e) => Number(e.id));
    assert.deepEqual(ids, ids.map((_, i) => snapshot.state_transitions.length + i + 1), 'state ids count the transitions');
    const progress = events.filter((e) => e.event === 'progress') as (StreamEvent & { at: number })[];
    assert.ok(progress.length >= 3, `progress events: ${progress.length}`);
    const values = progress.map((e) => (e.data as { progress: number }).progress);
    assert.deepEqual(values, [...values].sort((a, b) => a - b), 'progress never goes back');
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.at - progress[i - 1]!.at >= 350, 'at most about every 0.5 s');
    assert.equal((events.at(-1)!.data as { status: string }).status, 'completed');
  });

  it('a reconnect with Last-Event-ID gets the transitions it missed, then the end', async () => {
    const job = (await master.api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } })).body;
    await waitFor('completed', async () => ((await master.api.get<JobView>(`/jobs/${job.id}`)).body.status === 'completed' ? true : undefined), { timeoutMs: 60_000 });
    const events = await collect(http.events(`/jobs/${job.id}/events`, { lastEventId: '1' }), (e) => e.event === 'end');
    assert.deepEqual(events.map((e) => `${e.event}:${e.id}`), ['state:2', 'state:3', 'state:4', 'end:4']);
    assert.deepEqual(events.slice(0, 3).map((e) => (e.data as { status: string }).status), ['assigned', 'running', 'completed']);
  });

  it('200 subscribers to one job cost the Temporal calls of one', async () => {
    const job = (await master.api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 60, preset: 'slow' } })).body;
    await waitFor('running', async () => ((await master.api.get<JobView>(`/jobs/${job.id}`)).body.status === 'running' ? true : undefined), { timeoutMs: 60_000 });
    const measure = async (n: number) => {
      const stop = new AbortController();
      // one signal stops all n readers: n listeners on it are the design, not a leak
      setMaxListeners(n + 1, stop.signal);
      let received = 0;
      const readers = Array.from({ length: n }, async () => {
        try {
          for await (const e of http.events(`/jobs/${job.id}/events`, { signal: stop.signal })) if (e.event === 'progress') received++;
        } catch {
          /* stopped */
        }
      });
      await waitFor('every subscriber has events', () => received >= n || undefined, { timeoutMs: 20_000 });
      const before = await temporalCalls(master);
      const r0 = received;
      await new Promise((r) => setTimeout(r, 3_000)); // the measuring window, not a synchronisation
      const calls = (await temporalCalls(master)) - before;
      stop.abort();
      await Promise.all(readers);
      return { calls, events: received - r0 };
    };
    const one = await measure(1);
    const many = await measure(200);
    assert.ok(many.events >= 200 * 3, `every subscriber kept getting progress (${many.events} events)`);
    assert.ok(many.calls <= one.calls * 1.5 + 3, `Temporal calls in 3 s: ${one.calls} with 1 subscriber, ${many.calls} with 200`);
    await master.api.post(`/jobs/${job.id}/cancel`);
  });

  it('all jobs, one page as a client shows it (limit, page_token): progress of every running job on that page, none of another page\'s', async () => {
    const scenario = '240p17-h264'; // no other test's
    const created = await master.api.post<JobView>('/jobs', { scenario, parameters: { duration: 60, preset: 'medium' } });
    assert.equal(created.status, 201, created.text);
    const running = created.body;
    try {
      await waitFor('the first job to run', async () => ((await master.api.get<{ progress_percent: number }>(`/jobs/${running.id}`)).body.progress_percent > 0 ? true : undefined), { timeoutMs: 60_000 });
      // a newer job that waits (no GPU here): the list's first page of one row holds it, the second the running job
      const waiting = (await master.api.post<JobView>('/jobs', { scenario, parameters: { duration: 1, hardware: 'required' } })).body;
      const first = await waitFor('both listed', async () => {
        const l = (await master.api.get<{ jobs: { id: string }[]; next_page_token: string | null }>(`/jobs?scenario=${scenario}&limit=1`)).body;
        return l.jobs[0]?.id === waiting.id && l.next_page_token ? l : undefined;
      });
      const second = (await master.api.get<{ jobs: { id: string }[] }>(`/jobs?scenario=${scenario}&limit=1&page_token=${encodeURIComponent(first.next_page_token!)}`)).body;
      assert.deepEqual(second.jobs.map((j) => j.id), [running.id]);
      // the running attempt's run so far, from its heartbeat details
      const history = (await master.api.get<JobView>(`/jobs/${running.id}`)).body.progress_history;
      assert.ok(history && history.points.length >= 1 && Date.parse(history.started_at) > 0, JSON.stringify(history));

      const stop = new AbortController();
      const onFirst: StreamEvent[] = [];
      const onSecond: StreamEvent[] = [];
      const readings = [
        collect(http.events(`/events?scenario=${scenario}&limit=1`, { signal: stop.signal }), () => false, onFirst).catch(() => onFirst),
        collect(http.events(`/events?scenario=${scenario}&limit=1&page_token=${encodeURIComponent(first.next_page_token!)}`, { signal: stop.signal }), () => false, onSecond).catch(() => onSecond),
      ];
      const progressOf = (seen: StreamEvent[]) => seen.filter((e) => e.event === 'progress' && (e.data as { id: string }).id === running.id).map((e) => (e.data as { progress_percent: number }).progress_percent);
      await waitFor('the second page\'s stream to move its running job', async () => {
        const p = progressOf(onSecond);
        return p.length >= 2 && p.at(-1)! > p[0]! ? true : undefined;
      }, { timeoutMs: 30_000 });
      stop.abort();
      await Promise.all(readings);
      assert.deepEqual(progressOf(onFirst), [], 'the first page does not hold the running job: no progress of it there');

      const tooBig = await master.api.get<{ error: string }>('/events?limit=201');
      assert.equal(tooBig.status, 400);
      assert.match(tooBig.body.error, /limit/);
      await master.api.post(`/jobs/${waiting.id}/cancel`);
    } finally {
      await master.api.post(`/jobs/${running.id}/cancel`);
    }
  });

  it('all jobs: state changes of the jobs the filters select', async () => {
    const stop = new AbortController();
    const seen: StreamEvent[] = [];
    const reading = collect(http.events('/events?scenario=360p30-h264', { signal: stop.signal }), () => false, seen).catch(() => seen);
    const job = (await master.api.post<JobView>('/jobs', { scenario: '360p30-h264', parameters: { duration: 1 } })).body;
    await waitFor('its completion on the stream', () => seen.some((e) => e.event === 'state' && (e.data as { id: string; status: string }).id === job.id && (e.data as { status: string }).status === 'completed') || undefined, { timeoutMs: 60_000 });
    stop.abort();
    await reading;
    const other = seen.filter((e) => e.event === 'state' && (e.data as { id: string }).id !== job.id);
    assert.deepEqual(other, [], 'only the selected jobs');
  });
});
