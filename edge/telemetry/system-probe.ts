import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { TelemetryPayload } from './schema.js';

/**
 * Host figures for telemetry. Every reading is best effort: what cannot be read is null, never
 * an exception. Paths are injectable for tests.
 */
export interface SystemProbeOptions {
  dataDir: string;
  thermalRoot?: string;
  meminfo?: string;
}

export class SystemProbe {
  private lastCpu: { idle: number; total: number } | null = null;

  constructor(private readonly o: SystemProbeOptions) {}

  sample(): TelemetryPayload['system'] {
    const mem = process.memoryUsage();
    const disk = this.disk();
    return {
      cpuPercent: this.cpuPercent(),
      load1: os.loadavg()[0] ?? 0,
      memTotalBytes: os.totalmem(),
      memAvailableBytes: this.memAvailable(),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      diskTotalBytes: disk?.total ?? null,
      diskFreeBytes: disk?.free ?? null,
      socTempC: this.socTemp(),
      uptimeS: Math.round(os.uptime()),
    };
  }

  private cpuPercent(): number | null {
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      const t = c.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    const last = this.lastCpu;
    this.lastCpu = { idle, total };
    if (!last || total <= last.total) return null;
    const busy = 1 - (idle - last.idle) / (total - last.total);
    return Math.round(Math.max(0, Math.min(1, busy)) * 1000) / 10;
  }

  private memAvailable(): number {
    try {
      const text = readFileSync(this.o.meminfo ?? '/proc/meminfo', 'utf8');
      const m = /^MemAvailable:\s+(\d+) kB/m.exec(text);
      if (m) return Number(m[1]) * 1024;
    } catch {
      // not Linux: fall back to free memory
    }
    return os.freemem();
  }

  private disk(): { total: number; free: number } | null {
    try {
      const s = statfsSync(this.o.dataDir);
      return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
    } catch {
      return null;
    }
  }

  /** The thermal zone typed cpu / soc (Raspberry Pi: cpu-thermal), else the first readable. */
  private socTemp(): number | null {
    const root = this.o.thermalRoot ?? '/sys/class/thermal';
    let zones: string[];
    try {
      zones = readdirSync(root).filter((z) => z.startsWith('thermal_zone'));
    } catch {
      return null;
    }
    let fallback: number | null = null;
    for (const z of zones.sort()) {
      try {
        const milli = Number(readFileSync(`${root}/${z}/temp`, 'utf8').trim());
        if (!Number.isFinite(milli)) continue;
        const c = Math.round(milli / 100) / 10;
        let type = '';
        try {
          type = readFileSync(`${root}/${z}/type`, 'utf8').trim().toLowerCase();
        } catch {
          // no type file
        }
        if (/cpu|soc|x86_pkg/.test(type)) return c;
        fallback ??= c;
      } catch {
        // unreadable zone
      }
    }
    return fallback;
  }
}
