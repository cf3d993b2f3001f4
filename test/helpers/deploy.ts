/**
 * Helpers for the deploy tests: the Docker Compose CLI that scripts/lib/setup.sh builds into
 * .tools/, and the files under deploy/.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './cluster';

export interface ComposeRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** How to run `docker compose`: the docker CLI with the plugin when docker exists, else the binary itself. */
export function composeInvocation(): { command: string; prefix: string[]; env: Record<string, string> } {
  let bin = process.env.FFRTMP_COMPOSE_BIN;
  if (!bin) {
    const tools = path.join(REPO_ROOT, '.tools');
    const dir = existsSync(tools) ? readdirSync(tools).filter((d) => d.startsWith('docker-compose-v')).sort().pop() : undefined;
    if (!dir) throw new Error('no Docker Compose CLI under .tools/: run scripts/test.sh (scripts/lib/setup.sh builds it)');
    bin = path.join(tools, dir, 'docker-compose');
  }
  const dockerConfig = process.env.FFRTMP_DOCKER_CONFIG ?? path.join(path.dirname(bin), 'docker-config');
  const docker = (process.env.PATH ?? '').split(':').map((p) => path.join(p, 'docker')).find((p) => existsSync(p));
  if (docker && existsSync(path.join(dockerConfig, 'cli-plugins', 'docker-compose'))) {
    return { command: docker, prefix: ['compose'], env: { DOCKER_CONFIG: dockerConfig } };
  }
  // the same program: a compose plugin binary run directly behaves as `docker compose`
  return { command: bin, prefix: [], env: {} };
}

/** Runs `docker compose <args>` in the repository root with only the given variables set for interpolation. */
export function compose(args: string[], vars: Record<string, string> = {}): Promise<ComposeRun> {
  const inv = composeInvocation();
  // nothing from the caller's environment (or a developer's .env) leaks into the interpolation
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...inv.env, ...vars };
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(inv.command, [...inv.prefix, '--project-directory', REPO_ROOT, '-f', path.join(REPO_ROOT, 'docker-compose.yml'), '--env-file', '/dev/null', ...args], { env, cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
    });
  });
}

export function readRepoFile(rel: string): string {
  return readFileSync(path.join(REPO_ROOT, rel), 'utf8');
}

export function readYaml<T = any>(rel: string): T {
  return parseYaml(readRepoFile(rel)) as T;
}

export interface GrafanaTarget {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets: GrafanaTarget[];
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
}

export const DASHBOARD_DIR = 'deploy/grafana/dashboards';

export function dashboards(): { file: string; dashboard: GrafanaDashboard }[] {
  return readdirSync(path.join(REPO_ROOT, DASHBOARD_DIR))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readRepoFile(path.join(DASHBOARD_DIR, file))) as GrafanaDashboard }));
}

/** A dashboard expression as the data source receives it: Grafana's interval variables filled in. */
export function expandGrafanaVariables(expr: string, rateInterval = '1m'): string {
  return expr.replace(/\$__rate_interval|\$\{__rate_interval\}/g, rateInterval).replace(/\$__interval|\$\{__interval\}/g, '15s').replace(/\$__range|\$\{__range\}/g, '1h');
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (not functions, labels, keywords, or durations). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping labels
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function (or aggregation) call
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}
