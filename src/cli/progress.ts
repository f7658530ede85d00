/**
 * A one-line progress bar for terminals (stderr), redrawn at most ten times a second. Off when the
 * stream is not a TTY, so logs and pipes stay clean.
 */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly enabled: boolean = stream.isTTY === true,
  ) {}

  /** fraction in [0, 1] (NaN when unknown), text after the bar. */
  update(fraction: number, text: string, force = false): void {
    if (!this.enabled) return;
    const t = performance.now();
    if (!force && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const width = 24;
    const filled = Number.isFinite(fraction) ? Math.round(Math.max(0, Math.min(1, fraction)) * width) : 0;
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const columns = this.stream.columns ?? 100;
    const line = `${bar} ${text}`.slice(0, Math.max(20, columns - 1));
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Print a line above the bar. */
  log(line: string): void {
    if (this.enabled && this.drawn) this.stream.write(`\r\x1b[K`);
    this.stream.write(line + "\n");
    this.lastDraw = 0;
  }

  done(): void {
    if (this.enabled && this.drawn) this.stream.write(`\r\x1b[K`);
    this.drawn = false;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
}
