import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '../../workers/hardware';
import { capabilitiesFromEncoders, detectHardware, parseFfmpegEncoders, parseGstVersion, parseNvidiaSmiCsv } from '../../workers/hardware';
import { fixture } from '../helpers/fixtures';

/** A machine described by recorded outputs: which commands answer what. */
function recordedMachine(opts: { smi?: string; encoders: string; nvencTest?: string; gst?: boolean }): CommandRunner {
  return async (cmd, args) => {
    if (cmd === 'nvidia-smi') return opts.smi ? { ok: true, stdout: opts.smi, stderr: '' } : { ok: false, stdout: '', stderr: 'nvidia-smi: not found' };
    if (cmd === 'ffmpeg' && args.includes('-encoders')) return { ok: true, stdout: opts.encoders, stderr: '' };
    if (cmd === 'ffmpeg') {
      const enc = args[args.indexOf('-c:v') + 1]!;
      if (enc.endsWith('_nvenc')) return { ok: false, stdout: '', stderr: opts.nvencTest ?? 'Cannot load libcuda.so.1' };
      return { ok: true, stdout: '', stderr: '' };
    }
    if (cmd === 'gst-launch-1.0') {
      if (!opts.gst) return { ok: false, stdout: '', stderr: 'not found' };
      return args[0] === '--version' ? { ok: true, stdout: fixture('gst-launch-version.txt'), stderr: '' } : { ok: true, stdout: '', stderr: '' };
    }
    return { ok: false, stdout: '', stderr: `unexpected command ${cmd}` };
  };
}

const noDev = () => mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-dev-'));

describe('hardware detection (recorded outputs through the real parsers)', () => {
  it('parses ffmpeg -encoders: every encoder, nvenc listed even without hardware', () => {
    const names = parseFfmpegEncoders(fixture('ffmpeg-encoders-debian12.txt'));
    for (const n of ['libx264', 'libx265', 'libvpx-vp9', 'libsvtav1', 'libaom-av1', 'h264_nvenc', 'hevc_nvenc', 'h264_qsv', 'h264_vaapi', 'aac']) assert.ok(names.includes(n), n);
    assert.ok(!names.includes('='), 'the legend is not an encoder');
    const noHw = parseFfmpegEncoders(fixture('ffmpeg-encoders-no-hw.txt'));
    assert.ok(noHw.includes('libx264'));
    assert.ok(!noHw.some((n) => /nvenc|qsv|vaapi/.test(n)));
  });

  it('parses the H200 nvidia-smi CSV', () => {
    assert.deepEqual(parseNvidiaSmiCsv(fixture('nvidia-smi-h200.csv')), [
      {
        vendor: 'nvidia',
        name: 'NVIDIA H200',
        uuid: 'GPU-483a70e0-d92f-0d9a-9ea7-7078be2a51b9',
        memory_mib: 143771,
        driver: '580.159.04',
        power_draw_watts: 125.53,
        power_limit_watts: 700,
      },
    ]);
    assert.equal(parseGstVersion(fixture('gst-launch-version.txt')), '1.22.0');
  });

  it('an H200 (a GPU without a video encoder) does not claim nvenc: the test encode decides', async () => {
    const hw = await detectHardware({ run: recordedMachine({ smi: fixture('nvidia-smi-h200.csv'), encoders: fixture('ffmpeg-encoders-debian12.txt'), nvencTest: fixture('ffmpeg-nvenc-test-h200.txt') }), devDir: noDev() });
    assert.equal(hw.gpus[0]!.name, 'NVIDIA H200');
    assert.ok(!hw.capabilities.includes('nvenc'));
    assert.deepEqual(hw.capabilities, ['cpu']);
    assert.match(hw.rejected.h264_nvenc!, /test encode failed: Conversion failed!/);
    assert.match(hw.rejected.h264_qsv!, /no .*renderD\* device/);
  });

  it('a machine whose nvenc test encode succeeds claims nvenc; without a GPU nvenc is not even tried', async () => {
    const withNvenc: CommandRunner = async (cmd, args, t) =>
      cmd === 'ffmpeg' && args.includes('h264_nvenc') ? { ok: true, stdout: '', stderr: '' } : recordedMachine({ smi: fixture('nvidia-smi-h200.csv'), encoders: fixture('ffmpeg-encoders-debian12.txt'), gst: true })(cmd, args, t);
    const hw = await detectHardware({ run: withNvenc, devDir: noDev() });
    assert.deepEqual(hw.capabilities, ['cpu', 'gstreamer', 'nvenc']);
    assert.ok(hw.encoders.includes('h264_nvenc') && hw.encoders.includes('x264enc'));

    const cpuOnly = await detectHardware({ run: recordedMachine({ encoders: fixture('ffmpeg-encoders-debian12.txt') }), devDir: noDev() });
    assert.equal(cpuOnly.gpus.length, 0);
    assert.match(cpuOnly.rejected.h264_nvenc!, /no NVIDIA GPU is present/);
    assert.deepEqual(cpuOnly.capabilities, ['cpu']);
  });

  it('capabilities follow the confirmed encoders', () => {
    assert.deepEqual(capabilitiesFromEncoders(['libx264', 'x264enc', 'h264_vaapi']), ['cpu', 'gstreamer', 'vaapi']);
    assert.deepEqual(capabilitiesFromEncoders([]), []);
  });

  it('on this machine, for real: software encoders confirmed, no hardware claimed', async function () {
    this.timeout(60_000);
    const hw = await detectHardware();
    assert.ok(hw.encoders.includes('libx264'));
    assert.ok(hw.capabilities.includes('cpu'));
    assert.ok(!hw.capabilities.includes('nvenc'), 'no NVIDIA GPU here');
  });
});
