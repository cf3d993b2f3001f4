/**
 * What the commands talk to: the master's REST API, through one of two transports that answer
 * alike — HTTP(S) to the master, or (--via temporal) the same route table run in this process over
 * JobService/NodeService, for when the master is down. Commands see status codes and the API's
 * JSON either way, so `--output json` prints the same document whichever way it came.
 */
import type { z } from 'zod';
import type { JobWire, NodeWire, jobListSchema, jobLogsSchema } from '../domain/api-schemas';
import type { CreateJobBody, createWebhookSchema } from '../domain/schemas';
import type { webhookListSchema, webhookSchema, webhookTestSchema, webhookWithSecretSchema } from '../domain/webhook-schemas';
import type { ControlAction } from '../domain/states';
import { ApiError } from '../lib/errors';
import { HttpClient, TlsFileError, type StreamEvent } from '../lib/http-client';
import type { Settings } from './config';
import { CliError, EXIT } from './exit-codes';

export interface TransportResponse {
  status: number;
  body: unknown;
  headers: Record<string, string | undefined>;
}

export interface Transport {
  /** what it talks to, for messages: "http://127.0.0.1:8080" or "Temporal at 127.0.0.1:7233" */
  readonly target: string;
  send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<TransportResponse>;
  /** a server-sent event stream, where the transport has them (HTTP); throws StreamRefused when the answer is not one */
  events?(path: string, lastEventId?: string): AsyncIterable<StreamEvent>;
  close(): Promise<void>;
}

/** Answers typed by the API's own response schemas (the OpenAPI document's source). */
export type JobList = z.infer<typeof jobListSchema>;
export type JobSummary = JobList['jobs'][number];
export type JobLogs = z.infer<typeof jobLogsSchema>;
export interface Catalogue {
  grammar: string;
  presets: { name: string; width: number; height: number; fps: number; codec: string; bitrate_kbps: number }[];
  encoders: { name: string; engine: string; codec: string; capability: string; presets: string[]; default_preset: string }[];
}
export type WebhookWire = z.infer<typeof webhookSchema>;
export type WebhookCreated = z.infer<typeof webhookWithSecretSchema>;
export type WebhookList = z.infer<typeof webhookListSchema>;
export type WebhookTest = z.infer<typeof webhookTestSchema>;
export type ListQuery = Partial<Record<'status' | 'queue' | 'priority' | 'scenario' | 'node' | 'limit' | 'page_token', string>>;

/** The API, typed. Every non-2xx answer becomes an ApiError carrying the API's own message. */
export class MasterApi {
  constructor(readonly transport: Transport) {}

  private async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.answer<T>(await this.transport.send(method, path, body));
  }

  /** A 2xx answer's body; any other, an ApiError carrying the API's own message. */
  private answer<T>(r: TransportResponse): T {
    if (r.status >= 200 && r.status < 300) return r.body as T;
    const message = (r.body as { error?: unknown } | undefined)?.error;
    const retryAfter = r.headers['retry-after'];
    throw new ApiError(r.status, typeof message === 'string' ? message : `unexpected answer from ${this.transport.target}`, retryAfter ? { 'Retry-After': retryAfter } : {});
  }

  createJob(body: Partial<CreateJobBody>): Promise<JobWire> {
    return this.call('POST', '/jobs', body);
  }
  /** The created job, and the secret of its own webhook_url when it has one (answered once, in a header). */
  async createJobAnswer(body: Partial<CreateJobBody>): Promise<{ job: JobWire; webhookSecret?: string }> {
    const r = await this.transport.send('POST', '/jobs', body);
    const job = this.answer<JobWire>(r);
    const secret = r.headers['webhook-secret'];
    return secret ? { job, webhookSecret: secret } : { job };
  }
  getJob(id: string): Promise<JobWire> {
    return this.call('GET', `/jobs/${encodeURIComponent(id)}`);
  }
  listJobs(query: ListQuery): Promise<JobList> {
    const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined)).toString();
    return this.call('GET', `/jobs${qs ? `?${qs}` : ''}`);
  }
  /** The job's event stream (GET /jobs/{id}/events), or undefined where the transport has none. */
  jobEvents(id: string, lastEventId?: string): AsyncIterable<StreamEvent> | undefined {
    return this.transport.events?.(`/jobs/${encodeURIComponent(id)}/events`, lastEventId);
  }
  jobLogs(id: string): Promise<JobLogs> {
    return this.call('GET', `/jobs/${encodeURIComponent(id)}/logs`);
  }
  control(id: string, action: ControlAction, reason?: string): Promise<JobWire> {
    return this.call('POST', `/jobs/${encodeURIComponent(id)}/${action}`, reason === undefined ? undefined : { reason });
  }
  listNodes(): Promise<{ nodes: NodeWire[]; count: number }> {
    return this.call('GET', '/nodes');
  }
  getNode(id: string): Promise<NodeWire> {
    return this.call('GET', `/nodes/${encodeURIComponent(id)}`);
  }
  removeNode(id: string): Promise<NodeWire> {
    return this.call('DELETE', `/nodes/${encodeURIComponent(id)}`);
  }
  scenarios(): Promise<Catalogue> {
    return this.call('GET', '/scenarios');
  }
  createWebhook(body: z.input<typeof createWebhookSchema>): Promise<WebhookCreated> {
    return this.call('POST', '/webhooks', body);
  }
  listWebhooks(): Promise<WebhookList> {
    return this.call('GET', '/webhooks');
  }
  removeWebhook(id: string): Promise<WebhookWire> {
    return this.call('DELETE', `/webhooks/${encodeURIComponent(id)}`);
  }
  testWebhook(id: string): Promise<WebhookTest> {
    return this.call('POST', `/webhooks/${encodeURIComponent(id)}/test`);
  }
}

/** Why a request never got an answer, with a hint where the cause is a common mistake. */
export function describeConnectionError(err: NodeJS.ErrnoException, target: string): string {
  const code = err.code ?? '';
  const hints: Record<string, string> = {
    ECONNREFUSED: 'is the master running? --via temporal talks to Temporal directly',
    ECONNRESET: 'the connection was closed: does the master speak HTTPS? try --master https://…',
    EPROTO: 'TLS handshake failed: does the master speak plain HTTP? try --master http://…',
    ERR_SSL_WRONG_VERSION_NUMBER: 'does the master speak plain HTTP? try --master http://…',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'the master certificate is self-signed: pass its CA with --ca',
    SELF_SIGNED_CERT_IN_CHAIN: 'the master certificate is signed by an unknown CA: pass it with --ca (certs/ca.crt)',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the master certificate is signed by an unknown CA: pass it with --ca (certs/ca.crt)',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the master certificate is signed by an unknown CA: pass it with --ca (certs/ca.crt)',
    ERR_TLS_CERT_ALTNAME_INVALID: 'the master certificate does not name this host: use a name it has, or make it again with --names/--ips',
    CERT_HAS_EXPIRED: 'the master certificate has expired',
  };
  const hint = hints[code] ?? (/SSL|TLS/i.test(code) ? 'TLS failed: check --ca, --cert and --key' : '');
  return `cannot reach the master at ${target}: ${err.message}${hint ? ` (${hint})` : ''}`;
}

export class HttpTransport implements Transport {
  private readonly http: HttpClient;

  constructor(readonly target: string, opts: { apiKey?: string; tls: Settings['tls']; timeoutMs?: number }) {
    try {
      // control actions answer once they took effect (a cancel waits for the encoder to die)
      this.http = new HttpClient(target, { apiKey: opts.apiKey, tls: opts.tls, timeoutMs: opts.timeoutMs ?? 60_000 });
    } catch (err) {
      if (err instanceof TlsFileError) throw new CliError(`--${err.what}: ${err.message}`, EXIT.usage);
      throw err;
    }
  }

  async send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<TransportResponse> {
    try {
      const r = await this.http.request(method, path, body);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: r.status, body: r.body, headers };
    } catch (err) {
      throw new CliError(describeConnectionError(err as NodeJS.ErrnoException, this.target), EXIT.unavailable);
    }
  }

  events(path: string, lastEventId?: string): AsyncIterable<StreamEvent> {
    return this.http.events(path, { lastEventId });
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

/** The transport the settings ask for. The Temporal one is loaded only when asked for (it is heavy). */
export async function openTransport(settings: Settings, env: NodeJS.ProcessEnv): Promise<Transport> {
  if (settings.via === 'temporal') {
    const { openTemporalTransport } = await import('./temporal-transport');
    return openTemporalTransport(settings.temporal, env);
  }
  return new HttpTransport(settings.masterUrl, { apiKey: settings.apiKey, tls: settings.tls });
}
