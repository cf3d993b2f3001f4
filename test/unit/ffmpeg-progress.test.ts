import assert from 'node:assert/strict';
import { FfmpegProgressParser, etaSeconds, parseBenchmarkCpu, parseEncoderPsnr, percentDone } from '../../encoders/ffmpeg-progress';

// recorded from `ffmpeg -nostats -progress pipe:1 -stats_period 0.5` (ffmpeg 5.1)
const RECORDED = `frame=1
fps=0.00
stream_0_0_q=0.0
bitrate=N/A
total_size=48
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
dup_frames=0
drop_frames=0
speed=N/A
progress=continue
frame=29
fps=28.51
stream_0_0_q=29.0
bitrate= 512.3kbits/s
total_size=64290
out_time_us=1003900
out_time_ms=1003900
out_time=00:00:01.003900
dup_frames=0
drop_frames=0
speed=0.987x
progress=continue
frame=60
fps=0.00
bitrate= 513.4kbits/s
total_size=128686
out_time_us=2005333
out_time_ms=2005333
out_time=00:00:02.005333
speed=   0x
progress=end
`;

describe('ffmpeg -progress parser', () => {
  it('emits one snapshot per block, handling N/A, padded speed and the end marker', () => {
    const p = new FfmpegProgressParser();
    const snaps = RECORDED.split('\n').map((l) => p.feed(l)).filter(Boolean);
    assert.equal(snaps.length, 3);
    assert.deepEqual(snaps[0], { frame: 1, fps: 0, outTimeUs: 0, speed: null, totalSizeBytes: 48, ended: false });
    assert.deepEqual(snaps[1], { frame: 29, fps: 28.51, outTimeUs: 1003900, speed: 0.987, totalSizeBytes: 64290, ended: false });
    assert.equal(snaps[2]!.speed, 0);
    assert.equal(snaps[2]!.ended, true);
    assert.equal(snaps[2]!.outTimeUs, 2005333);
  });

  it('never lets the encoded time go backwards', () => {
    const p = new FfmpegProgressParser();
    p.feed('out_time_us=5000000');
    p.feed('progress=continue');
    p.feed('out_time_us=-23000');
    const s = p.feed('progress=continue')!;
    assert.equal(s.outTimeUs, 5000000);
  });

  it('falls back to out_time_ms, which is microseconds too', () => {
    const p = new FfmpegProgressParser();
    p.feed('out_time_ms=1500000');
    assert.equal(p.feed('progress=continue')!.outTimeUs, 1500000);
  });

  it('percent is clamped below 100 until the encoder says it ended', () => {
    assert.equal(percentDone(1_000_000, 4, false), 25);
    assert.equal(percentDone(5_000_000, 4, false), 99.9);
    assert.equal(percentDone(0, 4, true), 100);
    assert.equal(percentDone(1_000_000, 0, false), 0);
  });

  it('eta divides what is left by the speed; unknown without a speed', () => {
    assert.equal(etaSeconds(1_000_000, 11, 2), 5);
    assert.equal(etaSeconds(1_000_000, 11, null), null);
    assert.equal(etaSeconds(1_000_000, 11, 0), null);
  });

  it('reads the encoder CPU time from -benchmark', () => {
    assert.equal(parseBenchmarkCpu('bench: utime=1.394s stime=0.229s rtime=1.003s'), 1.623);
    assert.equal(parseBenchmarkCpu('bench: maxrss=262032kB'), undefined);
  });

  it("reads x264's own global PSNR from its closing summary, not from a frame type's line", () => {
    assert.equal(parseEncoderPsnr('[libx264 @ 0x55743c3a1c00] PSNR Mean Y:48.785 U:45.995 V:45.991 Avg:47.642 Global:47.620 kb/s:779.43'), 47.62);
    assert.equal(parseEncoderPsnr('[libx264 @ 0x55743c3a1c00] frame P:59    Avg QP:20.80  size:  3166  PSNR Mean Y:48.74 U:45.94 V:45.94 Avg:47.59 Global:47.58'), undefined);
    assert.equal(parseEncoderPsnr('frame=60 fps=0.0 q=-1.0 LPSNR=Y:inf U:inf V:inf *:inf'), undefined);
  });
});
