import { Type, type Static } from 'typebox';
import { EdgeError } from '../../../edge/errors.js';
import { BaseDriver, type DriverContext } from '../../driver.js';
import { seededRandom } from '../../simulated/random.js';
import { nodeSerialBinding, type SerialBinding, type SerialPortSettings } from '../port.js';
import { PtyPair } from './pty-pair.js';
import { ScaleSimulator } from './scale-sim.js';
import { ScannerSimulator } from './scanner-sim.js';

/**
 * The `serial-sim` driver kind: runs a barcode scanner or scale simulator on one end of a serial
 * line so `npm start` can exercise the serial drivers with real bytes. With `pty`, it starts its
 * own socat pair (`path` <-> `pty.peer`) and a serial driver opens `pty.peer`.
 * It emits no line signals itself.
 */
export const SerialSimSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('serial-sim'),
    enabled: Type.Optional(Type.Boolean()),
    device: Type.Union([Type.Literal('barcode'), Type.Literal('mt-sics'), Type.Literal('toledo')]),
    path: Type.String({ minLength: 1, description: 'the end of the line the simulator writes' }),
    pty: Type.Optional(
      Type.Object(
        { peer: Type.String({ minLength: 1, description: 'the end a serial driver opens' }) },
        { additionalProperties: false },
      ),
    ),
    baudRate: Type.Integer({ minimum: 50, maximum: 4_000_000, default: 9600 }),
    perMinute: Type.Number({ exclusiveMinimum: 0, maximum: 6000, default: 30 }),
    noReadRate: Type.Number({ minimum: 0, maximum: 1, default: 0.03 }),
    invalidRate: Type.Number({ minimum: 0, maximum: 1, default: 0.01 }),
    heartbeat: Type.Optional(Type.String({ minLength: 1 })),
    checksum: Type.Boolean({ default: true }),
    weightKg: Type.Object(
      { min: Type.Number({ minimum: 0 }), max: Type.Number({ minimum: 0 }) },
      { additionalProperties: false, default: { min: 0.2, max: 30 } },
    ),
    changeEveryMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 2000 }),
    seed: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type SerialSimConfig = Static<typeof SerialSimSchema>;

export class SerialSimDriver extends BaseDriver {
  private pty: PtyPair | null = null;
  private scanner: ScannerSimulator | null = null;
  private scale: ScaleSimulator | null = null;
  private readonly random: () => number;

  constructor(
    private readonly config: SerialSimConfig,
    ctx: DriverContext,
    private readonly binding: SerialBinding = nodeSerialBinding,
  ) {
    super(config.id, 'serial-sim', ctx);
    this.random = seededRandom(config.seed ?? Math.floor(Math.random() * 2 ** 31));
  }

  protected async onStart(): Promise<void> {
    const c = this.config;
    if (c.pty) {
      this.pty = new PtyPair(c.path, c.pty.peer);
      await this.pty.start();
    }
    const settings: SerialPortSettings = {
      path: c.path,
      baudRate: c.baudRate,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      flowControl: 'none',
    };
    const onClose = () => {
      if (!this.isStopping)
        this.fail(
          new EdgeError('EDGE_SERIAL_DISCONNECTED', `simulator port ${c.path} closed`),
          'failed',
        );
    };
    if (c.device === 'barcode') {
      this.scanner = new ScannerSimulator(settings, this.binding, {
        framing: 'crlf',
        noReadText: 'NOREAD',
        heartbeatText: c.heartbeat ?? null,
      });
      await this.scanner.open(onClose);
      this.scanner.run({
        perMinute: c.perMinute,
        noReadRate: c.noReadRate,
        invalidRate: c.invalidRate,
        random: this.random,
      });
    } else {
      const scale = new ScaleSimulator(settings, this.binding, {
        protocol: c.device,
        checksum: c.checksum,
      });
      this.scale = scale;
      await scale.open(onClose);
      // a parcel arrives: the weight moves for a moment, then settles
      this.setRepeating(() => {
        const kg =
          Math.round((c.weightKg.min + this.random() * (c.weightKg.max - c.weightKg.min)) * 100) /
          100;
        scale.state = { status: 'dynamic', kg: kg * 0.9 };
        this.setTimer(
          () => (scale.state = { status: 'stable', kg }),
          Math.min(500, c.changeEveryMs / 2),
        );
      }, c.changeEveryMs);
    }
  }

  protected override healthDetails(): Record<string, unknown> {
    return {
      device: this.config.device,
      path: this.config.path,
      peer: this.config.pty?.peer ?? null,
      sent: this.scanner?.sent ?? null,
      commandsReceived: this.scale?.received.length ?? null,
    };
  }

  protected async onStop(): Promise<void> {
    await this.scanner?.close().catch(() => undefined);
    await this.scale?.close().catch(() => undefined);
    await this.pty?.stop();
  }
}
