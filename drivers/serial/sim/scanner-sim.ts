import { makeS10 } from '../../../edge/identifiers/s10.js';
import type { OpenPort, SerialBinding, SerialPortSettings } from '../port.js';

/**
 * A barcode scanner simulator: writes real bytes to a serial path (one end of a pty pair):
 * reads (S10 waybill numbers), no-reads, invalid ids, heartbeats, framed with CR LF or STX/ETX.
 * Drive it by hand (tests) or let it run at a rate (npm start).
 */
export interface ScannerSimOptions {
  framing: 'crlf' | 'stx-etx';
  noReadText: string;
  heartbeatText: string | null;
}

export class ScannerSimulator {
  private port: OpenPort | null = null;
  private timer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private serial = 10_000_000;
  sent = 0;

  constructor(
    private readonly settings: SerialPortSettings,
    private readonly binding: SerialBinding,
    private readonly o: ScannerSimOptions = {
      framing: 'crlf',
      noReadText: 'NOREAD',
      heartbeatText: null,
    },
  ) {}

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(onClose?: () => void): Promise<void> {
    this.port = await this.binding.open(this.settings, {
      onData: () => undefined,
      onClose: () => {
        this.port = null;
        onClose?.();
      },
    });
  }

  frame(text: string): Buffer {
    return this.o.framing === 'crlf'
      ? Buffer.from(`${text}\r\n`, 'latin1')
      : Buffer.concat([Buffer.from([0x02]), Buffer.from(text, 'latin1'), Buffer.from([0x03])]);
  }

  /** the next valid S10 waybill number */
  nextCode(): string {
    return makeS10('RD', String(this.serial++).padStart(8, '0').slice(-8), 'CN');
  }

  async writeRaw(bytes: Buffer): Promise<void> {
    if (!this.port) throw new Error('scanner simulator is not open');
    await this.port.write(bytes);
    this.sent++;
  }

  sendRead(code: string = this.nextCode()): Promise<void> {
    return this.writeRaw(this.frame(code));
  }

  sendNoRead(): Promise<void> {
    return this.writeRaw(this.frame(this.o.noReadText));
  }

  /** an S10-shaped code with a wrong check digit */
  sendInvalid(): Promise<void> {
    const good = this.nextCode();
    const wrong = (Number(good[10]) + 1) % 10;
    return this.writeRaw(this.frame(`${good.slice(0, 10)}${wrong}${good.slice(11)}`));
  }

  sendHeartbeat(): Promise<void> {
    return this.writeRaw(this.frame(this.o.heartbeatText ?? 'HB'));
  }

  /** Read at a rate: a no-read or an invalid id with the given probabilities. */
  run(o: {
    perMinute: number;
    noReadRate: number;
    invalidRate: number;
    random?: () => number;
  }): void {
    const random = o.random ?? Math.random;
    this.stopRunning();
    this.timer = setInterval(() => {
      if (!this.port) return;
      const r = random();
      const p =
        r < o.noReadRate
          ? this.sendNoRead()
          : r < o.noReadRate + o.invalidRate
            ? this.sendInvalid()
            : this.sendRead();
      p.catch(() => undefined);
    }, 60_000 / o.perMinute);
    if (this.o.heartbeatText !== null)
      this.heartbeatTimer = setInterval(() => {
        if (this.port) this.sendHeartbeat().catch(() => undefined);
      }, 1000);
  }

  stopRunning(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.timer = null;
    this.heartbeatTimer = null;
  }

  async close(): Promise<void> {
    this.stopRunning();
    const port = this.port;
    this.port = null;
    await port?.close();
  }
}
