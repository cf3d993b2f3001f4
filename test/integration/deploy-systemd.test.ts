/**
 * The systemd units under deploy/systemd: `systemd-analyze verify` accepts them (run on a copy whose
 * /usr/bin/node and /opt/ffrtmp point at this machine's node and this checkout, since verify needs the
 * ExecStart binary to exist), they stop the way the processes expect, they are hardened (exposure
 * from `systemd-analyze security --offline`), and their example settings files parse with the real
 * configuration loaders.
 */
import { MASTER_SCRIPT } from '../../lib/launch';
import { MASTER_NODE_FLAGS, MASTER_PROCESS_ENV } from '../../lib/master-memory';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMasterConfig, masterEnvSchema } from '../../api/config';
import { loadWorkerConfig, workerEnvSchema } from '../../workers/config';
import { REPO_ROOT } from '../helpers/cluster';
import { readRepoFile } from '../helpers/deploy';

const UNITS = {
  'ffrtmp-master.service': { script: 'dist/api/server.js', envFile: 'deploy/systemd/master.env.example', maxExposure: 2.5 },
  'ffrtmp-worker.service': { script: 'dist/workers/agent.js', envFile: 'deploy/systemd/worker.env.example', maxExposure: 3.5 },
} as const;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) })),
  );
}

/** `Key=value` lines of the [Service] section (repeated keys keep every value). */
function serviceSection(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let inService = false;
  for (const line of text.split('\n')) {
    if (/^\[.*\]$/.test(line)) inService = line === '[Service]';
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (inService && m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

function envFile(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('deploy: systemd units', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-units-'));
  /** The unit with the installed layout (/opt/ffrtmp, /usr/bin/node) mapped onto this machine. */
  const localCopy = (unit: string, text: string) => {
    const file = path.join(dir, unit);
    writeFileSync(file, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/ffrtmp', REPO_ROOT));
    return file;
  };

  for (const [unit, spec] of Object.entries(UNITS)) {
    const text = readRepoFile(`deploy/systemd/${unit}`);
    const svc = serviceSection(text);
    const one = (k: string) => svc.get(k)?.[svc.get(k)!.length - 1];

    it(`${unit}: systemd-analyze verify accepts it, with no warning`, async () => {
      const [node, ...rest] = one('ExecStart')!.split(' ');
      const script = rest.pop()!;
      assert.equal(node, '/usr/bin/node');
      // a master starts with its heap caps, as every other place that starts one
      assert.deepEqual(rest, spec.script === `dist/${MASTER_SCRIPT}` ? MASTER_NODE_FLAGS : []);
      if (spec.script === `dist/${MASTER_SCRIPT}`) for (const [k, v] of Object.entries(MASTER_PROCESS_ENV)) assert.match(one('Environment')!, new RegExp(`(^| )${k}=${v}( |$)`));
      assert.equal(script, `/opt/ffrtmp/${spec.script}`);
      assert.ok(existsSync(path.join(REPO_ROOT, spec.script)), `${spec.script} is in the build output`);
      const r = await run('systemd-analyze', ['verify', localCopy(unit, text)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warnings (an unknown key is only a warning)');
    });

    it(`${unit}: runs as its own user with its settings file, restarts on failure, stops with SIGTERM`, () => {
      assert.equal(one('User'), 'ffrtmp');
      assert.match(one('EnvironmentFile')!, /^\/etc\/ffrtmp\/(master|worker)\.env$/);
      assert.equal(one('Restart'), 'on-failure');
      assert.equal(one('RestartPreventExitStatus'), '2', 'a configuration error (exit 2) is not retried');
      assert.equal(one('KillSignal'), 'SIGTERM');
      assert.equal(one('StateDirectory'), 'ffrtmp');
      assert.match(one('Environment')!, /FFRTMP_DATA_DIR=\/var\/lib\/ffrtmp/);
    });

    it(`${unit}: sets only settings the process reads, with values its loader accepts`, () => {
      const env = { ...envFile(readRepoFile(spec.envFile)), ...envFile(one('Environment')!.split(' ').join('\n')) };
      const schema = unit.includes('master') ? masterEnvSchema : workerEnvSchema;
      for (const key of Object.keys(env)) {
        // the process environment of a master (lib/master-memory.ts), not one of its settings
        if (key === 'NODE_ENV' || key.startsWith('LOG_') || key in MASTER_PROCESS_ENV) continue;
        assert.ok(key in schema.shape, `${spec.envFile}: ${key} is not a setting of the ${unit.includes('master') ? 'master' : 'worker'}`);
      }
      if (unit.includes('master')) loadMasterConfig(env);
      else loadWorkerConfig(env);
    });

    it(`${unit}: is hardened`, async () => {
      for (const [k, v] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', CapabilityBoundingSet: '', RestrictSUIDSGID: 'yes' })) {
        assert.equal(one(k), v, `${k}=${v}`);
      }
      const r = await run('systemd-analyze', ['security', '--offline=yes', localCopy(unit, text)]);
      const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout);
      assert.ok(m, r.stdout + r.stderr);
      console.log(`      ${unit}: systemd-analyze security exposure ${m[1]} (10 = unprotected)`);
      assert.ok(Number(m[1]) <= spec.maxExposure, `exposure ${m[1]} > ${spec.maxExposure}`);
    });
  }

  it('the worker unit outlasts the shutdown grace: SIGTERM to the agent alone, SIGKILL only after it', () => {
    const svc = serviceSection(readRepoFile('deploy/systemd/ffrtmp-worker.service'));
    assert.equal(svc.get('KillMode')?.[0], 'mixed', 'encoders are not signalled with the agent');
    const timeout = Number(/^(\d+)s?$/.exec(svc.get('TimeoutStopSec')![0]!)![1]);
    const graces = [workerEnvSchema.shape.FFRTMP_SHUTDOWN_GRACE_SECONDS.parse(undefined), Number(envFile(readRepoFile(UNITS['ffrtmp-worker.service'].envFile)).FFRTMP_SHUTDOWN_GRACE_SECONDS ?? 0)];
    for (const grace of graces) assert.ok(timeout > grace + 10, `TimeoutStopSec=${timeout} leaves the agent time after a ${grace} s grace`);
    assert.ok(svc.get('SupplementaryGroups')?.[0]?.includes('render'), 'VAAPI/QSV render nodes are reachable');
    assert.equal(svc.get('PrivateDevices'), undefined, 'GPU devices stay visible');
    assert.equal(svc.get('ProtectClock'), undefined, 'ProtectClock would imply a device allow-list without the GPUs');
  });

  it('the sysusers file creates the user the units name', () => {
    assert.match(readRepoFile('deploy/systemd/ffrtmp.sysusers.conf'), /^u\s+ffrtmp\s/m);
  });
});
