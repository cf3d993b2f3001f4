import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PowerMonitor, counterDelta, discoverRaplZones, jobEnergy, parseNvidiaPower, parseProcStat } from '../../workers/power';
import { FIXTURES, fixture } from '../helpers/fixtures';

/** A copy of the recorded powercap tree whose counters the test advances, as the CPU would. */
function raplTree(): { root: string; add(zone: string, uj: number): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-rapl-'));
  cpSync(path.join(FIXTURES, 'rapl'), root, { recursive: true });
  return {
    root,
    add(zone, uj) {
      const f = path.join(root, zone, 'energy_uj');
      writeFileSync(f, String(Number(readFileSync(f, 'utf8')) + uj));
    },
  };
}

/** A /proc/stat whose busy time the test advances. */
function procStat(): { file: string; busy(jiffies: number, idle: number): void } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-stat-')), 'stat');
  let user = 1000;
  let idleT = 5000;
  const write = () => writeFileSync(file, `cpu  ${user} 0 0 ${idleT} 0 0 0 0 0 0\ncpu0 1 2 3\n`);
  write();
  return { file, busy: (j, i) => ((user += j), (idleT += i), write()) };
}

describe('power and energy', () => {
  it('counter deltas survive the RAPL wrap', () => {
    assert.equal(counterDelta(100, 250, 1000), 150);
    assert.equal(counterDelta(900, 50, 1000), 150);
  });

  it('parses nvidia-smi power and /proc/stat', () => {
    assert.deepEqual(parseNvidiaPower('0, 125.53\n1, 80.10\n'), [{ index: 0, watts: 125.53 }, { index: 1, watts: 80.1 }]);
    assert.deepEqual(parseNvidiaPower('0, [N/A]\n'), []);
    assert.deepEqual(parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\n'), { busy: 150, total: 1000 });
  });

  it('finds RAPL zones, packages as top level', () => {
    const zones = discoverRaplZones(path.join(FIXTURES, 'rapl'));
    assert.deepEqual(zones.map((z) => [z.domain, z.topLevel]), [
      ['package-0', true], ['core@0', false], ['dram@0', false], ['package-1', true], ['core@1', false], ['dram@1', false],
    ]);
    assert.deepEqual(discoverRaplZones('/nonexistent'), []);
  });

  it('with RAPL: measured package energy, shared among jobs by CPU time; sub-zones not double counted', async () => {
    const rapl = raplTree();
    const stat = procStat();
    const m = new PowerMonitor({ raplRoot: rapl.root, cpuThreads: 8, procStatPath: stat.file });
    assert.equal(m.cpuSource, 'rapl');
    const start = m.snapshot();
    rapl.add('intel-rapl:0', 30_000_000); // 30 J
    rapl.add('intel-rapl:1', 10_000_000); // 10 J
    rapl.add('intel-rapl:0:0', 25_000_000); // inside package-0: not added again
    stat.busy(400, 0); // 4 busy CPU seconds on the machine
    await m.sample();
    const end = m.snapshot();
    assert.deepEqual(m.measuredBetween(start, end), { cpuJoules: 40, gpuJoules: null });
    const e = jobEnergy(m, start, { ...end, at: start.at + 2_000 }, { cpuSeconds: 1, gpu: false });
    assert.deepEqual([e.energy_joules, e.power_source, e.avg_power_watts, e.estimated_cpu_joules], [10, 'rapl', 5, null]);
    assert.ok(m.readings().every((r) => r.source === 'rapl'));
  });

  it('without sensors: an estimate from CPU time, labelled so', async () => {
    const stat = procStat();
    const m = new PowerMonitor({ raplRoot: '/nonexistent', cpuThreads: 4, wattsPerBusyThread: 12, procStatPath: stat.file });
    assert.equal(m.cpuSource, 'estimate');
    stat.busy(100, 300); // a quarter of the machine busy
    await m.sample();
    const [r] = m.readings();
    assert.deepEqual([r!.domain, r!.source, r!.watts], ['cpu', 'estimate', 12]);
    const s = m.snapshot();
    const e = jobEnergy(m, s, { ...s, at: s.at + 5_000 }, { cpuSeconds: 2.5, gpu: false });
    assert.deepEqual([e.energy_joules, e.power_source, e.avg_power_watts], [30, 'estimate', 6]);
  });

  it('a GPU job on a machine with nvidia-smi but no RAPL: GPU measured, CPU estimate kept apart', async () => {
    const smi = fixture('nvidia-smi-h200.csv'); // the H200 drew 125.53 W
    const watts = smi.split('\n')[1]!.split(',')[4]!.trim().replace(' W', '');
    const m = new PowerMonitor({
      raplRoot: '/nonexistent', cpuThreads: 16, nvidia: true, procStatPath: procStat().file,
      run: async () => ({ ok: true, stdout: `0, ${watts}\n`, stderr: '' }),
    });
    const start = m.snapshot();
    await new Promise((r) => setTimeout(r, 50)); // a measurable interval for the integral, not synchronisation
    await m.sample();
    const end = m.snapshot();
    const gpuJ = m.measuredBetween(start, end).gpuJoules!;
    assert.ok(gpuJ > 0);
    const e = jobEnergy(m, start, end, { cpuSeconds: 1, gpu: true });
    assert.equal(e.power_source, 'nvidia-smi');
    assert.equal(e.energy_joules, Math.round(gpuJ * 100) / 100);
    assert.equal(e.estimated_cpu_joules, 10, 'the CPU estimate is reported beside, not added');
    assert.deepEqual(m.readings().find((r) => r.source === 'nvidia-smi'), { domain: 'gpu0', source: 'nvidia-smi', watts: 125.53 });
  });
});
