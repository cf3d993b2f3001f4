/** In-process fakes for the CLI unit tests: streams that record, and a transport that answers from a script. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { initialJobView } from '../../domain/view';
import { resolveJob } from '../../domain/resolve';
import type { Transport, TransportResponse } from '../../cli/client';
import { run } from '../../cli/index';

export class FakeStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns?: number,
  ) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

export interface Call {
  method: string;
  path: string;
  body: unknown;
}

export class FakeTransport implements Transport {
  readonly target = 'http://fake';
  readonly calls: Call[] = [];
  closed = false;
  constructor(private readonly answer: (c: Call) => TransportResponse | Promise<TransportResponse>) {}
  async send(method: string, p: string, body?: unknown): Promise<TransportResponse> {
    const c = { method, path: p, body };
    this.calls.push(c);
    return this.answer(c);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export const ok = (body: unknown, status = 200): TransportResponse => ({ status, body, headers: {} });
export const fail = (status: number, error: string, headers: Record<string, string> = {}): TransportResponse => ({ status, body: { error, status }, headers });

export function fakeJob(overrides: Partial<JobView> = {}): JobView {
  const request = { scenario: '240p30-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters: { duration: 1 } } as const;
  const view = initialJobView({ id: '11111111-2222-4333-8444-555555555555', sequenceNumber: 7, createdAt: '2026-01-02T10:00:00.000Z', request: { ...request, parameters: { ...request.parameters } }, ...resolveJob({ ...request, parameters: { duration: 1 } }) });
  return { ...view, ...overrides };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  transport: FakeTransport;
}

/** Runs the CLI in this process against a fake transport, with no config file and the env given. */
export async function cli(args: string[], answer: (c: Call) => TransportResponse | Promise<TransportResponse> = () => ok({}), opts: { env?: NodeJS.ProcessEnv; stdout?: FakeStream; stderr?: FakeStream } = {}): Promise<CliRun> {
  const stdout = opts.stdout ?? new FakeStream();
  const stderr = opts.stderr ?? new FakeStream();
  const transport = new FakeTransport(answer);
  const home = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-cli-home-'));
  const code = await run(args, { stdout, stderr, env: opts.env ?? {}, home }, async () => transport);
  return { code, stdout: stdout.text, stderr: stderr.text, transport };
}
