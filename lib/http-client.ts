/**
 * A small JSON-over-HTTP(S) client for the worker's link to the master and for the CLI, with
 * client certificates for mTLS. (node:http/https directly: fetch cannot present a certificate.)
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createParser } from 'eventsource-parser';

export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/** A certificate, key or CA file that cannot be read: a configuration error, named as such. */
export class TlsFileError extends Error {
  constructor(
    readonly what: 'cert' | 'key' | 'ca',
    readonly file: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(`cannot read the TLS ${what} file ${file}: ${cause.code ?? cause.message}`);
    this.name = 'TlsFileError';
  }
}

function readTlsFile(what: TlsFileError['what'], file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFileError(what, file, err as NodeJS.ErrnoException);
  }
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  text: string;
}

export class HttpClient {
  private readonly agent: http.Agent | https.Agent;

  constructor(
    readonly baseUrl: string,
    private readonly opts: { apiKey?: string; tls?: TlsFiles; timeoutMs?: number } = {},
  ) {
    const url = new URL(baseUrl);
    if (url.protocol === 'https:') {
      const tls = opts.tls ?? {};
      this.agent = new https.Agent({
        keepAlive: true,
        cert: readTlsFile('cert', tls.cert),
        key: readTlsFile('key', tls.key),
        ca: readTlsFile('ca', tls.ca),
      });
    } else {
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  request<T = unknown>(method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.opts.apiKey) headers['X-API-Key'] = this.opts.apiKey;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, timeout: this.opts.timeoutMs ?? 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`request to ${url.origin} timed out`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /**
   * A server-sent event stream (eventsource-parser reads the format), as an async iterable of
   * events with their JSON data. Throws StreamRefused when the answer is not a stream (an old
   * master, a 404): callers fall back to polling. Ends when the server ends it; `signal` stops it.
   */
  async *events(path: string, opts: { lastEventId?: string; signal?: AbortSignal } = {}): AsyncGenerator<StreamEvent> {
    const url = new URL(path, this.baseUrl);
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.opts.apiKey) headers['X-API-Key'] = this.opts.apiKey;
    if (opts.lastEventId) headers['Last-Event-ID'] = opts.lastEventId;
    const mod = url.protocol === 'https:' ? https : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { method: 'GET', headers, agent: this.agent, signal: opts.signal }, resolve);
      req.on('error', reject);
      req.end();
    });
    if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      res.resume();
      throw new StreamRefused(res.statusCode ?? 0);
    }
    const queue: StreamEvent[] = [];
    const parser = createParser({
      onEvent: (e) => {
        let data: unknown = e.data;
        try {
          data = JSON.parse(e.data);
        } catch {
          /* not JSON: keep the text */
        }
        queue.push({ event: e.event ?? 'message', id: e.id, data });
      },
    });
    res.setEncoding('utf8');
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        parser.feed(chunk);
        while (queue.length > 0) yield queue.shift()!;
      }
    } catch (err) {
      if (!opts.signal?.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface StreamEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** The server answered, but not with an event stream. */
export class StreamRefused extends Error {
  constructor(readonly status: number) {
    super(`no event stream (HTTP ${status})`);
    this.name = 'StreamRefused';
  }
}
