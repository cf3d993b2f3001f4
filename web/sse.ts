/**
 * Server-sent events over fetch(): the browser's EventSource cannot send the X-API-Key header, so
 * the stream is read as a ReadableStream and parsed here (the event-stream format of the HTML
 * standard, less `retry`). A dropped stream reconnects with Last-Event-ID, so the master sends what
 * was missed first; a refusal (4xx) does not reconnect.
 */
import { authHeaders, failure } from './api.js';

export interface StreamEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Splits event-stream text into events; feed it chunks as they come. */
export class EventStreamParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  constructor(private readonly onEvent: (e: StreamEvent) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      // a lone \r at the end may be the first half of \r\n
      if (!m || (m[0] === '\r' && m.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event || 'message', id: this.id, data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return; // a comment: the master's keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

export interface FollowOptions {
  onEvent: (e: StreamEvent) => void;
  /** connected, reconnecting (with the error), or ended (the master closed a finished stream) */
  onState?: (state: 'live' | 'reconnecting' | 'ended', detail?: string) => void;
  /** a refusal: the stream stops */
  onRefused?: (status: number, message: string) => void;
  signal: AbortSignal;
}

/** Follows an event stream until the signal aborts, the master refuses it, or an `end` event closed it. */
export function follow(path: string, opts: FollowOptions): void {
  let lastId: string | undefined;
  let failures = 0;
  const run = async (): Promise<void> => {
    while (!opts.signal.aborted) {
      let ended = false;
      try {
        const res = await fetch(path, { headers: authHeaders({ Accept: 'text/event-stream', ...(lastId !== undefined ? { 'Last-Event-ID': lastId } : {}) }), signal: opts.signal });
        if (res.status >= 400 && res.status < 500 && res.status !== 429) {
          const err = await failure(res);
          opts.onRefused?.(err.status, err.message);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`${res.status} ${res.statusText}`);
        opts.onState?.('live');
        failures = 0;
        const parser = new EventStreamParser((e) => {
          if (e.id !== undefined) lastId = e.id;
          if (e.event === 'end') ended = true;
          opts.onEvent(e);
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read()) parser.feed(next.value);
        if (ended) return opts.onState?.('ended');
        throw new Error('the stream closed');
      } catch (err) {
        if (opts.signal.aborted) return;
        failures++;
        opts.onState?.('reconnecting', (err as Error).message);
      }
      // back off a little on repeated failures: 0.5 s, 1 s, 2 s … up to 10 s
      await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** failures)));
    }
  };
  void run();
}
