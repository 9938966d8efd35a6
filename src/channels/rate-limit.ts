/** Spaces one organization's sends to its messages/second budget (per worker process); 0 = unlimited. */
export class RateLimiter {
  private next = new Map<string, number>();
  constructor(private readonly perSecond: number) {}
  async take(key: string) {
    if (!this.perSecond) return;
    const now = Date.now();
    const slot = Math.max(now, this.next.get(key) ?? 0);
    this.next.set(key, slot + 1000 / this.perSecond);
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }
}
