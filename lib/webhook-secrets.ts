/**
 * Webhook secrets: never stored anywhere, derived where they are used (the master that creates or
 * rotates a subscription shows it; the master that delivers signs with it) from the masters'
 * shared key, the subscription (or job) and the secret's generation. Temporal holds only the
 * generation number, so no history, memo or search attribute ever carries a secret. Signing is
 * the Standard Webhooks reference library's (`standardwebhooks`), never our own HMAC.
 */
import { hkdfSync } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** What a secret belongs to: a subscription, or one job's own webhook_url. */
export type SecretScope = { subscription: string } | { job: string };

const scopeName = (s: SecretScope): string => ('subscription' in s ? `subscription:${s.subscription}` : `job:${s.job}`);

/** The secret of a scope's generation, as the spec writes it (whsec_ and 32 bytes in base64). */
export function webhookSecret(masterKey: string, scope: SecretScope, version: number): string {
  const bytes = Buffer.from(hkdfSync('sha256', masterKey, scopeName(scope), `ffrtmp webhook secret v${version}`, 32));
  return `whsec_${bytes.toString('base64')}`;
}

/** The webhook-signature header: one signature per secret, space-separated (the spec allows several, for rotation). */
export function signatureHeader(secrets: readonly string[], msgId: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(' ');
}
