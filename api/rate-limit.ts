/**
 * Rate limiting per API key (per client address when unauthenticated), with rate-limiter-flexible.
 * A fixed window of burst × 60 / rate seconds holds `burst` requests: with the defaults, 20 per
 * 12 s — bursts of up to 20, 100 a minute sustained. Rejections answer 429 with Retry-After.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
  remaining: number;
  limit: number;
}

export class RateLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(readonly perMinute: number, readonly burst: number) {
    this.limiter = new RateLimiterMemory({ points: burst, duration: Math.max(1, Math.round((burst * 60) / perMinute)) });
  }

  get windowSeconds(): number {
    return this.limiter.duration;
  }

  async take(key: string): Promise<RateDecision> {
    try {
      const r = await this.limiter.consume(key);
      return { allowed: true, retryAfterSeconds: 0, remaining: r.remainingPoints, limit: this.burst };
    } catch (rej) {
      if (!(rej instanceof RateLimiterRes)) throw rej;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rej.msBeforeNext / 1000)), remaining: 0, limit: this.burst };
    }
  }
}
