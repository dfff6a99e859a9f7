// A least-recently-used map bounded by the characters its values hold, not by their number: the
// things kept (rendered answers, load balancer documents) range from kilobytes to megabytes.
// Shared by the read path's rendered answers and the write path's kept documents.

export class TextLru<V> {
  private readonly entries = new Map<string, V>();
  private chars = 0;

  /**
   * `maxChars`: the bound (0 keeps nothing). `maxShare`: the largest part of it one value may take,
   * so a few huge values cannot push out every small one.
   */
  constructor(
    private readonly maxChars: number,
    private readonly sizeOf: (value: V) => number,
    private readonly maxShare = 1,
  ) {}

  /** The value held for `key`, now the most recently used. */
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** Holds `value` (replacing any older one), least recently used going first; too large: not kept. */
  set(key: string, value: V): void {
    this.delete(key);
    const size = this.sizeOf(value);
    if (size > this.maxChars * this.maxShare) return;
    this.entries.set(key, value);
    this.chars += size;
    for (const [oldest, held] of this.entries) {
      if (this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= this.sizeOf(held);
    }
  }

  delete(key: string): void {
    const held = this.entries.get(key);
    if (held === undefined) return;
    this.entries.delete(key);
    this.chars -= this.sizeOf(held);
  }

  /** Characters held. */
  get size(): number {
    return this.chars;
  }
}
