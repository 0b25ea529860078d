import { existsSync } from 'node:fs';
import type * as SerialPortNs from 'serialport';
import { EdgeError } from '../../edge/errors.js';

/**
 * The hardware seam: how the serial driver opens a port. The real binding wraps serialport's
 * SerialPort (loaded on first use, so a gateway without serial devices never loads the native
 * addon); tests use the same binding on socat ptys, which are real ttys that can be unplugged.
 */
export interface SerialPortSettings {
  path: string;
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits: 1 | 1.5 | 2;
  flowControl: 'none' | 'rtscts' | 'xonxoff';
}

export interface PortCloseInfo {
  /** true when the device went away (unplug, EIO), false when we closed it */
  disconnected: boolean;
  message: string;
}

export interface PortHandlers {
  onData(chunk: Buffer): void;
  /** called once when the port is closed, by us or by the device going away */
  onClose(info: PortCloseInfo): void;
}

export interface OpenPort {
  readonly isOpen: boolean;
  write(data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface SerialPortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  pnpId?: string;
}

export interface SerialBinding {
  open(settings: SerialPortSettings, handlers: PortHandlers): Promise<OpenPort>;
  /** may reject (serialport spawns udevadm, which may be missing); callers catch */
  list(): Promise<SerialPortInfo[]>;
  pathExists(path: string): boolean;
}

type SerialPortModule = typeof SerialPortNs;
let modulePromise: Promise<SerialPortModule> | null = null;
const loadSerialPort = (): Promise<SerialPortModule> => (modulePromise ??= import('serialport'));

class NodeOpenPort implements OpenPort {
  constructor(private readonly port: InstanceType<SerialPortModule['SerialPort']>) {}

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  write(data: Buffer): Promise<void> {
    // serialport queues writes on a closed port until it opens again: never let that happen
    if (!this.port.isOpen)
      return Promise.reject(new EdgeError('EDGE_SERIAL_NOT_CONNECTED', 'port is not open'));
    return new Promise((resolve, reject) => {
      this.port.write(data, (err) => {
        if (err) {
          reject(err);
          return;
        }
        this.port.drain((e) => (e ? reject(e) : resolve()));
      });
    });
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

/** The real binding: serialport 13 (bindings-cpp). */
export const nodeSerialBinding: SerialBinding = {
  async open(settings, handlers) {
    const { SerialPort } = await loadSerialPort();
    const port = new SerialPort({
      path: settings.path,
      baudRate: settings.baudRate,
      dataBits: settings.dataBits,
      parity: settings.parity,
      stopBits: settings.stopBits,
      rtscts: settings.flowControl === 'rtscts',
      xon: settings.flowControl === 'xonxoff',
      xoff: settings.flowControl === 'xonxoff',
      autoOpen: false,
      lock: true,
    });
    let closed = false;
    const closeOnce = (info: PortCloseInfo) => {
      if (closed) return;
      closed = true;
      handlers.onClose(info);
    };
    port.on('data', (chunk: Buffer) => handlers.onData(chunk));
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) =>
      closeOnce({
        disconnected: err?.disconnected === true,
        message: err ? err.message : 'closed',
      }),
    );
    // errors after open (a failed write, a read error) end in 'close' or are reported by write()
    port.on('error', () => undefined);
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(err) : resolve())),
    );
    return new NodeOpenPort(port);
  },
  async list() {
    const { SerialPort } = await loadSerialPort();
    const ports = await SerialPort.list();
    return ports.map((p) => {
      const info: SerialPortInfo = { path: p.path };
      if (p.manufacturer) info.manufacturer = p.manufacturer;
      if (p.serialNumber) info.serialNumber = p.serialNumber;
      if (p.vendorId) info.vendorId = p.vendorId;
      if (p.productId) info.productId = p.productId;
      if (p.pnpId) info.pnpId = p.pnpId;
      return info;
    });
  },
  pathExists: (path) => existsSync(path),
};
