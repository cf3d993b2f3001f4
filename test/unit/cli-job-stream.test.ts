import assert from 'node:assert/strict';
import { MasterApi } from '../../cli/client';
import { jobViews } from '../../cli/job-stream';
import type { JobView } from '../../domain/job';
import { StreamRefused, type StreamEvent } from '../../lib/http-client';
import { FakeTransport, fakeJob, ok } from './cli-fakes';

/** A transport with event streams: each call to events() plays the next script (or refuses). */
class StreamingTransport extends FakeTransport {
  readonly opened: { path: string; lastEventId?: string }[] = [];
  constructor(
    private readonly scripts: (StreamEvent[] | 'refuse')[],
    answer: ConstructorParameters<typeof FakeTransport>[0],
  ) {
    super(answer);
  }
  events(path: string, lastEventId?: string): AsyncIterable<StreamEvent> {
    this.opened.push({ path, lastEventId });
    const script = this.scripts.shift() ?? [];
    return (async function* () {
      if (script === 'refuse') throw new StreamRefused(404);
      yield* script;
    })();
  }
}

const collect = async (api: MasterApi, id: string): Promise<JobView[]> => {
  const views: JobView[] = [];
  for await (const v of jobViews(api, id, 10)) views.push(v);
  return views;
};

describe('cli: following a job by its event stream, polling without one', () => {
  const queued = fakeJob();
  const running = fakeJob({ status: 'running', node_id: 'w-1' });
  const done = fakeJob({ status: 'completed', progress: 100 });

  it('reads the stream: snapshot, state, progress, then the final view read once; no polling', async () => {
    const t = new StreamingTransport(
      [[
        { event: 'snapshot', id: '1', data: queued },
        { event: 'state', id: '2', data: { status: 'running', view: running } },
        { event: 'progress', id: '2.1', data: { status: 'running', progress: 41, fps: 30, speed: 1, eta_seconds: 3, node_id: 'w-1' } },
        { event: 'state', id: '3', data: { status: 'completed', view: done } },
        { event: 'end', id: '3', data: { id: done.id, status: 'completed' } },
      ]],
      () => ok(done),
    );
    const views = await collect(new MasterApi(t), done.id);
    assert.deepEqual(views.map((v) => [v.status, v.progress]), [['queued', 0], ['running', 0], ['running', 41], ['completed', 100], ['completed', 100]]);
    assert.equal(views[2]!.fps, 30);
    assert.deepEqual(t.calls.map((c) => `${c.method} ${c.path}`), [`GET /jobs/${done.id}`], 'one read: the final view');
    assert.deepEqual(t.opened, [{ path: `/jobs/${done.id}/events`, lastEventId: undefined }]);
  });

  it('a dropped stream reconnects with Last-Event-ID; a transition replayed after it carries only its status', async () => {
    const t = new StreamingTransport(
      [
        [{ event: 'snapshot', id: '1', data: queued }, { event: 'state', id: '2', data: { status: 'running', view: running } }],
        [{ event: 'state', id: '3', data: { status: 'paused' } }, { event: 'end', id: '4', data: {} }],
      ],
      () => ok(done),
    );
    const views = await collect(new MasterApi(t), done.id);
    assert.deepEqual(views.map((v) => v.status), ['queued', 'running', 'paused', 'completed']);
    assert.equal(views[2]!.node_id, 'w-1', 'the rest of the view is kept');
    assert.deepEqual(t.opened.map((o) => o.lastEventId), [undefined, '2']);
  });

  it('a refused stream (an older master, a 429, a 404) falls back to polling until the job ends', async () => {
    let reads = 0;
    const t = new StreamingTransport(['refuse'], () => ok(++reads < 3 ? running : done));
    const views = await collect(new MasterApi(t), done.id);
    assert.deepEqual(views.map((v) => v.status), ['running', 'running', 'completed']);
    assert.equal(t.opened.length, 1);
  });

  it('a stream that keeps dropping is given up after three tries in a row: polling takes over', async () => {
    const t = new StreamingTransport([[], [], []], () => ok(done));
    const views = await collect(new MasterApi(t), done.id);
    assert.deepEqual(views.map((v) => v.status), ['completed']);
    assert.equal(t.opened.length, 3);
  });

  it('a transport without streams (--via temporal) polls', async () => {
    const t = new FakeTransport(() => ok(done));
    assert.deepEqual((await collect(new MasterApi(t), done.id)).map((v) => v.status), ['completed']);
  });
});
