/**
 * The `ffrtmp` CLI: commander program, global options, and the one place where errors become a
 * line on stderr and an exit code. bin/ffrtmp runs main(); tests call run() with their own streams.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ApiError } from '../lib/errors';
import { registerJobs } from './commands/jobs';
import { registerNodes } from './commands/nodes';
import { registerWebhooks } from './commands/webhooks';
import { registerScenarios } from './commands/scenarios';
import { defaultHome } from './config';
import { CliError, EXIT, EXIT_CODES_HELP, exitCodeForStatus } from './exit-codes';
import { terminalWidth } from './output';
import { openTransport } from './client';
import { addGlobalOptions, examples, type CliIo, type Runtime } from './session';

function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const PRECEDENCE_HELP = `
Settings: a flag wins over its environment variable, which wins over the config file
(~/.ffrtmp/config.yaml: master_url, api_key, cert, key, ca, output, via, temporal_address,
namespace), which wins over the default.`;

export function buildProgram(rt: Runtime): Command {
  const program = new Command('ffrtmp');
  program
    .description('Submit, follow and control ffrtmp transcoding jobs and nodes, through the master API (or straight on Temporal with --via temporal).')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void rt.io.stdout.write(s),
      writeErr: (s) => void rt.io.stderr.write(s),
    })
    .configureHelp({ showGlobalOptions: true, helpWidth: terminalWidth(rt.io.stdout) ?? 100 })
    .showSuggestionAfterError(true);
  addGlobalOptions(program, false);
  program.addHelpText('after', `${examples([
    ['ffrtmp jobs submit --scenario 4K60-h264 --duration 30', 'submit a job'],
    ['ffrtmp jobs status 123', "a job's status (sequence number or uuid)"],
    ['ffrtmp jobs logs 123', "a job's logs"],
    ['ffrtmp jobs status', 'list all jobs'],
    ['ffrtmp jobs cancel 123', 'cancel a job'],
    ['ffrtmp --api-key "your-key" jobs status', 'with an API key'],
    ['ffrtmp --cert certs/client.crt --key certs/client.key jobs status', 'with a client certificate (mTLS)'],
    ['ffrtmp --via temporal jobs pause 123', 'the master is down: straight to Temporal'],
  ])}\n${PRECEDENCE_HELP}`);
  // every command's help ends with the exit codes
  program.addHelpText('afterAll', EXIT_CODES_HELP);
  registerJobs(program, rt);
  registerNodes(program, rt);
  registerWebhooks(program, rt);
  registerScenarios(program, rt);
  return program;
}

/** One line on stderr, and the exit code of its class. */
export function reportError(err: unknown, io: CliIo): number {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof CommanderError) {
    // commander printed its own message (or the help / version)
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof ApiError) {
    io.stderr.write(`error ${err.status}: ${oneLine(err.message)}\n`);
    return exitCodeForStatus(err.status);
  }
  if (err instanceof CliError) {
    io.stderr.write(`error: ${oneLine(err.message)}\n`);
    return err.exitCode;
  }
  io.stderr.write(`error: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
  if (io.env.FFRTMP_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return EXIT.unavailable;
}

export async function run(argv: readonly string[], io?: Partial<CliIo>, transport: Runtime['openTransport'] = openTransport): Promise<number> {
  const env = io?.env ?? process.env;
  const rt: Runtime = {
    io: { stdout: io?.stdout ?? process.stdout, stderr: io?.stderr ?? process.stderr, env, home: io?.home ?? defaultHome(env) },
    exitCode: EXIT.ok,
    openTransport: transport,
  };
  try {
    await buildProgram(rt).parseAsync([...argv], { from: 'user' });
    return rt.exitCode;
  } catch (err) {
    return reportError(err, rt.io);
  }
}

export async function main(): Promise<never> {
  // `ffrtmp … | head`: a reader that went away is not an error
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.ok);
      throw err;
    });
  }
  const code = await run(process.argv.slice(2));
  // open handles (keep-alive sockets, a Temporal connection) must not hold the exit back
  process.exit(code);
}

if (require.main === module) void main();
