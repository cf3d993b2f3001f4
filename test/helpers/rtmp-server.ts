/**
 * A real RTMP server for tests: Debian's nginx with libnginx-mod-rtmp on a loopback port,
 * recording every stream it receives (application `live`) so ffprobe can read it back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/dev-server';
import { waitFor } from './wait';

const MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export class RtmpServer {
  private proc: ChildProcess | undefined;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-rtmp-'));
  readonly recordings = path.join(this.dir, 'rec');
  port = 0;

  static available(): boolean {
    return existsSync('/usr/sbin/nginx') && existsSync(MODULE);
  }

  url(key: string): string {
    return `rtmp://127.0.0.1:${this.port}/live/${key}`;
  }

  recording(key: string): string {
    return path.join(this.recordings, `${key}.flv`);
  }

  async start(port?: number): Promise<void> {
    this.port = port ?? this.port ?? (await freePort());
    if (!this.port) this.port = await freePort();
    mkdirSync(this.recordings, { recursive: true });
    const conf = path.join(this.dir, 'nginx.conf');
    writeFileSync(
      conf,
      `load_module ${MODULE};
daemon off;
master_process off;
worker_processes 1;
pid ${this.dir}/nginx.pid;
error_log ${this.dir}/error.log info;
events { worker_connections 64; }
rtmp {
  server {
    listen 127.0.0.1:${this.port};
    chunk_size 4096;
    application live {
      live on;
      record all;
      record_path ${this.recordings};
      record_unique off;
    }
  }
}
`,
    );
    this.proc = spawn('/usr/sbin/nginx', ['-p', this.dir, '-c', conf], { stdio: 'ignore' });
    await waitFor('nginx-rtmp listening', () => portOpen(this.port), { timeoutMs: 10_000 });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    await waitFor('nginx-rtmp closed', async () => !(await portOpen(this.port)), { timeoutMs: 5_000 });
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
