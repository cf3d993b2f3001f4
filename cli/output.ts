/**
 * Everything the CLI prints. Tables shrink to the terminal's width; colour only on a TTY and never
 * with NO_COLOR or TERM=dumb; `--output json` prints the API's JSON document and nothing else on
 * stdout. Errors are one line on stderr.
 */
import { stripVTControlCharacters, styleText } from 'node:util';
import Table from 'cli-table3';
import type { JobStatus } from '../domain/states';
import type { OutputFormat } from './config';

/** The part of a stream the CLI uses (process.stdout, or a fake in the unit tests). */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function colourEnabled(stream: OutStream, env: NodeJS.ProcessEnv): boolean {
  if (stream.isTTY !== true) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.TERM !== 'dumb';
}

type Style = Parameters<typeof styleText>[0];

/** The caller decides (per stream); styleText must not second-guess it from process.stdout. */
export function paint(style: Style, text: string, enabled: boolean): string {
  return enabled ? styleText(style, text, { validateStream: false }) : text;
}

const STATUS_STYLE: Record<JobStatus, Style> = {
  queued: 'blue',
  assigned: 'cyan',
  running: 'cyan',
  paused: 'magenta',
  completed: 'green',
  failed: 'red',
  timed_out: 'red',
  canceled: 'yellow',
  retrying: 'yellow',
};

export function paintStatus(status: string, enabled: boolean): string {
  const style = STATUS_STYLE[status as JobStatus];
  return style ? paint(style, status, enabled) : status;
}

export const visibleWidth = (s: string) => stripVTControlCharacters(s).length;

/** Padding after each column (there are no borders: lines stay easy to grep and cut). */
const GAP = 2;
const MIN_COLUMN = 6;

/**
 * Column widths (padding included) that fit `max` characters: the natural widths when they fit,
 * else the widest columns shrink first, never below a few characters (their cells are truncated).
 */
export function fitColumns(natural: readonly number[], max: number | undefined): number[] {
  const widths = [...natural];
  if (max === undefined) return widths;
  let excess = widths.reduce((a, b) => a + b, 0) - max;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) if (widths[i]! > MIN_COLUMN + GAP && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) break;
    widths[widest]!--;
    excess--;
  }
  return widths;
}

const NO_BORDERS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '',
};

/**
 * A table as text: a header row (bold on a colour terminal) and rows, fitted to `width`. When even
 * the narrowest columns do not fit, columns are left out from the right: every table puts what
 * matters most first.
 */
export function renderTable(head: readonly string[] | null, rows: readonly string[][], opts: { width?: number; colour: boolean }): string {
  const all = head ? [head, ...rows] : rows;
  let columns = Math.max(0, ...all.map((r) => r.length));
  if (columns === 0) return '';
  const natural = Array.from({ length: columns }, (_, i) => Math.max(1, ...all.map((r) => visibleWidth(r[i] ?? ''))) + GAP);
  // the last column needs no gap after it
  const room = opts.width === undefined ? undefined : opts.width + GAP;
  if (room !== undefined) {
    while (columns > 1 && natural.slice(0, columns).reduce((sum, w) => sum + Math.min(w, MIN_COLUMN + GAP), 0) > room) columns--;
  }
  const colWidths = fitColumns(natural.slice(0, columns), room);
  const table = new Table({
    head: head ? head.slice(0, columns).map((h) => paint('bold', h, opts.colour)) : [],
    colWidths,
    wordWrap: false,
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': GAP },
  });
  for (const r of rows) table.push(Array.from({ length: columns }, (_, i) => r[i] ?? ''));
  return table
    .toString()
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n');
}

/** The width to fit tables to: a terminal's, when it reports one (a fresh pty may say 0). */
export function terminalWidth(stream: OutStream): number | undefined {
  return stream.isTTY === true && stream.columns !== undefined && stream.columns > 0 ? stream.columns : undefined;
}

export class Output {
  readonly colour: boolean;
  readonly errColour: boolean;

  constructor(
    readonly format: OutputFormat,
    readonly out: OutStream,
    readonly err: OutStream,
    env: NodeJS.ProcessEnv,
  ) {
    this.colour = colourEnabled(out, env);
    this.errColour = colourEnabled(err, env);
  }

  get json(): boolean {
    return this.format === 'json';
  }

  /** The API's document, as it came (two-space indented, keys in the API's order). */
  printJson(value: unknown): void {
    this.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  table(head: readonly string[], rows: readonly string[][]): void {
    this.out.write(`${renderTable(head, rows, { width: terminalWidth(this.out), colour: this.colour })}\n`);
  }

  /** Label / value pairs of one object; empty values are left out. */
  details(pairs: readonly [string, string | null | undefined][]): void {
    const rows = pairs.filter((p): p is [string, string] => p[1] !== null && p[1] !== undefined && p[1] !== '').map(([k, v]) => [paint('bold', k, this.colour), v]);
    this.out.write(`${renderTable(null, rows, { width: terminalWidth(this.out), colour: this.colour })}\n`);
  }

  line(text = ''): void {
    this.out.write(`${text}\n`);
  }

  /** Progress notes and hints: stderr, so stdout stays the command's result. */
  note(text: string): void {
    this.err.write(`${text}\n`);
  }

  paint(style: Style, text: string): string {
    return paint(style, text, this.colour);
  }

  status(status: string): string {
    return paintStatus(status, this.colour);
  }
}

/** "0.4 s", "12 s", "1 min 5 s", "2 h 3 min" */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '--';
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

/** An ISO time as "2026-01-02 10:00:05" in local time (tables), or "" for none. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
