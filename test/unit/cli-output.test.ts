import assert from 'node:assert/strict';
import type { JobView } from '../../domain/job';
import { exitCodeForStatus } from '../../cli/exit-codes';
import { LogFollower } from '../../cli/logs';
import { Output, colourEnabled, fitColumns, formatBytes, formatDuration, renderTable, terminalWidth, visibleWidth } from '../../cli/output';
import { BarDisplay, LineDisplay } from '../../cli/watch';
import { JOB_LIST_HEAD, jobRow } from '../../cli/commands/jobs';
import { FakeStream, fakeJob } from './cli-fakes';

describe('cli output', () => {
  it('exit codes by HTTP status class', () => {
    assert.deepEqual([200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503].map(exitCodeForStatus), [0, 0, 2, 3, 3, 4, 2, 5, 2, 2, 7, 6, 6]);
  });

  it('colour only on a TTY, and never with NO_COLOR (non-empty) or TERM=dumb', () => {
    const tty = new FakeStream(true, 80);
    assert.equal(colourEnabled(tty, {}), true);
    assert.equal(colourEnabled(new FakeStream(false), {}), false);
    assert.equal(colourEnabled(tty, { NO_COLOR: '1' }), false);
    assert.equal(colourEnabled(tty, { NO_COLOR: '' }), true);
    assert.equal(colourEnabled(tty, { TERM: 'dumb' }), false);
  });

  it('tables fit the terminal: every line at most its width, long cells truncated with …', () => {
    const job = fakeJob();
    const summary = { ...job, parameters: { ...job.parameters }, status: 'running' as const, retry_count: 0, completed_at: null };
    const rows = Array.from({ length: 5 }, (_, i) => jobRow({ ...summary, node_id: `a-very-long-node-name-${i}.cluster.example.org-9091` }, new Output('table', new FakeStream(), new FakeStream(), {})));
    for (const width of [40, 60, 80, 120]) {
      const text = renderTable(JOB_LIST_HEAD, rows, { width, colour: false });
      for (const line of text.split('\n')) assert.ok(visibleWidth(line) <= width, `${visibleWidth(line)} > ${width}: ${line}`);
      assert.match(text.split('\n')[0]!, /^JOB +ID/);
    }
    assert.match(renderTable(JOB_LIST_HEAD, rows, { width: 80, colour: false }), /…/);
    // too narrow for every column: the rightmost ones go
    assert.doesNotMatch(renderTable(JOB_LIST_HEAD, rows, { width: 40, colour: false }), /CREATED/);
    assert.match(renderTable(JOB_LIST_HEAD, rows, { width: 40, colour: false }), /^JOB +ID +STATUS/);
    // no width (not a terminal): nothing is cut
    const full = renderTable(JOB_LIST_HEAD, rows, { colour: false });
    assert.match(full, /a-very-long-node-name-0\.cluster\.example\.org-9091/);
    assert.doesNotMatch(full, /…|\x1b/);
  });

  it('colour in tables on a terminal, none elsewhere', () => {
    const tty = new FakeStream(true, 100);
    new Output('table', tty, new FakeStream(), {}).table(['A'], [['x']]);
    assert.match(tty.text, /\x1b\[1mA\x1b\[22m/);
    const pipe = new FakeStream();
    new Output('table', pipe, new FakeStream(), {}).table(['A'], [['x']]);
    assert.equal(pipe.text, 'A\nx\n');
  });

  it('column fitting shrinks the widest columns first and keeps a minimum', () => {
    assert.deepEqual(fitColumns([10, 40, 10], 100), [10, 40, 10]);
    assert.deepEqual(fitColumns([10, 40, 10], 50), [10, 30, 10]);
    assert.deepEqual(fitColumns([20, 20], 20), [10, 10]);
    assert.deepEqual(fitColumns([10, 10], 5), [8, 8], 'never below the minimum');
    assert.equal(terminalWidth(new FakeStream(true, 0)), undefined, 'a pty that reports 0 columns');
    assert.equal(terminalWidth(new FakeStream(false, 80)), undefined);
  });

  it('durations and sizes for people', () => {
    assert.deepEqual([null, 0.44, 9.4, 12, 65, 3600, 7380].map(formatDuration), ['--', '0.4 s', '9.4 s', '12 s', '1 min 5 s', '1 h', '2 h 3 min']);
    assert.deepEqual([512, 2048, 5 * 1024 ** 3].map(formatBytes), ['512 B', '2.0 KiB', '5.0 GiB']);
  });

  it('the progress bar on a terminal: percent, status, fps and ETA, drawn with escape sequences', () => {
    const tty = Object.assign(new FakeStream(true, 100), { cursorTo: undefined });
    const bar = new BarDisplay(tty, new Output('table', new FakeStream(), tty, {}));
    bar.update(fakeJob({ status: 'queued' }));
    bar.update({ ...fakeJob(), status: 'running', progress: 45.7, fps: 31.25, eta_seconds: 12 } as JobView);
    bar.stop();
    const plain = tty.text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
    assert.match(plain, /job 7 █+░+ 45% \| running \| 31\.3 fps \| ETA 12 s/);
    assert.match(tty.text, /\x1b\[/);
  });

  it('without a terminal: one plain line per status change', () => {
    const s = new FakeStream();
    const d = new LineDisplay(s);
    d.update(fakeJob());
    d.update(fakeJob());
    d.update({ ...fakeJob(), status: 'running', progress: 10, fps: 99, node_name: 'w1' } as JobView);
    d.update({ ...fakeJob(), status: 'completed', progress: 100, node_name: 'w1' } as JobView);
    assert.equal(s.text, 'job 7 queued\njob 7 running on w1 (10%, 99.0 fps, ETA --)\njob 7 completed on w1\n');
  });

  it('logs --follow prints each line the first time the logs show it, and repeats only real repeats', () => {
    const f = new LogFollower();
    const step = (lines: string[]) => f.next(lines.join('\n'));
    assert.deepEqual(f.next(''), []);
    assert.deepEqual(step(['### attempt 1 on no node (in progress)', '']), ['### attempt 1 on no node (in progress)', '']);
    const live = (tail: string[]) => ['### attempt 1 on w (in progress)', '', '=== Command Execution ===', 'Command: ffmpeg x', '', '=== STDERR (live tail) ===', ...tail];
    assert.deepEqual(step(live(['e1', 'e2'])), ['### attempt 1 on w (in progress)', '=== Command Execution ===', 'Command: ffmpeg x', '', '=== STDERR (live tail) ===', 'e1', 'e2']);
    // the tail slides
    assert.deepEqual(step(live(['e2', 'e3'])), ['e3']);
    // the live part vanishes for a moment (the encoder ended, the workflow has not recorded it yet)
    assert.deepEqual(step(['### attempt 1 on w (in progress)', '']), []);
    // the attempt's full log replaces it: only what was not on screen
    const done = ['### attempt 1 on w (completed)', '=== Command Execution ===', 'Command: ffmpeg x', 'Node: w', '', '=== STDERR ===', 'e1', 'e2', 'e3', 'e4', '  Metadata:', '  Metadata:'];
    assert.deepEqual(step(done), ['### attempt 1 on w (completed)', 'Node: w', '=== STDERR ===', 'e4', '  Metadata:', '  Metadata:']);
    assert.deepEqual(step(done), []);
    // a second attempt repeats lines of the first: they are printed again, once
    assert.deepEqual(step([...done, '', '### attempt 2 on w (in progress)', '', '=== Command Execution ===', 'Command: ffmpeg x']), ['### attempt 2 on w (in progress)', '', '=== Command Execution ===', 'Command: ffmpeg x']);
  });
});
