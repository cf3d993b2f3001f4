import assert from 'node:assert/strict';
import { nodeIdFromAddress } from '../../domain/nodes';
import { priorityKey } from '../../domain/queues';
import { DEFAULT_RESOLVE_CONTEXT, JobValidationError, confineToRoot, resolveJob } from '../../domain/resolve';
import { parseScenario } from '../../domain/scenarios';
import { parseBitrateKbps } from '../../domain/schemas';
import type { JobRequest } from '../../domain/job';

const req = (over: Partial<JobRequest> = {}, parameters: JobRequest['parameters'] = {}): JobRequest => ({
  scenario: '1080p60-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters, ...over,
});

describe('scenarios, parameters and resolution', () => {
  it('scenario grammar: resolution, optional fps (default 30), codec', () => {
    const s = (n: string) => {
      const r = parseScenario(n);
      assert.ok(r.ok, n);
      return r.scenario;
    };
    assert.deepEqual([s('4K60-h264').width, s('4K60-h264').height, s('4K60-h264').fps], [3840, 2160, 60]);
    assert.deepEqual([s('1080p-h265').fps, s('1080p-h265').codec], [30, 'h265']);
    assert.equal(s('480p30-av1').bitrateKbps, 800);
    assert.ok(s('4K60-h264').bitrateKbps > s('720p30-h264').bitrateKbps);
    for (const bad of ['4K0-h264', '1080p-h263', 'x', '1080p200-h264']) assert.equal(parseScenario(bad).ok, false, bad);
  });

  it('bitrates: 10M, 2500k, plain bit/s', () => {
    assert.equal(parseBitrateKbps('10M'), 10000);
    assert.equal(parseBitrateKbps('2500k'), 2500);
    assert.equal(parseBitrateKbps('800000'), 800);
    assert.equal(parseBitrateKbps('1.5M'), 1500);
  });

  it('resolves a request into the encoder spec, parameters over scenario defaults', () => {
    const { spec, policy } = resolveJob(req({}, { duration: 5, bitrate: '4M', preset: 'veryfast' }));
    assert.deepEqual(
      [spec.width, spec.height, spec.fps, spec.codec, spec.encoder, spec.bitrateKbps, spec.preset, spec.durationSec, spec.audio],
      [1920, 1080, 60, 'h264', 'libx264', 4000, 'veryfast', 5, true],
    );
    assert.deepEqual(spec.input, { kind: 'synthetic' });
    assert.equal(policy.maxRetries, 3);
    assert.ok(policy.attemptDeadlineMs > 5_000);
    assert.equal(resolveJob(req({}, { codec: 'vp9' })).spec.encoder, 'libvpx-vp9');
    assert.equal(resolveJob(req({ engine: 'gstreamer' })).spec.encoder, 'x264enc');
    assert.equal(resolveJob(req({}, { timeout: 90, max_retries: 0 })).policy.attemptDeadlineMs, 90_000);
  });

  it('file inputs are confined to the media root', () => {
    assert.equal(confineToRoot('/srv/media', 'a/b.mp4', 'f'), '/srv/media/a/b.mp4');
    assert.equal(confineToRoot('/srv/media', '/srv/media/x.mkv', 'f'), '/srv/media/x.mkv');
    for (const bad of ['../x', '/srv/mediaX/a', '/etc/passwd', 'a/../../b', 'file:a', 'concat:a|b']) {
      assert.throws(() => confineToRoot('/srv/media', bad, 'f'), JobValidationError, bad);
    }
    assert.deepEqual(resolveJob(req({}, { input: 'in/clip.mov' }), { ...DEFAULT_RESOLVE_CONTEXT, mediaRoot: '/m' }).spec.input, { kind: 'file', path: '/m/in/clip.mov' });
  });

  it('node ids come from addresses; priority keys order queue, then priority, then a job that ran before', () => {
    assert.equal(nodeIdFromAddress('https://worker-1.local:9091'), 'worker-1.local-9091');
    assert.equal(nodeIdFromAddress('http://10.0.0.5'), '10.0.0.5-80');
    assert.equal(nodeIdFromAddress('https://Worker_2.example'), 'worker-2.example-443');
    assert.deepEqual(
      [priorityKey('live', 'high', true), priorityKey('live', 'high'), priorityKey('live', 'low'), priorityKey('default', 'high', true), priorityKey('default', 'high'), priorityKey('batch', 'low')],
      [1, 2, 6, 7, 8, 18],
    );
    assert.ok(priorityKey('default', 'medium', true) < priorityKey('default', 'medium'), 'a retry before a fresh job of its class');
    assert.ok(priorityKey('default', 'medium', true) > priorityKey('default', 'high'), 'but after a higher priority');
  });
});
