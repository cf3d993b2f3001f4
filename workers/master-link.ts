/**
 * The worker's link to the master: register at start (and again whenever the master has forgotten
 * the node), heartbeat with load figures, and pass on a drain request. Losing the master never
 * stops running work: the link keeps trying, and registers again when the master is back.
 */
import type { NodeLoad, NodeRegistration } from '../domain/nodes';
import { HttpClient, type TlsFiles } from '../lib/http-client';
import type { Logger } from '../lib/logger';

export interface MasterLinkOptions {
  masterUrl: string;
  apiKey?: string;
  tls?: TlsFiles;
  nodeId: string;
  registration: () => NodeRegistration;
  load: () => NodeLoad;
  intervalMs: number;
  logger: Logger;
  onDrain: () => void;
}

export class MasterLink {
  private readonly http: HttpClient;
  private timer: NodeJS.Timeout | undefined;
  private registered = false;
  private reachable = true;
  private draining = false;
  private stopped = false;

  constructor(private readonly opts: MasterLinkOptions) {
    this.http = new HttpClient(opts.masterUrl, { apiKey: opts.apiKey, tls: opts.tls, timeoutMs: 10_000 });
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.intervalMs);
  }

  private async tick(): Promise<void> {
    try {
      if (!this.registered) await this.register();
      else await this.heartbeat();
      if (!this.reachable) this.opts.logger.info('master reachable again');
      this.reachable = true;
    } catch (err) {
      if (this.reachable) this.opts.logger.warn({ err: (err as Error).message }, 'master unreachable; running work continues, retrying');
      this.reachable = false;
    } finally {
      this.schedule();
    }
  }

  private async register(): Promise<void> {
    const r = await this.http.request<{ id: string; error?: string }>('POST', '/nodes/register', this.opts.registration());
    if (r.status !== 200 && r.status !== 201) throw new Error(`registration answered ${r.status}: ${r.body?.error ?? r.text}`);
    if (r.body.id !== this.opts.nodeId) this.opts.logger.warn({ master_id: r.body.id }, 'the master names this node differently');
    this.registered = true;
    this.opts.logger.info({ status: r.status }, r.status === 201 ? 'registered with the master' : 'registered again with the master');
  }

  private async heartbeat(): Promise<void> {
    const r = await this.http.request<{ action?: string; error?: string }>('POST', `/nodes/${encodeURIComponent(this.opts.nodeId)}/heartbeat`, this.opts.load());
    if (r.status === 404) {
      // the master forgot this node (removed, or a new cluster): register again at once
      this.registered = false;
      await this.register();
      return;
    }
    if (r.status !== 200) throw new Error(`heartbeat answered ${r.status}: ${r.body?.error ?? r.text}`);
    if (r.body.action === 'drain' && !this.draining) {
      this.draining = true;
      this.opts.logger.info('the master asks this node to drain');
      this.opts.onDrain();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.http.close();
  }
}
