/**
 * Segment-parallel encoding, the cut and the join with real FFmpeg (no Temporal): inputs made to be
 * hard (variable frame rate, keyframes far apart, hard scene cuts, a 1-frame last segment) are
 * planned (domain/segments.ts), encoded segment by segment with the worker's own command builder,
 * joined by the join's builder, and measured against a single pass of the same range with the
 * same builder: exactly its frame count, its duration and audio samples (± one AAC frame), a clean
 * decode, and a PSNR against the source within 0.5 dB of the single pass's.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EncodeSpec } from '../../domain/job';
import { planSegments, singlePassFrames, type Segment } from '../../domain/segments';
import { judgeSplitOutput, type SegmentPsnr } from '../../domain/split-checks';
import { buildFfmpegArgs } from '../../encoders/ffmpeg-command';
import { buildJoinArgs, concatList } from '../../encoders/ffmpeg-join';
import { parseEncoderPsnr } from '../../encoders/ffmpeg-progress';
import { probeKeyframes, probeMedia } from '../../activities/probe';
import { measureSplitOutput } from '../../activities/split-measure';

const run = promisify(execFile);
const ffmpeg = (args: string[]) => run('ffmpeg', args, { maxBuffer: 16 * 1024 * 1024 });

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ffrtmp-segments-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A source clip: `video` is a lavfi graph (its last output the video), a tone beside it, H.264/AAC. */
function makeClip(name: string, video: string, seconds: number, x264: string[]): string {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', [
    '-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=44100:duration=${seconds}`,
    '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', ...x264, '-c:a', 'aac', '-fps_mode', 'vfr', '-f', 'mp4', '-y', file,
  ]);
  return file;
}

const spec = (input: string, durationSec: number): EncodeSpec => ({
  width: 320, height: 180, fps: 30, durationSec, codec: 'h264', encoder: 'libx264', engine: 'ffmpeg',
  bitrateKbps: 600, preset: 'veryfast', audio: true, input: { kind: 'file', path: input }, output: { mode: 'file' },
});

/** The segments encoded and joined; with what each segment's encoder measured of its PSNR, as a worker reads it. */
async function encodeSplit(s: EncodeSpec, input: string, segments: Segment[], durationSec: number, tag: string): Promise<{ joined: string; segmentPsnr: (SegmentPsnr | null)[] }> {
  const segmentPsnr: (SegmentPsnr | null)[] = [];
  const files = await Promise.all(
    segments.map(async (seg, i) => {
      const out = path.join(dir, `${tag}.seg-${seg.index}.mp4`);
      const { stderr } = await ffmpeg(buildFfmpegArgs(s, { input, output: out, format: 'mp4', segment: seg }));
      const psnrDb = String(stderr).split('\n').map(parseEncoderPsnr).find((x) => x !== undefined);
      segmentPsnr[i] = psnrDb === undefined ? null : { frames: seg.frames, psnrDb };
      return out;
    }),
  );
  const list = path.join(dir, `${tag}.list`);
  writeFileSync(list, concatList(files));
  const joined = path.join(dir, `${tag}.joined.mp4`);
  await ffmpeg(buildJoinArgs(s, { list, input, durationSec, output: joined, format: 'mp4' }));
  return { joined, segmentPsnr };
}

interface Case {
  name: string;
  make: () => string;
  requestedSec: number;
  segmentSec: number;
  atKeyframes: boolean;
  /** what the plan must look like: segment frame counts */
  frames?: number[];
  cuts?: Segment['cut'][];
  /** at least one cut is at a source keyframe */
  snaps?: boolean;
}

const CASES: Case[] = [
  {
    name: 'a variable-frame-rate clip (30 fps, then 15 fps, then 24)',
    make: () => makeClip('vfr.mp4', "testsrc2=size=320x180:rate=30:duration=3,setpts='if(lt(N,45),N/30,if(lt(N,60),1.5+(N-45)/15,2.5+(N-60)/24))/TB'", 3, ['-g', '30']),
    requestedSec: 10,
    segmentSec: 2,
    atKeyframes: true,
  },
  {
    name: 'keyframes far apart (one, at the start)',
    make: () => makeClip('far-keyframes.mp4', 'testsrc2=size=320x180:rate=25:duration=6', 6, ['-g', '1000', '-sc_threshold', '0']),
    requestedSec: 6,
    segmentSec: 2,
    atKeyframes: true,
    frames: [60, 60, 60],
    cuts: ['start', 'frame', 'frame'],
  },
  {
    name: 'hard scene cuts (keyframes where the picture changes)',
    make: () =>
      makeClip(
        'scene-cuts.mp4',
        'testsrc2=size=320x180:rate=30:duration=1.3[a];smptehdbars=size=320x180:rate=30:duration=1.1[b];rgbtestsrc=size=320x180:rate=30:duration=1.7[c];color=c=red:size=320x180:rate=30:duration=1.4,format=yuv420p[d];[a]format=yuv420p[a2];[b]format=yuv420p[b2];[c]format=yuv420p[c2];[a2][b2][c2][d]concat=n=4',
        5.5,
        ['-g', '600', '-x264-params', 'scenecut=40'],
      ),
    requestedSec: 5.5,
    segmentSec: 2,
    atKeyframes: true,
    snaps: true,
  },
  {
    name: 'a 1-frame last segment (121 frames in segments of 60)',
    make: () => makeClip('one-frame-tail.mp4', 'testsrc2=size=320x180:rate=30:duration=4.0333333', 4.0333333, ['-g', '60']),
    requestedSec: 121 / 30,
    segmentSec: 2,
    atKeyframes: false,
    frames: [60, 60, 1],
  },
];

describe('segment-parallel encoding: cut and join with FFmpeg', function () {
  this.timeout(120_000);

  for (const c of CASES) {
    it(`${c.name}: the joined output is the single pass's frames, duration and audio, and as good`, async () => {
      const input = c.make();
      const probe = await probeMedia('ffprobe', input);
      const durationSec = Math.min(c.requestedSec, probe.duration ?? c.requestedSec);
      const s = spec(input, c.requestedSec);
      const total = singlePassFrames(c.requestedSec, probe.duration, s.fps);
      const keyframes = c.atKeyframes ? await probeKeyframes('ffmpeg', input) : undefined;
      const segments = planSegments({ durationSec, fps: s.fps, totalFrames: total, keyframes }, { segmentSec: c.segmentSec });
      if (c.frames) assert.deepEqual(segments.map((x) => x.frames), c.frames);
      if (c.cuts) assert.deepEqual(segments.map((x) => x.cut), c.cuts);
      if (c.snaps) assert.ok(segments.some((x) => x.cut === 'keyframe'), JSON.stringify(segments));
      assert.ok(segments.length >= 2, `${segments.length} segments`);

      // the single pass: the worker's own command for the whole job
      const single = path.join(dir, `${path.basename(input)}.single.mp4`);
      await ffmpeg(buildFfmpegArgs({ ...s, durationSec }, { input, output: single, format: 'mp4' }));
      const { joined, segmentPsnr } = await encodeSplit(s, input, segments, durationSec, path.basename(input));

      const [one, split, asJob] = await Promise.all([
        measureSplitOutput({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', file: single, spec: s, input, durationSec }),
        measureSplitOutput({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', file: joined, spec: s, input, durationSec }),
        // what the job's join records: the segments' own PSNR, no comparison with the source
        measureSplitOutput({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', file: joined, spec: s, input, durationSec, segmentPsnr }),
      ]);
      const figures = `single ${JSON.stringify(one)} split ${JSON.stringify(split)} plan ${JSON.stringify(segments.map((x) => [x.startFrame, x.frames, x.cut]))}`;
      assert.equal(one.frames, total, `the plan's total is the single pass's count: ${figures}`);
      assert.equal(split.frames, one.frames, figures);
      assert.ok(Math.abs(split.durationSec! - one.durationSec!) <= 1 / s.fps, figures);
      assert.ok(one.audioSamples !== null && split.audioSamples !== null, figures);
      assert.ok(Math.abs(split.audioSamples - one.audioSamples) <= 1024, figures);
      assert.deepEqual(split.decodeErrors, [], figures);
      assert.ok(one.psnrDb !== null && split.psnrDb !== null, figures);
      assert.ok(split.psnrDb >= one.psnrDb - 0.5, figures);
      // the segments' encoders measured the same PSNR as the comparison with the source
      assert.equal(split.psnrBy, 'comparison with the source');
      assert.equal(asJob.psnrBy, 'segment encoders', JSON.stringify(segmentPsnr));
      assert.ok(Math.abs(asJob.psnrDb! - split.psnrDb) <= 0.05, `${figures} as the job records it ${JSON.stringify(asJob)}`);
      assert.deepEqual({ ...asJob, psnrDb: 0, psnrBy: null }, { ...split, psnrDb: 0, psnrBy: null });
      // and the check every split job gets passes on it
      const checks = judgeSplitOutput(split, { frames: total, durationSec, audioSec: Math.min(durationSec, probe.audio?.duration ?? durationSec), fps: s.fps, sampleRate: 48_000 });
      assert.ok(checks.every((x) => x.ok), JSON.stringify(checks));
    });
  }

  it('a generated source (no input): each segment generates its own range, the tone is generated once', async () => {
    const s: EncodeSpec = { ...spec('/unused', 3), input: { kind: 'synthetic' } };
    const total = singlePassFrames(3, null, 30);
    const segments = planSegments({ durationSec: 3, fps: 30, totalFrames: total }, { count: 3 });
    const single = path.join(dir, 'synthetic.single.mp4');
    await ffmpeg(buildFfmpegArgs(s, { output: single, format: 'mp4' }));
    const files = await Promise.all(segments.map(async (seg) => {
      const out = path.join(dir, `synthetic.seg-${seg.index}.mp4`);
      await ffmpeg(buildFfmpegArgs(s, { output: out, format: 'mp4', segment: seg }));
      return out;
    }));
    const list = path.join(dir, 'synthetic.list');
    writeFileSync(list, concatList(files));
    const joined = path.join(dir, 'synthetic.joined.mp4');
    await ffmpeg(buildJoinArgs(s, { list, durationSec: 3, output: joined, format: 'mp4' }));
    const [one, split] = await Promise.all([single, joined].map((file) => measureSplitOutput({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', file, spec: s, durationSec: 3 })));
    const figures = JSON.stringify({ one, split });
    assert.equal(split!.frames, 90, figures);
    assert.equal(one!.frames, 90, figures);
    assert.ok(Math.abs(split!.audioSamples! - one!.audioSamples!) <= 1024, figures);
    assert.ok(split!.psnrDb! >= one!.psnrDb! - 0.5, figures);
    assert.deepEqual(split!.decodeErrors, []);
  });

  it('audio encoded per segment would drift; the check catches what the join avoids', () => {
    // four 2.5 s segments, each with its own AAC encode, decoded to 487,424 samples (measured); the
    // range is 480,000: the check names the figure
    const checks = judgeSplitOutput({ frames: 300, durationSec: 10.15, audioSamples: 487_424, decodeErrors: [], psnrDb: 40 }, { frames: 300, durationSec: 10, audioSec: 10, fps: 30, sampleRate: 48_000 });
    const bad = checks.filter((x) => !x.ok).map((x) => x.name);
    assert.deepEqual(bad, ['duration', 'audio samples']);
  });
});
