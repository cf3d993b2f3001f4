/**
 * Running `bin/ffrtmp` as users do: a child process with its own environment (a fresh HOME, so no
 * ~/.ffrtmp/config.yaml of the machine leaks in), or inside a pseudo-terminal through util-linux
 * `script`, to see what a person at a terminal sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cluster';

export const FFRTMP = path.join(REPO_ROOT, 'bin', 'ffrtmp');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-cli-home-')), ...extra };
}

/** A child process that collects its output; `done` resolves when it exits. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly done: Promise<CliResult>;
  constructor(readonly proc: ChildProcess, timeoutMs: number) {
    proc.stdout?.on('data', (b: Buffer) => (this.stdout += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    this.done = new Promise((resolve) =>
      proc.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: this.stdout, stderr: this.stderr });
      }),
    );
  }
}

/** `bin/ffrtmp <args>`: no shell, arguments passed as they are. */
export function startFfrtmp(args: readonly string[], opts: CliOptions = {}): CliProcess {
  const proc = spawn(FFRTMP, [...args], { cwd: opts.cwd ?? REPO_ROOT, env: baseEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new CliProcess(proc, opts.timeoutMs ?? 90_000);
}

export function ffrtmp(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startFfrtmp(args, opts).done;
}

/** Quoting for the one shell line `script -c` takes; only test-owned arguments go through it. */
const shellQuote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * `bin/ffrtmp <args>` in a pseudo-terminal: `script -qfec <cmd> /dev/null` gives it a TTY on stdin,
 * stdout and stderr; what it drew comes back on script's stdout (both streams, escapes included).
 */
export function startFfrtmpInPty(args: readonly string[], opts: CliOptions = {}): CliProcess {
  const line = [FFRTMP, ...args].map(shellQuote).join(' ');
  const proc = spawn('script', ['-qfec', line, '/dev/null'], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: baseEnv({ TERM: 'xterm-256color', ...opts.env }),
    // stdin stays open: script ends the session when its input ends
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new CliProcess(proc, opts.timeoutMs ?? 90_000);
}

/** The text a terminal would show, escapes removed (for matching). */
export function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').replace(/\r/g, '\n');
}

/** The first sequence number in `job N submitted` output. */
export function submittedSeq(stdout: string): number {
  const m = /job (\d+) submitted: ([0-9a-f-]{36})/.exec(stdout);
  if (!m) throw new Error(`no "job N submitted" in: ${stdout}`);
  return Number(m[1]);
}
