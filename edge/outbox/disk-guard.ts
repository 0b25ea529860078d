import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import { walLimitsFor } from '../sqlite-wal.js';
import type { DropReport, QuotaKeeper } from './quota.js';

/**
 * The outbox follows the disk it is on. Every `checkIntervalMs` (and at once when a write fails
 * for lack of space) it reads the file system's free space (statfs) and sets the quota's limit
 * to the smaller of `maxBytes` and what the disk allows: the bytes stored now plus the free
 * space left once `reserveBytes` are kept for the rest of the system, the WAL's growth until its
 * next checkpoint is allowed for, and the reserve file is (or could again be) held. When that is
 * less than what is stored, rows go at once in the quota's order (delivered first, then by
 * priority), in short transactions.
 *
 * The reserve file (`<outbox file>.reserve`, `reserveFileBytes` of real blocks) is the outbox's
 * own headroom: when a write fails with SQLITE_FULL (something else filled the disk, or the
 * estimate was short), it is deleted, the limit re-read and rows dropped, and the write runs once
 * more. So marking deliveries (itself a write) and announcing drops keep working on a full disk.
 * Once there is room again (freed pages given back with `incremental_vacuum` on files created
 * with auto_vacuum=INCREMENTAL), the reserve file is written again.
 *
 * The WAL is sized to the file system: wal_autocheckpoint and journal_size_limit scale down on a
 * small disk, so the WAL cannot take a large share of it.
 */

export interface DiskReading {
  freeBytes: number;
  totalBytes: number;
}

export type StatFs = (dir: string) => DiskReading;

export const systemStatFs: StatFs = (dir) => {
  const s = statfsSync(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
};

/** A file system statfs cannot read: no disk limit (maxBytes alone), no reserve file. */
const UNKNOWN_DISK: DiskReading = { freeBytes: Number.MAX_SAFE_INTEGER / 4, totalBytes: 0 };

const MiB = 1024 * 1024;

/** Free space left for the rest of the system by default: 5 % of the file system, at most 256 MiB. */
export function defaultReserveBytes(totalBytes: number): number {
  return Math.min(256 * MiB, Math.round(totalBytes * 0.05));
}

/**
 * The reserve file by default: 2 % of the file system, at least 256 KiB, at most 4 MiB (what
 * marking deliveries and dropping rows in short transactions need until pages are free again).
 */
export function defaultReserveFileBytes(totalBytes: number): number {
  return Math.max(256 * 1024, Math.min(4 * MiB, Math.round(totalBytes * 0.02)));
}

/** A write that failed because the file system is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE' || code === 'ENOSPC';
}

export interface DiskGuardOptions {
  file: string;
  quota: QuotaKeeper;
  clock: Clock;
  log: Logger;
  /** free space kept for the rest of the system (default: defaultReserveBytes) */
  reserveBytes?: number | undefined;
  /** size of the reserve file (default: defaultReserveFileBytes; 0: none) */
  reserveFileBytes?: number | undefined;
  checkIntervalMs?: number | undefined;
  statfs?: StatFs | undefined;
  /** drops made to fit a lower limit, handled like a commit's drops */
  afterDrops: (report: DropReport) => void;
  /** called after every periodic check (the outbox's drain watch) */
  onCheck?: () => void;
  closed: () => boolean;
}

export interface DiskStatus {
  freeBytes: number;
  totalBytes: number;
  reserveBytes: number;
  reserveFileBytes: number;
  /** held: the reserve file is on disk; released: given up to a full disk; none: not used */
  reserveFile: 'held' | 'released' | 'none';
  /** what the disk allows the outbox (estimated bytes, as the quota counts) */
  allowedBytes: number;
  /** the pages the database file may have (SQLite max_page_count) */
  maxPages: number;
  /** when a write last failed for lack of space (ISO), or null */
  lastFullAt: string | null;
}

export class DiskGuard {
  private readonly dir: string;
  private readonly reserveFile: string;
  private readonly statfs: StatFs;
  private readonly reserveBytes: number;
  private readonly reserveFileBytes: number;
  private readonly walCapBytes: number;
  private readonly pageSize: number;
  private readonly incremental: boolean;
  private reading: DiskReading;
  private readAtMono = Number.NEGATIVE_INFINITY;
  /** the largest WAL seen: the WAL needs that much room again before its next reset */
  private walPeak = 0;
  private held = false;
  private allowed = Number.MAX_SAFE_INTEGER;
  private maxPages = 0;
  private lastFullWall: number | null = null;
  private readonly timer: TimerHandle;

  constructor(
    private readonly db: Database.Database,
    private readonly o: DiskGuardOptions,
  ) {
    this.dir = dirname(o.file);
    this.reserveFile = `${o.file}.reserve`;
    const statfs = o.statfs ?? systemStatFs;
    try {
      this.reading = statfs(this.dir);
      this.statfs = statfs;
    } catch (err) {
      o.log.warn({ err }, 'free space of the data folder unknown: the outbox keeps to maxBytes');
      this.reading = UNKNOWN_DISK;
      this.statfs = () => UNKNOWN_DISK;
    }
    const total = this.reading.totalBytes;
    this.reserveBytes = o.reserveBytes ?? defaultReserveBytes(total);
    this.reserveFileBytes =
      total === 0 ? 0 : (o.reserveFileBytes ?? defaultReserveFileBytes(total));
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
    this.incremental = (db.pragma('auto_vacuum', { simple: true }) as number) === 2;
    // the WAL sized to the disk: at most 1/256 of it between checkpoints, 1/64 kept after one
    const { checkpointPages, journalSizeLimitBytes } = walLimitsFor(total, this.pageSize);
    db.pragma(`wal_autocheckpoint = ${checkpointPages}`);
    db.pragma(`journal_size_limit = ${journalSizeLimitBytes}`);
    // room for the WAL to grow to its checkpoint size, plus one large transaction
    this.walCapBytes = (checkpointPages + 64) * (this.pageSize + 24);
    this.held = this.reserveFileBytes > 0 && existsSync(this.reserveFile);
    this.refresh();
    this.timer = o.clock.setRepeatingTimer(() => this.check(), o.checkIntervalMs ?? 5000, {
      unref: true,
    });
  }

  /** The periodic check: re-read the disk, fit the limit, take the reserve back if possible. */
  check(): void {
    if (this.o.closed()) return;
    try {
      this.refresh();
    } catch (err) {
      this.o.log.warn({ err }, 'disk check failed');
    }
    this.o.onCheck?.();
  }

  /**
   * Run a write; when it fails for lack of space, make room (free pages in the quota's order;
   * on a full file system, release the reserve file) and run it once more. A second failure
   * throws. Before it, the limit is re-read when the last reading is older than 250 ms (a burst
   * of appends between two periodic checks must not outrun it).
   */
  retryOnFull<T>(write: () => T): T {
    if (this.o.clock.monoMs() - this.readAtMono >= 250) {
      try {
        this.refresh(false);
      } catch (err) {
        if (!isDiskFull(err)) this.o.log.warn({ err }, 'disk check failed');
      }
    }
    try {
      return write();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.relieve();
      return write();
    }
  }

  /**
   * A write failed for lack of space: the outbox reached the pages it may use (max_page_count)
   * or the file system is full. Give up the reserve file if the file system is full, let the
   * WAL reach the file (so it is reused, not grown), fit the limit, then free pages for the
   * write: rows go in the quota's order until 2 % of the file's pages (at least 64) are free.
   */
  relieve(): void {
    this.lastFullWall = this.o.clock.wallMs();
    this.reading = this.statfs(this.dir);
    // our own stop (the file has all the pages it may have) or the file system itself?
    const atStop = (this.db.pragma('page_count', { simple: true }) as number) >= this.maxPages;
    const walRoom = Math.max(0, this.walNeed() - sizeOf(`${this.o.file}-wal`));
    const fsFull = !atStop || this.reading.freeBytes < walRoom + 16 * this.pageSize;
    if (this.held && fsFull) {
      try {
        unlinkSync(this.reserveFile);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.held = false;
      this.o.log.warn(
        { reserveFileBytes: this.reserveFileBytes, freeBytes: this.reading.freeBytes },
        'disk full: outbox reserve file released',
      );
    }
    try {
      this.checkpoint();
      this.refresh(false);
      const pages = this.db.pragma('page_count', { simple: true }) as number;
      const need = Math.max(64, Math.ceil(pages * 0.02));
      for (const r of this.o.quota.shrink(this.checkpoint, () => this.freePages() >= need)) {
        this.o.afterDrops(r);
      }
      this.checkpoint();
    } catch (err) {
      this.o.log.warn({ err }, 'making room on a full disk failed');
    }
  }

  /** Pages a write may still use: free pages in the file and pages it may still grow by. */
  private freePages(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return Math.max(0, this.maxPages - pages) + free;
  }

  private readonly checkpoint = (): void => {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  };

  private walNeed(): number {
    return Math.max(this.walCapBytes, Math.round(this.walPeak * 1.25));
  }

  /** Re-read the disk, set the limits, drop what no longer fits, re-take the reserve. */
  refresh(retake = true): void {
    this.reading = this.statfs(this.dir);
    this.readAtMono = this.o.clock.monoMs();
    const growth = this.setLimit();
    if (this.o.quota.bytes > this.o.quota.limit) {
      for (const report of this.o.quota.shrink(this.checkpoint)) this.o.afterDrops(report);
      this.checkpoint();
    }
    // others took the reserve's room: give freed pages back to the file system
    if (growth < 0 && this.incremental) this.vacuum(Math.ceil(-growth / this.pageSize));
    if (retake && !this.held && this.reserveFileBytes > 0) this.retakeReserve();
  }

  /**
   * The limits from the disk: SQLite's max_page_count (the file grows only into space that is
   * really there: a hard stop, failing with SQLITE_FULL before the file system does) and the
   * quota's limit in estimated bytes (so the quota drops in its order before that stop).
   * Returns the room the file may grow by (negative: the reserve is already eaten into).
   */
  private setLimit(): number {
    const q = this.o.quota;
    const ps = this.pageSize;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const freePages = this.db.pragma('freelist_count', { simple: true }) as number;
    const fileBytes = sizeOf(this.o.file);
    const walBytes = sizeOf(`${this.o.file}-wal`);
    this.walPeak = Math.max(this.walPeak, walBytes);
    const growth =
      this.reading.freeBytes -
      this.reserveBytes -
      (this.held || this.reserveFileBytes === 0 ? 0 : this.reserveFileBytes) -
      Math.max(0, this.walNeed() - walBytes) - // WAL growth until its next reset
      Math.max(0, pages * ps - fileBytes); // pages still in the WAL, not yet in the file
    this.maxPages = Math.min(0xfffffffe, pages + Math.max(0, Math.floor(growth / ps)));
    this.db.pragma(`max_page_count = ${this.maxPages}`);
    // stored bytes per estimated byte (pages are never full, rows dropped here and there leave
    // holes, indexes); 2 until there is data; 15 % for what one reading cannot see
    const live = (pages - freePages) * ps;
    const ratio = q.bytes > 256 * 1024 ? Math.max(1, live / q.bytes) : 2;
    this.allowed = Math.max(0, q.bytes + (growth + freePages * ps) / (ratio * 1.15));
    q.setDiskLimit(this.allowed);
    return growth;
  }

  /** Give up to `pages` free pages of the file back to the file system. */
  private vacuum(pages: number): void {
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const n = Math.min(free, pages);
    if (n <= 0) return;
    this.db.pragma(`incremental_vacuum(${n})`);
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.reading = this.statfs(this.dir);
  }

  /** Write the reserve file again once the disk has room for it (giving back freed pages). */
  private retakeReserve(): void {
    const room = (): number =>
      this.reading.freeBytes -
      this.reserveBytes -
      Math.max(0, this.walNeed() - sizeOf(`${this.o.file}-wal`));
    const need = this.reserveFileBytes + 16 * this.pageSize;
    if (room() < need && this.incremental) this.vacuum(Math.ceil((need - room()) / this.pageSize));
    if (room() < need) return;
    try {
      writeZeros(this.reserveFile, this.reserveFileBytes);
      this.held = true;
      this.o.log.info({ reserveFileBytes: this.reserveFileBytes }, 'outbox reserve file held');
    } catch (err) {
      this.o.log.warn({ err }, 'outbox reserve file not written');
      try {
        unlinkSync(this.reserveFile);
      } catch {
        /* nothing was written */
      }
      return;
    }
    this.reading = this.statfs(this.dir);
    this.setLimit();
  }

  status(): DiskStatus {
    return {
      freeBytes: this.reading.freeBytes,
      totalBytes: this.reading.totalBytes,
      reserveBytes: this.reserveBytes,
      reserveFileBytes: this.reserveFileBytes,
      reserveFile: this.reserveFileBytes === 0 ? 'none' : this.held ? 'held' : 'released',
      allowedBytes: Math.round(Math.min(this.allowed, Number.MAX_SAFE_INTEGER)),
      maxPages: this.maxPages,
      lastFullAt: this.lastFullWall === null ? null : new Date(this.lastFullWall).toISOString(),
    };
  }

  /** The reserve file was given up to a full disk and not taken back yet. */
  get reserveReleased(): boolean {
    return this.reserveFileBytes > 0 && !this.held;
  }

  stop(): void {
    this.o.clock.clearTimer(this.timer);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Real blocks, not a sparse file: zeros written and synced. */
function writeZeros(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(bytes, 64 * 1024));
    for (let done = 0; done < bytes; done += chunk.length) {
      writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
