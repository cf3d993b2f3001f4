/** Building elements and writing figures: the few helpers every page uses. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** An element with attributes (on… names are listeners; true is an empty attribute) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

/** Sets text only when it changed: a live table rewrites nothing that did not move. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export const DASH = '—';

export function num(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : n.toFixed(digits);
}

/** 75 → "1m 15s"; 3700 → "1h 01m" */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** Seconds since a time, as "12s ago". */
export function age(iso: string | null | undefined, now = Date.now()): string {
  return iso ? `${duration((now - Date.parse(iso)) / 1000)} ago` : 'never';
}

/** A message box: role=alert for failures, role=status for news (a refusal included). */
export function notice(kind: 'error' | 'info', text: string, ...actions: HTMLElement[]): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text, ...actions);
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge s-${status}` }, status);
}
