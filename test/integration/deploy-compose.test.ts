/**
 * docker-compose.yml, the Dockerfile and the files under deploy/ against the code: the real
 * `docker compose config` validates and resolves the file, then every ffrtmp service's command,
 * environment, ports and mounts are checked against the build output and the zod schemas, the start
 * order against the health checks, and the Temporal, VictoriaMetrics and Grafana files against what
 * the code registers and exports.
 */
import { MASTER_SCRIPT } from '../../lib/launch';
import { MASTER_NODE_FLAGS, MASTER_PROCESS_ENV } from '../../lib/master-memory';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadMasterConfig, masterEnvSchema } from '../../api/config';
import { pinnedServerVersion } from '../../lib/cluster/temporal-server';
import { DYNAMIC_CONFIG } from '../../lib/dev-server';
import { searchAttributeDefinitions } from '../../domain/search-attributes';
import { loadWorkerConfig, workerEnvSchema } from '../../workers/config';
import { DIRECT_SETTINGS } from '../../scripts/settings-table';
import { DIST, REPO_ROOT } from '../helpers/cluster';
import { compose, dashboards, readRepoFile, readYaml } from '../helpers/deploy';

const VARS = { FFMPEG_RTMP_API_KEY: 'compose-test-key-0123456789', TEMPORAL_DB_PASSWORD: 'compose-test-db', GRAFANA_ADMIN_PASSWORD: 'compose-test-grafana' };
const FFRTMP_SERVICES = { master: masterEnvSchema, worker: workerEnvSchema, 'worker-gpu': workerEnvSchema } as const;
/** Variables that reach an ffrtmp process: the schemas' families, and the ones read directly. */
const OURS = /^(FFRTMP_|TEMPORAL_|FFMPEG_|FFPROBE_|GST_|LOG_)/;

type Service = {
  image?: string;
  build?: unknown;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  stop_grace_period?: string;
  volumes?: { type: string; source: string; target: string }[];
  ports?: { target: number; published: string }[];
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; capabilities?: string[]; count?: unknown }[] } } };
};
type Model = { services: Record<string, Service>; volumes?: Record<string, unknown> };

function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  assert.ok(m, `a duration: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

describe('deploy: docker-compose.yml', function () {
  this.timeout(60_000);
  let model: Model;
  let configMs: number;

  before(async () => {
    const r = await compose(['--profile', 'gpu', 'config', '--format', 'json'], VARS);
    assert.equal(r.code, 0, `docker compose config failed:\n${r.stderr}`);
    model = JSON.parse(r.stdout) as Model;
    configMs = r.ms;
  });

  it('is valid for `docker compose config`, with and without the gpu profile', async () => {
    const plain = await compose(['config', '--quiet'], VARS);
    assert.equal(plain.code, 0, plain.stderr);
    console.log(`      docker compose config: ${configMs} ms (gpu profile, JSON), ${plain.ms} ms (--quiet)`);
    const services = (await compose(['config', '--services'], VARS)).stdout.trim().split('\n').sort();
    assert.deepEqual(services, ['grafana', 'master', 'postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'victoriametrics', 'worker']);
    assert.ok(model.services['worker-gpu'], 'the gpu profile adds worker-gpu');
  });

  it('refuses to start without its secrets, naming the variable and where to set it', async () => {
    const r = await compose(['config', '--quiet'], {});
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /(FFMPEG_RTMP_API_KEY|TEMPORAL_DB_PASSWORD|GRAFANA_ADMIN_PASSWORD).*\.env/);
    const text = readRepoFile('docker-compose.yml');
    for (const secret of Object.keys(VARS)) {
      assert.match(text, new RegExp(`\\$\\{${secret}:\\?`), `${secret} is required, never defaulted`);
      assert.match(readRepoFile('deploy/env.example'), new RegExp(`^${secret}=change-me`, 'm'));
    }
  });

  it('sets only environment variables the master and worker read, with values their schemas accept', () => {
    for (const [name, schema] of Object.entries(FFRTMP_SERVICES)) {
      const env = Object.fromEntries(Object.entries(model.services[name]!.environment ?? {}).map(([k, v]) => [k, v ?? '']));
      const role = name === 'master' ? 'master' : 'worker';
      const known = new Set([...Object.keys(schema.shape), ...Object.entries(DIRECT_SETTINGS).filter(([, d]) => d.roles.includes(role)).map(([k]) => k)]);
      for (const key of Object.keys(env).filter((k) => OURS.test(k))) {
        assert.ok(known.has(key), `${name} sets ${key}, which ${role === 'master' ? 'masterEnvSchema' : 'workerEnvSchema'} does not read`);
      }
      // the values themselves start a master / worker (the same parser the processes use)
      if (role === 'master') loadMasterConfig(env);
      else loadWorkerConfig(env);
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233', `${name} talks to the temporal service`);
      assert.ok(['json', undefined].includes(env.LOG_FORMAT), 'containers log JSON lines');
    }
    // the image's own defaults are schema keys too
    for (const m of readRepoFile('Dockerfile').matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=\S+/gm)) {
      if (OURS.test(m[1]!)) assert.ok(m[1]! in masterEnvSchema.shape || m[1]! in workerEnvSchema.shape || m[1]! in DIRECT_SETTINGS, `Dockerfile ENV ${m[1]}`);
    }
  });

  it('runs commands that exist in the build output, from the image\'s working directory', () => {
    const dockerfile = readRepoFile('Dockerfile');
    assert.match(dockerfile, /^WORKDIR \/app$/m);
    assert.match(dockerfile, /^COPY --from=build \/src\/dist \.\/dist$/m);
    const expected = { master: 'dist/api/server.js', worker: 'dist/workers/agent.js', 'worker-gpu': 'dist/workers/agent.js' };
    for (const [name, script] of Object.entries(expected)) {
      const s = model.services[name]!;
      // a master starts with its heap caps, as every other place that starts one
      assert.deepEqual(s.command, ['node', ...(script === `dist/${MASTER_SCRIPT}` ? MASTER_NODE_FLAGS : []), script]);
      if (script === `dist/${MASTER_SCRIPT}`) for (const [k, v] of Object.entries(MASTER_PROCESS_ENV)) assert.equal(s.environment?.[k], v, `${name} sets ${k}`);
      assert.ok(existsSync(path.join(REPO_ROOT, script)), `${script} is built (npm run build)`);
      assert.equal(s.image, 'ffrtmp:local');
      assert.ok(s.build, `${name} builds the project's Dockerfile`);
    }
    assert.ok(existsSync(path.join(DIST, 'workflow-bundle.js')), 'the workflow bundle is part of the build');
    // the image's default command is the master
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    assert.deepEqual(JSON.parse(cmd ?? 'null'), ['node', ...MASTER_NODE_FLAGS, `dist/${MASTER_SCRIPT}`]);
    // and its environment, as the compose file's master has it
    for (const [k, v] of Object.entries(MASTER_PROCESS_ENV)) assert.match(dockerfile, new RegExp(`^\\s*(?:ENV\\s+)?${k}=${v}(?:\\s|$)`, 'm'), `the image sets ${k}=${v}`);
  });

  it('health-checks each ffrtmp process on the port it really listens on', () => {
    const masterEnv = masterEnvSchema.parse(model.services.master!.environment);
    assert.match(model.services.master!.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${masterEnv.FFRTMP_API_PORT}/health`));
    for (const w of ['worker', 'worker-gpu']) {
      const env = workerEnvSchema.parse(model.services[w]!.environment);
      assert.match(model.services[w]!.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${env.FFRTMP_METRICS_PORT}/health`));
    }
    assert.ok(model.services.master!.ports!.some((p) => p.target === masterEnv.FFRTMP_API_PORT), 'the API is published');
  });

  it('comes up in order: every dependency waits on a health check or a finished one-shot', () => {
    const s = model.services;
    const order: [string, string, string][] = [
      ['temporal-schema', 'postgresql', 'service_healthy'],
      ['temporal', 'temporal-schema', 'service_completed_successfully'],
      ['temporal-setup', 'temporal', 'service_healthy'],
      ['master', 'temporal-setup', 'service_completed_successfully'],
      ['worker', 'master', 'service_healthy'],
      ['worker-gpu', 'master', 'service_healthy'],
      ['grafana', 'victoriametrics', 'service_healthy'],
    ];
    for (const [svc, dep, condition] of order) assert.equal(s[svc]!.depends_on?.[dep]?.condition, condition, `${svc} waits for ${dep}`);
    for (const [name, svc] of Object.entries(s)) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        assert.notEqual(condition, 'service_started', `${name} → ${dep}: a condition that means something`);
        if (condition === 'service_healthy') assert.ok(s[dep]!.healthcheck, `${dep} has a health check (${name} waits on it)`);
        if (condition === 'service_completed_successfully') assert.match(s[dep]!.restart ?? 'no', /^(no|on-failure(:\d+)?)$/, `${dep} is a one-shot`);
      }
    }
  });

  it('gives running encodes their shutdown grace before docker kills a worker', () => {
    for (const w of ['worker', 'worker-gpu']) {
      const env = workerEnvSchema.parse(model.services[w]!.environment);
      assert.ok(seconds(model.services[w]!.stop_grace_period!) > env.FFRTMP_SHUTDOWN_GRACE_SECONDS, `${w}: stop_grace_period > FFRTMP_SHUTDOWN_GRACE_SECONDS`);
    }
  });

  it('runs the GPU worker only under the gpu profile, with an NVIDIA device reservation that includes NVENC', () => {
    const gpu = model.services['worker-gpu']!;
    assert.deepEqual(gpu.profiles, ['gpu']);
    const device = gpu.deploy?.resources?.reservations?.devices?.[0];
    assert.equal(device?.driver, 'nvidia');
    for (const cap of ['gpu', 'video', 'utility']) assert.ok(device?.capabilities?.includes(cap), `capability ${cap}`);
    assert.match(readRepoFile('Dockerfile'), /NVIDIA_DRIVER_CAPABILITIES=[^\n]*video/);
  });

  it('runs the one-shot setup scripts from files it mounts', () => {
    for (const name of ['temporal-schema', 'temporal-setup']) {
      const svc = model.services[name]!;
      assert.deepEqual(svc.entrypoint, ['/bin/sh']);
      const script = svc.command![0]!;
      const mount = svc.volumes!.find((v) => v.target === script);
      assert.ok(mount && existsSync(mount.source), `${name} runs ${script}, mounted from the repository`);
    }
  });

  it('mounts files that exist, and pins every published image to a version', () => {
    for (const [name, svc] of Object.entries(model.services)) {
      for (const v of svc.volumes ?? []) {
        if (v.type === 'bind') assert.ok(existsSync(v.source), `${name} mounts ${v.source}`);
      }
      if (!svc.build) assert.match(svc.image ?? '', /:[vV]?\d+(\.\d+)*$/, `${name}: ${svc.image} is pinned`);
    }
    // one pinned server version (deploy/temporal/versions.env): the images and the server cluster.sh builds
    const pinned = pinnedServerVersion(REPO_ROOT);
    assert.equal(model.services.temporal!.image, `temporalio/server:${pinned}`);
    assert.equal(model.services['temporal-schema']!.image, `temporalio/admin-tools:${pinned}`);
    assert.match(model.services['temporal-ui']!.image!, /^temporalio\/ui:2\.4\d\./);
    assert.equal(model.services['temporal-setup']!.image, model.services['temporal-schema']!.image);
  });

  it('registers exactly the search attributes the code uses, and the dynamic config it relies on', () => {
    const declared = String(model.services['temporal-setup']!.environment!.SEARCH_ATTRIBUTES).trim().split(/\s+/).sort();
    assert.deepEqual(declared, searchAttributeDefinitions().map((d) => `${d.name}=${d.type}`).sort());
    const file = readYaml<Record<string, { value: unknown }[]>>('deploy/temporal/dynamicconfig.yaml');
    for (const [key, value] of Object.entries(DYNAMIC_CONFIG)) assert.deepEqual(file[key], [{ value }], `dynamic config ${key}`);
    const temporal = model.services.temporal!;
    const mount = temporal.volumes!.find((v) => v.source.endsWith('deploy/temporal/dynamicconfig.yaml'))!;
    assert.equal(`/etc/temporal/${temporal.environment!.DYNAMIC_CONFIG_FILE_PATH}`, mount.target);
  });

  it('scrapes the master and every worker on the ports they serve metrics on (VictoriaMetrics accepts the file)', () => {
    const vm = model.services.victoriametrics!;
    const mount = vm.volumes!.find((v) => v.source.endsWith('deploy/victoriametrics/scrape.yml'))!;
    assert.ok(vm.command!.includes(`-promscrape.config=${mount.target}`));
    // the Debian victoria-metrics the tests use parses it strictly (unknown fields fail)
    execFileSync('victoria-metrics', ['-promscrape.config', mount.source, '-promscrape.config.dryRun'], { stdio: 'pipe' });
    const scrape = readYaml<{ scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[] }>('deploy/victoriametrics/scrape.yml');
    const masterPort = masterEnvSchema.parse(model.services.master!.environment).FFRTMP_MASTER_METRICS_PORT;
    const targets = scrape.scrape_configs.flatMap((c) => c.static_configs?.flatMap((s) => s.targets) ?? []);
    assert.ok(targets.includes(`master:${masterPort}`), 'the master is scraped');
    const dns = scrape.scrape_configs.flatMap((c) => c.dns_sd_configs ?? []);
    for (const w of ['worker', 'worker-gpu']) {
      const port = workerEnvSchema.parse(model.services[w]!.environment).FFRTMP_METRICS_PORT;
      assert.ok(dns.some((d) => d.names.includes(w) && d.port === port), `${w} replicas are scraped on :${port}`);
    }
  });

  it('provisions Grafana with the VictoriaMetrics data source that every dashboard panel uses', () => {
    const ds = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>('deploy/grafana/provisioning/datasources/victoriametrics.yml').datasources[0]!;
    assert.equal(ds.type, 'prometheus');
    assert.equal(ds.url, 'http://victoriametrics:8428');
    const provider = readYaml<{ providers: { options: { path: string } }[] }>('deploy/grafana/provisioning/dashboards/ffrtmp.yml').providers[0]!;
    const grafana = model.services.grafana!;
    const dashMount = grafana.volumes!.find((v) => v.source.endsWith('deploy/grafana/dashboards'))!;
    assert.equal(provider.options.path, dashMount.target, 'the provider reads the mounted dashboards');
    assert.ok(grafana.volumes!.some((v) => v.source.endsWith('deploy/grafana/provisioning') && v.target === '/etc/grafana/provisioning'));
    const all = dashboards();
    assert.deepEqual(all.map((d) => d.dashboard.uid).sort(), ['ffrtmp-jobs', 'ffrtmp-workers']);
    assert.ok(all.some((d) => grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH === `${dashMount.target}/${d.file}`), 'the home dashboard exists');
    for (const { file, dashboard } of all) {
      assert.ok(dashboard.panels.length > 0, file);
      for (const p of dashboard.panels) {
        assert.equal(p.datasource?.uid, ds.uid, `${file}: ${p.title}`);
        assert.ok(p.targets.length > 0 && p.targets.every((t) => t.expr && t.datasource?.uid === ds.uid), `${file}: ${p.title} has queries on ${ds.uid}`);
      }
    }
  });
});

describe('deploy: Dockerfile', () => {
  const dockerfile = readRepoFile('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => ({ image: m[1], name: m[2] }));

  it('builds in one stage (npm ci, npm run build) and runs from node:20-bookworm-slim in another', () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    assert.deepEqual(stages, [{ image: '${NODE_IMAGE}', name: 'build' }, { image: '${NODE_IMAGE}', name: 'runtime' }]);
    const build = dockerfile.slice(dockerfile.indexOf('AS build'), dockerfile.indexOf('AS runtime'));
    assert.match(build, /RUN npm ci\b/);
    assert.match(build, /npm run build/);
    assert.match(build, /npm prune --omit=dev/);
    // the Temporal bridge library the prune keeps is the one Node loads on this platform
    assert.match(build, /! -name "\$\(uname -m\)-unknown-linux-gnu"/);
    const arch = execFileSync('uname', ['-m']).toString().trim();
    assert.ok(existsSync(path.join(REPO_ROOT, 'node_modules/@temporalio/core-bridge/releases', `${arch}-unknown-linux-gnu`, 'index.node')));
  });

  it('installs ffmpeg, GStreamer and setpriv from Debian — the same packages scripts/lib/setup.sh installs', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    const install = /apt-get install -y --no-install-recommends([^&]+)&&/.exec(runtime)![1]!.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
    const setup = readRepoFile('scripts/lib/setup.sh');
    const fromSetup = [...setup.matchAll(/\b(gstreamer1\.0-[a-z-]+)\b/g)].map((m) => m[1]!);
    for (const pkg of new Set(['ffmpeg', 'util-linux', ...fromSetup])) assert.ok(install.includes(pkg), `the image installs ${pkg}`);
    assert.match(runtime, /rm -rf \/var\/lib\/apt\/lists\/\*/, 'no apt lists left in the layer');
  });

  it('runs as an unprivileged user that owns the data folder', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    assert.match(runtime, /^USER node$/m);
    assert.match(runtime, /chown node:node \/var\/lib\/ffrtmp/);
    assert.match(runtime, /FFRTMP_DATA_DIR=\/var\/lib\/ffrtmp/);
  });

  it('keeps local state, secrets and build output out of the build context', () => {
    const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['.git', 'node_modules', 'dist', 'data', 'certs', '.env', '.tools']) assert.ok(ignored.includes(p), `.dockerignore: ${p}`);
  });
});
