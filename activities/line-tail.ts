/** A bounded tail of text lines: keeps the last N lines and at most maxChars characters. */
export class LineTail {
  private lines: string[] = [];
  private chars = 0;
  dropped = 0;

  constructor(
    private readonly maxLines: number,
    private readonly maxChars = 32 * 1024,
  ) {}

  push(line: string): void {
    const clipped = line.length > 2048 ? `${line.slice(0, 2048)}…` : line;
    this.lines.push(clipped);
    this.chars += clipped.length + 1;
    while (this.lines.length > this.maxLines || this.chars > this.maxChars) {
      const gone = this.lines.shift();
      this.chars -= (gone?.length ?? 0) + 1;
      this.dropped++;
    }
  }

  last(n: number): string[] {
    return this.lines.slice(-n);
  }

  toString(): string {
    const head = this.dropped > 0 ? `[… ${this.dropped} earlier lines dropped]\n` : '';
    return head + this.lines.join('\n');
  }
}
