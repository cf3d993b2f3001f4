/**
 * What every command's action runs inside: the global options of the whole command line merged
 * and resolved (flag > env > config file > default), an Output, and an API over the chosen
 * transport, closed when the action ends.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { MasterApi, type Transport } from './client';
import {
  BACKENDS,
  DEFAULTS,
  ENV,
  OUTPUT_FORMATS,
  configFileLocation,
  loadConfigFile,
  resolveSettings,
  type GlobalFlags,
  type Settings,
} from './config';
import { Output, type OutStream } from './output';

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  home: string;
}

export interface Runtime {
  io: CliIo;
  /** what the process exits with when the action returns normally (a job outcome sets it) */
  exitCode: number;
  openTransport: (settings: Settings, env: NodeJS.ProcessEnv) => Promise<Transport>;
}

export interface Session {
  api: MasterApi;
  out: Output;
  settings: Settings;
  rt: Runtime;
}

/**
 * The global options. The program shows them; every command repeats them hidden, so they work
 * after a command's own options too (`ffrtmp jobs submit --scenario … -o json`).
 */
export function addGlobalOptions(cmd: Command, hidden: boolean): Command {
  const opts = [
    new Option('--master <url>', `master API URL (env ${ENV.masterUrl}; default ${DEFAULTS.masterUrl})`),
    new Option('--api-key <key>', `API key (env ${ENV.apiKey})`),
    new Option('--cert <file>', `client certificate for mTLS (env ${ENV.cert})`),
    new Option('--key <file>', `key of the client certificate (env ${ENV.key})`),
    new Option('--ca <file>', `CA that signed the master's certificate (env ${ENV.ca})`),
    new Option('-o, --output <format>', `table or json (env ${ENV.output}; default ${DEFAULTS.output})`).choices(OUTPUT_FORMATS),
    new Option('--config <file>', `config file (env ${ENV.configFile}; default ${DEFAULTS.configFile})`),
    new Option('--via <backend>', `http: through the master; temporal: straight to Temporal, for when the master is down (env ${ENV.via}; default ${DEFAULTS.via})`).choices(BACKENDS),
    new Option('--temporal-address <host:port>', `Temporal frontend for --via temporal (env ${ENV.temporalAddress}; default ${DEFAULTS.temporalAddress})`),
    new Option('--namespace <name>', `Temporal namespace for --via temporal (env ${ENV.namespace}; default ${DEFAULTS.namespace})`),
  ];
  for (const o of opts) cmd.addOption(hidden ? o.hideHelp() : o);
  return cmd;
}

const GLOBAL_KEYS = new Set(['master', 'apiKey', 'cert', 'key', 'ca', 'output', 'config', 'via', 'temporalAddress', 'namespace']);

/** Global options from the program down to the command; the one nearest the command wins. */
export function globalFlags(cmd: Command): GlobalFlags {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  const merged: Record<string, unknown> = {};
  for (const c of chain) {
    for (const [k, v] of Object.entries(c.opts())) if (GLOBAL_KEYS.has(k) && v !== undefined) merged[k] = v;
  }
  return merged as GlobalFlags;
}

export function settingsFor(cmd: Command, io: CliIo): Settings {
  const flags = globalFlags(cmd);
  const { file, explicit } = configFileLocation(flags, io.env);
  return resolveSettings(flags, io.env, loadConfigFile(file, explicit, io.home));
}

export async function withSession(cmd: Command, rt: Runtime, fn: (s: Session) => Promise<void>): Promise<void> {
  const settings = settingsFor(cmd, rt.io);
  const out = new Output(settings.output, rt.io.stdout, rt.io.stderr, rt.io.env);
  const tlsGiven = (['cert', 'ca'] as const).some((k) => settings.sources[k] === 'flag');
  if (settings.via === 'http' && settings.masterUrl.startsWith('http:') && tlsGiven) {
    out.note(`warning: --cert/--key/--ca are not used with an http:// master (${settings.masterUrl}); give --master https://…`);
  }
  const transport = await rt.openTransport(settings, rt.io.env);
  try {
    await fn({ api: new MasterApi(transport), out, settings, rt });
  } finally {
    await transport.close();
  }
}

/** Option value parsers: a bad number is a usage error before anything is sent. */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('Not a number.');
  return n;
}
export function parseInteger(value: string): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('Not a whole number.');
  return n;
}
/** --parallel: off, auto, or a number of segments (the schema checks its range). */
export function parseParallel(value: string): 'off' | 'auto' | number {
  if (value === 'off' || value === 'auto') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError('Give off, auto or a number of segments.');
}
export function parseInterval(value: string): number {
  const n = parseInteger(value);
  if (n < 100 || n > 60_000) throw new InvalidArgumentError('Give 100 to 60000 (ms).');
  return n;
}

/** "Examples:" help text, commands as a user types them. */
export function examples(lines: readonly [string, string][]): string {
  return `\nExamples:\n${lines.map(([c, what]) => `  # ${what}\n  $ ${c}`).join('\n')}`;
}
