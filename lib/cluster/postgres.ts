/**
 * PostgreSQL for the topology, from Debian's packages: a cluster of its own (initdb into the
 * topology's folder, owned by the `postgres` system user), listening on its host's address only,
 * reachable with a password from the topology's /24 only, and by the local socket for setup.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceSpec } from './service';

export const PG_PORT = 5432;
const PG_USER = 'postgres';

/** The newest PostgreSQL installed from Debian's packages (/usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v) && existsSync(path.join(base, v, 'bin', 'postgres'))) : [];
  if (majors.length === 0) throw new Error('PostgreSQL is not installed (Debian package postgresql); scripts/lib/setup.sh installs it');
  return path.join(base, majors.sort((a, b) => Number(b) - Number(a))[0]!, 'bin');
}

function run(cmd: string, args: string[], opts: { user?: string; env?: Record<string, string> } = {}): Promise<string> {
  const argv = opts.user ? ['/usr/bin/setpriv', `--reuid=${opts.user}`, `--regid=${opts.user}`, '--clear-groups', '--', cmd, ...args] : [cmd, ...args];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 120_000, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

export interface PostgresLayout {
  dataDir: string;
  /** folder of the Unix socket (setup talks to the server through it) */
  socketDir: string;
  address: string;
  /** the /24 allowed to connect with a password, e.g. 10.77.13.0/24 */
  allowedNetwork: string;
}

function ownByPostgres(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { uid, gid } = postgresIds();
  chownSync(dir, uid, gid);
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${PG_USER}:`));
  if (!line) throw new Error('the postgres system user does not exist (install the postgresql package)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** initdb on first use; pg_hba.conf rewritten every time so it always matches the network. */
export async function preparePostgres(layout: PostgresLayout): Promise<void> {
  const bin = postgresBinDir();
  ownByPostgres(layout.socketDir);
  if (!existsSync(path.join(layout.dataDir, 'PG_VERSION'))) {
    ownByPostgres(layout.dataDir);
    await run(path.join(bin, 'initdb'), ['-D', layout.dataDir, '-U', PG_USER, '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=peer', '--auth-host=scram-sha-256'], { user: PG_USER });
  }
  const hba = [
    '# written by ffrtmp (lib/cluster/postgres.ts): setup over the local socket, Temporal from the topology network',
    `local all ${PG_USER} peer`,
    `host all temporal ${layout.allowedNetwork} scram-sha-256`,
    '',
  ].join('\n');
  writeFileSync(path.join(layout.dataDir, 'pg_hba.conf'), hba);
  const { uid, gid } = postgresIds();
  chownSync(path.join(layout.dataDir, 'pg_hba.conf'), uid, gid);
}

/** How the server runs: in the foreground (no pg_ctl fork), on the host's address only. */
export function postgresService(layout: PostgresLayout, netns: string, logFile: string, pidFile: string): ServiceSpec {
  return {
    name: 'postgres',
    netns,
    user: PG_USER,
    logFile,
    pidFile,
    argv: [
      path.join(postgresBinDir(), 'postgres'),
      '-D', layout.dataDir,
      '-c', `listen_addresses=${layout.address}`,
      '-c', `port=${PG_PORT}`,
      '-c', `unix_socket_directories=${layout.socketDir}`,
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=128MB',
      '-c', 'logging_collector=off',
    ],
  };
}

export async function psql(layout: PostgresLayout, sql: string): Promise<string> {
  return run(path.join(postgresBinDir(), 'psql'), ['-h', layout.socketDir, '-p', String(PG_PORT), '-U', PG_USER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-tAc', sql], { user: PG_USER });
}

export async function waitPostgresReady(layout: PostgresLayout, timeoutMs = 60_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error('PostgreSQL exited at start');
    const ok = await psql(layout, 'SELECT 1').then(() => true, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** The `temporal` role with the given password; it may create its databases. */
export async function ensureTemporalRole(layout: PostgresLayout, password: string): Promise<void> {
  if (!/^[A-Za-z0-9]{16,128}$/.test(password)) throw new Error('the database password must be 16-128 letters and digits');
  const exists = (await psql(layout, "SELECT 1 FROM pg_roles WHERE rolname = 'temporal'")).trim() === '1';
  await psql(layout, `${exists ? 'ALTER' : 'CREATE'} ROLE temporal LOGIN CREATEDB PASSWORD '${password}'`);
}
