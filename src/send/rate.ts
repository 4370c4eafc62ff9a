// Kurier's own send rate limit: a token bucket on an injected clock (nodemailer's rateLimit is deprecated and overshoots).

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms`, or early (without error) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * `rate` tokens a second, at most `capacity` saved up. The bucket starts with one token and holds a
 * twentieth of a second's worth (at least one), so no one-second window sees more than rate + rate/20
 * messages, while timers that fire a little late (they always do) cost no throughput. At 14/s (a new
 * Amazon SES account) the capacity is 1: at most 14 a second, plus the one that opens the window.
 */
export class TokenBucket {
  readonly rate: number;
  readonly capacity: number;
  #tokens = 1;
  #last: number;

  constructor(rate: number, now: number) {
    this.rate = rate;
    this.capacity = Math.max(1, Math.floor(rate / 20));
    this.#last = now;
  }

  /** Takes a token if there is one (returns 0), else returns the milliseconds until there is. */
  tryTake(now: number): number {
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed * this.rate) / 1000);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.rate);
  }

  /** Waits for a token. */
  async take(clock: Clock, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.tryTake(clock.now());
      if (wait === 0 || signal?.aborted) return;
      await clock.sleep(wait, signal);
    }
  }
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};
