/**
 * The last log lines in memory, for the console's live log view. pino stays the source: the
 * root logger writes every line to stdout and to this tail (a pino multistream destination).
 * Lines are kept raw (bounded by count and bytes) and parsed only when read.
 */
export interface LogLine {
  level: number;
  time: number;
  module: string | null;
  msg: string;
  line: Record<string, unknown>;
}

export class LogTail {
  private readonly lines: string[] = [];
  private bytes = 0;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    private readonly maxLines = 2000,
    private readonly maxBytes = 2 * 1024 * 1024,
  ) {}

  /** The pino destination side (one JSON line per call). */
  write(chunk: string): boolean {
    const text = chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk;
    this.lines.push(text);
    this.bytes += text.length;
    while (this.lines.length > this.maxLines || this.bytes > this.maxBytes) {
      this.bytes -= this.lines.shift()?.length ?? 0;
    }
    if (this.listeners.size > 0) {
      const parsed = parse(text);
      if (parsed) for (const l of this.listeners) l(parsed);
    }
    return true;
  }

  /** The last `limit` lines at or above `minLevel` (pino numbers: 30 info, 40 warn...). */
  recent(minLevel = 0, limit = 500): LogLine[] {
    const out: LogLine[] = [];
    for (let i = this.lines.length - 1; i >= 0 && out.length < limit; i--) {
      const l = parse(this.lines[i]!);
      if (l && l.level >= minLevel) out.push(l);
    }
    return out.reverse();
  }

  subscribe(fn: (line: LogLine) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

function parse(text: string): LogLine | null {
  try {
    const line = JSON.parse(text) as Record<string, unknown>;
    return {
      level: typeof line.level === 'number' ? line.level : 30,
      time: typeof line.time === 'number' ? line.time : 0,
      module: typeof line.module === 'string' ? line.module : null,
      msg: typeof line.msg === 'string' ? line.msg : '',
      line,
    };
  } catch {
    return null;
  }
}
