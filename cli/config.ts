/**
 * The CLI's global settings. Each comes from, in order of precedence: its flag, its environment
 * variable, the config file (YAML, ~/.ffrtmp/config.yaml unless --config or FFRTMP_CONFIG names
 * another), then the built-in default. Paths in the config file are relative to the file.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { describeZodError } from '../domain/schemas';
import { temporalSettingsFromEnv, type TemporalSettings } from '../lib/temporal';
import { CliError, EXIT } from './exit-codes';

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const BACKENDS = ['http', 'temporal'] as const;
export type Backend = (typeof BACKENDS)[number];

export const DEFAULTS = {
  masterUrl: 'http://127.0.0.1:8080',
  output: 'table' as OutputFormat,
  via: 'http' as Backend,
  temporalAddress: '127.0.0.1:7233',
  namespace: 'default',
  configFile: path.join('~', '.ffrtmp', 'config.yaml'),
};

/** Environment variables, by setting (shared with the master and the workers where they mean the same). */
export const ENV = {
  masterUrl: 'FFRTMP_MASTER_URL',
  apiKey: 'FFMPEG_RTMP_API_KEY',
  cert: 'FFRTMP_TLS_CERT',
  key: 'FFRTMP_TLS_KEY',
  ca: 'FFRTMP_TLS_CA',
  output: 'FFRTMP_OUTPUT',
  via: 'FFRTMP_VIA',
  temporalAddress: 'TEMPORAL_ADDRESS',
  namespace: 'TEMPORAL_NAMESPACE',
  configFile: 'FFRTMP_CONFIG',
} as const;

/** The global options as commander parsed them (all optional: absent means "not given"). */
export interface GlobalFlags {
  master?: string;
  apiKey?: string;
  cert?: string;
  key?: string;
  ca?: string;
  output?: string;
  config?: string;
  via?: string;
  temporalAddress?: string;
  namespace?: string;
}

export const configFileSchema = z
  .object({
    master_url: z.string().optional(),
    api_key: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    ca: z.string().optional(),
    output: z.enum(OUTPUT_FORMATS).optional(),
    via: z.enum(BACKENDS).optional(),
    temporal_address: z.string().optional(),
    namespace: z.string().optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof configFileSchema>;

export type Source = 'flag' | 'env' | 'config' | 'default';

export interface Settings {
  masterUrl: string;
  apiKey?: string;
  tls: { cert?: string; key?: string; ca?: string };
  output: OutputFormat;
  via: Backend;
  /** for --via temporal; mutual TLS from the `temporal` CLI's own variables (TEMPORAL_TLS_*) */
  temporal: TemporalSettings;
  configFile: string | null;
  /** where each setting came from (for error messages and --help) */
  sources: Record<'masterUrl' | 'apiKey' | 'cert' | 'key' | 'ca' | 'output' | 'via' | 'temporalAddress' | 'namespace', Source>;
}

export function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/**
 * Reads the config file. The default file may be absent; a file named by --config or
 * FFRTMP_CONFIG must exist. Unknown keys are errors (a typo would otherwise be silently ignored).
 */
export function loadConfigFile(file: string, explicit: boolean, home: string): { file: string | null; config: ConfigFile } {
  const abs = path.resolve(expandHome(file, home));
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return { file: null, config: {} };
    throw new CliError(`config file ${abs}: cannot read it (${code ?? (err as Error).message})`, EXIT.usage);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (err) {
    throw new CliError(`config file ${abs}: not valid YAML (${(err as Error).message.split('\n')[0]})`, EXIT.usage);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(`config file ${abs}: ${describeZodError(parsed.error)}`, EXIT.usage);
  // certificate paths are relative to the file that names them
  const config = { ...parsed.data };
  for (const k of ['cert', 'key', 'ca'] as const) {
    const v = config[k];
    if (v) config[k] = path.resolve(path.dirname(abs), expandHome(v, home));
  }
  return { file: abs, config };
}

/** Which config file to read, and whether it was asked for explicitly. */
export function configFileLocation(flags: GlobalFlags, env: NodeJS.ProcessEnv): { file: string; explicit: boolean } {
  if (flags.config) return { file: flags.config, explicit: true };
  if (env[ENV.configFile]) return { file: env[ENV.configFile]!, explicit: true };
  return { file: DEFAULTS.configFile, explicit: false };
}

/** flag > env > config file > default, for every global setting. Pure: the tests call it directly. */
export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv, file: { file: string | null; config: ConfigFile }): Settings {
  const sources = {} as Settings['sources'];
  const pick = <K extends keyof Settings['sources']>(name: K, flag: string | undefined, envValue: string | undefined, fileValue: string | undefined, fallback?: string) => {
    const candidates: [Source, string | undefined][] = [['flag', flag], ['env', envValue || undefined], ['config', fileValue], ['default', fallback]];
    const hit = candidates.find(([, v]) => v !== undefined);
    sources[name] = hit?.[0] ?? 'default';
    return hit?.[1];
  };
  const c = file.config;
  // the master accepts several keys, comma-separated; a client presents the first
  const envKey = env[ENV.apiKey]?.split(',')[0]?.trim();
  const masterUrl = pick('masterUrl', flags.master, env[ENV.masterUrl], c.master_url, DEFAULTS.masterUrl)!;
  const output = pick('output', flags.output, env[ENV.output], c.output, DEFAULTS.output)!;
  const via = pick('via', flags.via, env[ENV.via], c.via, DEFAULTS.via)!;
  const settings: Settings = {
    masterUrl: masterUrl.replace(/\/+$/, ''),
    apiKey: pick('apiKey', flags.apiKey, envKey, c.api_key),
    tls: { cert: pick('cert', flags.cert, env[ENV.cert], c.cert), key: pick('key', flags.key, env[ENV.key], c.key), ca: pick('ca', flags.ca, env[ENV.ca], c.ca) },
    output: output as OutputFormat,
    via: via as Backend,
    temporal: temporalWithTls(
      pick('temporalAddress', flags.temporalAddress, env[ENV.temporalAddress], c.temporal_address, DEFAULTS.temporalAddress)!,
      pick('namespace', flags.namespace, env[ENV.namespace], c.namespace, DEFAULTS.namespace)!,
      env,
    ),
    configFile: file.file,
    sources,
  };
  validateSettings(settings);
  return settings;
}

/** Address and namespace as resolved above; TLS as the `temporal` CLI reads it from the environment. */
function temporalWithTls(address: string, namespace: string, env: NodeJS.ProcessEnv): TemporalSettings {
  try {
    return temporalSettingsFromEnv({ ...env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

const describeSource = (s: Source, flag: string, envName: string) =>
  s === 'flag' ? flag : s === 'env' ? envName : s === 'config' ? 'the config file' : 'the default';

function validateSettings(s: Settings): void {
  let url: URL;
  try {
    url = new URL(s.masterUrl);
  } catch {
    throw new CliError(`--master: "${s.masterUrl}" is not a URL (from ${describeSource(s.sources.masterUrl, '--master', ENV.masterUrl)}); e.g. https://master.local:8080`, EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--master: use an http:// or https:// URL, not ${url.protocol}//`, EXIT.usage);
  }
  if (!(OUTPUT_FORMATS as readonly string[]).includes(s.output)) {
    throw new CliError(`--output: "${s.output}" is not one of ${OUTPUT_FORMATS.join(', ')} (from ${describeSource(s.sources.output, '--output', ENV.output)})`, EXIT.usage);
  }
  if (!(BACKENDS as readonly string[]).includes(s.via)) {
    throw new CliError(`--via: "${s.via}" is not one of ${BACKENDS.join(', ')} (from ${describeSource(s.sources.via, '--via', ENV.via)})`, EXIT.usage);
  }
  if (Boolean(s.tls.cert) !== Boolean(s.tls.key)) {
    throw new CliError('--cert and --key go together: a client certificate needs its key', EXIT.usage);
  }
}

export function defaultHome(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}
