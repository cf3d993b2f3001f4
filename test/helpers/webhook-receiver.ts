/**
 * A real webhook receiver for tests: an HTTP server on loopback whose paths each verify what
 * arrives with the Standard Webhooks reference library (every secret they were given: rotation)
 * and answer as the test says — a status, or hang (no answer until released).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  id: string;
  type: string;
  body: { type: string; timestamp: string; data: any };
  signatures: number;
  /** the signature checked out against one of the path's secrets */
  verified: boolean;
  /** how the receiver answered it: a status, or 'hang' */
  answer: number | 'hang';
}

/** How a path answers its n-th request (0-based): a status, or 'hang'. */
export type Answer = (n: number) => number | 'hang';

export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly paths = new Map<string, { secrets: string[]; answer: Answer; count: number }>();
  private readonly hanging = new Set<http.ServerResponse>();
  private server: http.Server | undefined;
  port = 0;

  /** Listens on loopback (on `port` when given: a receiver that comes back). */
  async start(port = 0): Promise<this> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** What a path answers; its secrets are set (or added) once known. */
  route(path: string, answer: Answer = () => 200): void {
    const known = this.paths.get(path);
    this.paths.set(path, { secrets: known?.secrets ?? [], answer, count: known?.count ?? 0 });
  }

  secret(path: string, secret: string): void {
    const p = this.paths.get(path);
    if (!p) throw new Error(`no route ${path}`);
    p.secrets.push(secret);
  }

  secretsOf(path: string): string[] {
    return [...(this.paths.get(path)?.secrets ?? [])];
  }

  /** Replaces a path's secrets: only these verify from now on. */
  onlySecrets(path: string, secrets: string[]): void {
    const p = this.paths.get(path);
    if (!p) throw new Error(`no route ${path}`);
    p.secrets = [...secrets];
  }

  /** Answers every hanging request with `status`. */
  release(status = 200): void {
    for (const res of this.hanging) res.writeHead(status).end();
    this.hanging.clear();
  }

  at(path: string, jobId?: string): Received[] {
    return this.received.filter((r) => r.path === path && (jobId === undefined || r.body.data?.id === jobId));
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    this.server = undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const p = this.paths.get(path);
    if (!p) return void res.writeHead(404).end();
    // the secret is not known yet (a job's own, answered with its creation): come back later
    if (p.secrets.length === 0) return void res.writeHead(503).end();
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    const verified = p.secrets.some((s) => {
      try {
        new Webhook(s).verify(text, headers);
        return true;
      } catch {
        return false;
      }
    });
    // a real receiver refuses what it cannot verify
    const answer = verified ? p.answer(p.count++) : 401;
    let body: Received['body'];
    try {
      body = JSON.parse(text) as Received['body'];
    } catch {
      body = { type: '', timestamp: '', data: null };
    }
    this.received.push({ path, id: headers['webhook-id'], type: body.type, body, signatures: headers['webhook-signature'].split(' ').filter(Boolean).length, verified, answer });
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
  }
}

/** The events of one job as first received (a repeat after a fault keeps its first place). */
export function firstArrivals(received: readonly Received[]): Received[] {
  const seen = new Set<string>();
  return received.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}
