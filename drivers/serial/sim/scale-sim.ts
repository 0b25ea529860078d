import { DelimiterFramer, type FramerEvent } from '../framers.js';
import type { OpenPort, SerialBinding, SerialPortSettings } from '../port.js';
import { encodeToledo } from '../profiles/toledo.js';

/**
 * A scale simulator writing real bytes to a serial path:
 *  - 'mt-sics': answers S / SI (and I4) commands like a Mettler Toledo scale;
 *  - 'toledo': Toledo continuous output at a rate, with or without checksum.
 * State (weight, motion, overload, error) is set by hand; `silent` stops all output.
 */
export type ScaleState =
  | { status: 'stable'; kg: number }
  | { status: 'dynamic'; kg: number }
  | { status: 'overload' }
  | { status: 'underload' }
  | { status: 'error'; code: 'ES' | 'ET' | 'EL' };

export interface ScaleSimOptions {
  protocol: 'mt-sics' | 'toledo';
  checksum?: boolean;
  /** Toledo frames per second (about 7 on real indicators) */
  rateHz?: number;
}

export class ScaleSimulator {
  private port: OpenPort | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly commands = new DelimiterFramer(Buffer.from('\r\n'), 64);
  private readonly events: FramerEvent[] = [];
  state: ScaleState = { status: 'stable', kg: 0 };
  silent = false;
  /** corrupt the next Toledo checksum (tests) */
  corruptNext = 0;
  received: string[] = [];

  constructor(
    private readonly settings: SerialPortSettings,
    private readonly binding: SerialBinding,
    private readonly o: ScaleSimOptions,
  ) {}

  async open(onClose?: () => void): Promise<void> {
    this.port = await this.binding.open(this.settings, {
      onData: (chunk) => this.onCommandBytes(chunk),
      onClose: () => {
        this.port = null;
        this.stopOutput();
        onClose?.();
      },
    });
    if (this.o.protocol === 'toledo') {
      const every = 1000 / (this.o.rateHz ?? 7);
      this.timer = setInterval(() => this.sendToledo(), every);
    }
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  mtSicsAnswer(command: string): string {
    const s = this.state;
    if (command === 'I4') return 'I4 A "0123456789"';
    if (command !== 'S' && command !== 'SI') return 'ES';
    if (s.status === 'error') return s.code;
    if (s.status === 'overload') return 'S +';
    if (s.status === 'underload') return 'S -';
    const flag = s.status === 'stable' ? 'S' : 'D';
    return `S ${flag} ${s.kg.toFixed(3).padStart(10)} kg`;
  }

  toledoFrame(): Buffer {
    const s = this.state;
    const frame = encodeToledo({
      value: s.status === 'stable' || s.status === 'dynamic' ? s.kg : 0,
      motion: s.status === 'dynamic',
      outOfRange: s.status === 'overload' || s.status === 'underload',
      notReady: s.status === 'error',
      checksum: this.o.checksum ?? true,
      decimals: 2,
    });
    if (s.status === 'underload') frame[2] = (frame[2] ?? 0) | 0x02;
    if (this.corruptNext > 0 && (this.o.checksum ?? true)) {
      this.corruptNext--;
      frame[frame.length - 1] = ((frame[frame.length - 1] ?? 0) + 1) & 0x7f;
    }
    return frame;
  }

  async writeRaw(bytes: Buffer): Promise<void> {
    if (!this.port) throw new Error('scale simulator is not open');
    await this.port.write(bytes);
  }

  private onCommandBytes(chunk: Buffer): void {
    this.commands.push(chunk, 0, this.events);
    for (const e of this.events.splice(0)) {
      if (e.type !== 'frame') continue;
      const command = e.frame.payload.toString('latin1').trim();
      this.received.push(command);
      if (this.received.length > 1000) this.received.splice(0, 500);
      if (this.o.protocol !== 'mt-sics' || this.silent) continue;
      this.writeRaw(Buffer.from(`${this.mtSicsAnswer(command)}\r\n`, 'latin1')).catch(
        () => undefined,
      );
    }
  }

  private sendToledo(): void {
    if (!this.port || this.silent) return;
    this.writeRaw(this.toledoFrame()).catch(() => undefined);
  }

  private stopOutput(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async close(): Promise<void> {
    this.stopOutput();
    const port = this.port;
    this.port = null;
    await port?.close();
  }
}
