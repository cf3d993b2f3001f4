/**
 * API-key authentication: X-API-Key, or `Authorization: Bearer <key>` for existing clients.
 * Keys are compared in constant time (over SHA-256 digests, so their lengths do not leak either);
 * several keys may be valid at once, for rotation. (mTLS: a verified client certificate also
 * authenticates — see api/tls.ts.)
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Principal {
  /** a short, non-secret label for logs and rate-limit keys */
  id: string;
  via: 'api-key' | 'client-certificate' | 'none';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ApiKeyAuth {
  private readonly keys: { digest: Buffer; id: string }[];

  constructor(keys: readonly string[]) {
    this.keys = keys.map((k) => ({ digest: digest(k), id: `key:${digest(k).toString('hex').slice(0, 12)}` }));
  }

  /** The principal of a valid key; every configured key is compared, always. */
  check(presented: string | undefined): Principal | undefined {
    if (presented === undefined || presented.length > 1024) return undefined;
    const d = digest(presented);
    let match: string | undefined;
    for (const k of this.keys) if (timingSafeEqual(d, k.digest) && !match) match = k.id;
    return match ? { id: match, via: 'api-key' } : undefined;
  }
}
