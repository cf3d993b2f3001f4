import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { buildFfmpegArgs } from '../../encoders/ffmpeg-command';
import { spawnBound } from '../../lib/bound-child';
import { waitFor } from '../../lib/wait';
import { cpusOf, loadWorkerConfig } from '../../workers/config';
import type { EncodeSpec } from '../../domain/job';

const spec: EncodeSpec = {
  width: 320, height: 180, fps: 30, durationSec: 1, codec: 'h264', encoder: 'libx264', engine: 'ffmpeg',
  bitrateKbps: 500, preset: 'veryfast', audio: false, input: { kind: 'synthetic' }, output: { mode: 'file' },
};

describe('encoder placement: CPUs and threads as worker settings', () => {
  it('reads FFRTMP_ENCODER_CPUS and FFRTMP_ENCODER_THREADS, and refuses what this machine cannot do, naming it', () => {
    const c = loadWorkerConfig({ FFRTMP_ENCODER_CPUS: '0', FFRTMP_ENCODER_THREADS: '1' });
    assert.deepEqual([c.encoderCpus, c.encoderThreads], ['0', 1]);
    assert.deepEqual(cpusOf('0,2-4,7'), [0, 2, 3, 4, 7]);
    assert.throws(() => loadWorkerConfig({ FFRTMP_ENCODER_CPUS: '0-9999' }), /FFRTMP_ENCODER_CPUS.*names CPU 9999, but this machine has CPUs 0-/s);
    assert.throws(() => loadWorkerConfig({ FFRTMP_ENCODER_CPUS: 'all' }), /FFRTMP_ENCODER_CPUS.*CPU list such as 0, 0-3/s);
    assert.throws(() => loadWorkerConfig({ FFRTMP_ENCODER_THREADS: '0' }), /FFRTMP_ENCODER_THREADS/);
  });

  it('the thread count reaches the encoder as -threads after its video options', () => {
    const args = buildFfmpegArgs(spec, { output: '/o.mp4', format: 'mp4', threads: 1 });
    assert.deepEqual(args.slice(args.indexOf('-pix_fmt') + 2, args.indexOf('-pix_fmt') + 4), ['-threads', '1']);
    assert.ok(!buildFfmpegArgs(spec, { output: '/o.mp4', format: 'mp4' }).includes('-threads'));
  });

  it('a pinned child runs on the given CPU only (taskset under setpriv, same pid)', async () => {
    const child = spawnBound('sleep', ['5'], { stdio: 'ignore' }, 'KILL', '0');
    try {
      const allowed = await waitFor('the sleep to run', () => {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return /^Name:\s+sleep$/m.test(status) ? /^Cpus_allowed_list:\s+(\S+)$/m.exec(status)?.[1] : undefined;
      }, { timeoutMs: 5_000, intervalMs: 10 });
      assert.equal(allowed, '0');
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});
