/** A command run to its end for a test (no shell; a minute at most): its exit code and output. */
import { execFile } from 'node:child_process';
import type { CliResult } from './cli';

export function exec(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) =>
    execFile(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}
