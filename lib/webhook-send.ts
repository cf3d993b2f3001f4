/**
 * One webhook attempt, as the delivery activity and `POST /webhooks/{id}/test` make it: check the
 * destination, sign the body with every valid secret, POST it, and say how it went. Never throws
 * for the receiver's faults: they are the attempt's record.
 */
import type { Counter, Histogram } from 'prom-client';
import { eventBody, type AttemptResult, type DeliveryPolicy, type WebhookEvent } from '../domain/webhooks';
import { signatureHeader } from './webhook-secrets';
import { DestinationRefused, checkDestination, postOnce } from './webhook-http';

export interface WebhookSettings {
  /** the masters' shared key the secrets are derived from (lib/webhook-secrets.ts), read on first use */
  secretKey: () => string;
  /** hosts deliveries may reach although they resolve to private addresses */
  allowHosts: string[];
  policy: DeliveryPolicy;
  /** how long the secret before a rotation stays valid */
  rotationGraceMs: number;
  /** this master runs deliveries (polls the webhook queue) */
  deliver: boolean;
}

export interface WebhookMetrics {
  attempts: Counter<'outcome'>;
  latency: Histogram<'outcome'>;
}

const USER_AGENT = 'ffrtmp-webhooks/1';

export async function sendEvent(settings: WebhookSettings, url: string, secrets: readonly string[], event: Pick<WebhookEvent, 'id' | 'type' | 'timestamp' | 'data'>, metrics?: WebhookMetrics): Promise<AttemptResult> {
  const at = new Date();
  const base = { at: at.toISOString(), status_code: null, latency_ms: null };
  const count = (outcome: string, seconds?: number) => {
    metrics?.attempts.inc({ outcome });
    if (seconds !== undefined) metrics?.latency.observe({ outcome }, seconds);
  };
  const policy = settings.policy;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    count('refused');
    return { outcome: 'refused', policy, attempt: { ...base, error: 'not a valid URL' } };
  }
  let to;
  try {
    to = await checkDestination(target, settings.allowHosts);
  } catch (err) {
    count('refused');
    // a name that does not resolve may resolve later; a forbidden address will not become allowed
    const resolvesNowhere = err instanceof DestinationRefused && err.message.includes('does not resolve');
    return { outcome: resolvesNowhere ? 'retry' : 'refused', policy, attempt: { ...base, error: (err as Error).message } };
  }
  const body = eventBody(event);
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': event.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatureHeader(secrets, event.id, at, body),
  };
  const started = performance.now();
  try {
    const r = await postOnce(target, to, headers, body, policy.attemptTimeoutMs);
    const ok = r.status >= 200 && r.status < 300;
    count(ok ? 'delivered' : 'http_error', r.latencyMs / 1000);
    const error = ok ? null : r.status >= 300 && r.status < 400 ? `answered ${r.status}: redirects are not followed` : `answered ${r.status}`;
    return { outcome: ok ? 'delivered' : 'retry', policy, attempt: { ...base, status_code: r.status, latency_ms: r.latencyMs, error } };
  } catch (err) {
    const latency = Math.round(performance.now() - started);
    const e = err as NodeJS.ErrnoException;
    const timedOut = /no answer within/.test(e.message);
    count(timedOut ? 'timeout' : 'network_error', latency / 1000);
    return { outcome: 'retry', policy, attempt: { ...base, latency_ms: latency, error: e.code ? `${e.code}: ${e.message}` : e.message } };
  }
}
