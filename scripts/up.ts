/**
 * The embedded default: Temporal dev server (SQLite file under the data folder, search attributes
 * registered), the master API and one local worker agent — started in that order, printed, and
 * stopped cleanly (reverse order) on Ctrl-C or SIGTERM. `scripts/up.sh` installs and builds first.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startDevServer, temporalCliPath, type DevServer } from '../lib/dev-server';
import { launchNode, waitForHttp, type NodeProcess } from '../lib/launch';

const ROOT = path.resolve(__dirname, '..', '..');

function env(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

async function main(): Promise<void> {
  const dataDir = path.resolve(env('FFRTMP_DATA_DIR', path.join(ROOT, 'data')));
  mkdirSync(dataDir, { recursive: true });
  const temporalCli = temporalCliPath(ROOT);
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
  const children: NodeProcess[] = [];
  console.log('[up] starting the master API');
  children.push(
    launchNode('master', 'api/server.js', {
      ...common,
      FFRTMP_API_PORT: apiPort,
      FFRTMP_API_HOST: ip,
      FFRTMP_MASTER_METRICS_PORT: masterMetricsPort,
      FFRTMP_MASTER_METRICS_HOST: ip,
      FFRTMP_EMBEDDED: 'true',
    }, { inherit: true }),
  );
  await waitForHttp(`http://${ip}:${apiPort}/health`, 60_000, () => children[0]!.alive);
  console.log('[up] starting one worker agent');
  children.push(
    launchNode('worker', 'workers/agent.js', {
      ...common,
      FFRTMP_NODE_NAME: env('FFRTMP_NODE_NAME', 'local-worker'),
      FFRTMP_NODE_ADDRESS: env('FFRTMP_NODE_ADDRESS', `http://127.0.0.1:${workerMetricsPort}`),
      FFRTMP_METRICS_PORT: workerMetricsPort,
      FFRTMP_METRICS_HOST: ip,
      FFRTMP_MASTER_URL: `http://${ip}:${apiPort}`,
      // the master created the embedded default's key here
      ...(process.env.FFMPEG_RTMP_API_KEY ? {} : { FFRTMP_API_KEY_FILE: path.join(dataDir, 'api-key') }),
    }, { inherit: true }),
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
      await c.stop(40_000);
      console.log(`[up] ${c.name} stopped`);
    }
    await server.stop();
    console.log('[up] Temporal stopped; bye');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  for (const c of children) {
    void c.exited.then((code) => {
      if (stopping) return;
      console.error(`[up] ${c.name} exited unexpectedly (code ${code}); stopping the rest`);
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
