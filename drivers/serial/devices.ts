import type { BarcodeInput, DeviceStatusInput } from '../../edge/engine/types.js';
import { EdgeError } from '../../edge/errors.js';
import { IdentifierValidator } from '../../edge/identifiers/carriers.js';
import type { LineSignal } from '../driver.js';
import type {
  FramingConfig,
  SerialBarcodeConfig,
  SerialCtAlarmConfig,
  SerialDriverConfig,
  SerialMtSicsConfig,
  SerialToledoConfig,
} from './config.js';
import type { PollerOptions } from './poller.js';
import { BarcodeProfile, type BarcodeReading } from './profiles/barcode.js';
import { CT_ALARM_DEFAULTS, CtAlarmProfile, type CtAlarmReading } from './profiles/ct-alarm.js';
import { MtSicsProfile, type MtSicsReading } from './profiles/mt-sics.js';
import type { Profile } from './profiles/profile.js';
import { CR, STX, ToledoProfile, type ToledoReading } from './profiles/toledo.js';

/**
 * What differs between serial device kinds: the profile, default framing, the engine role,
 * how a reading becomes line signals, liveness (heartbeat / continuous output timeout) and
 * polling. The driver (serial-driver.ts) does the rest the same way for all of them.
 */
export interface SerialDevice<T> {
  role: DeviceStatusInput['role'];
  profile: Profile<T>;
  framing: FramingConfig;
  /** no accepted frame for this long: the device is lost (null: not watched) */
  silenceTimeoutMs: number | null;
  silenceReason: string;
  poller: PollerOptions | null;
  testCommands: readonly string[];
  signals(reading: T, deviceId: string, atMono: number): LineSignal[];
}

function framingOf(c: SerialDriverConfig, fallback: FramingConfig): FramingConfig {
  return c.framing ?? fallback;
}

const CRLF_FRAMING: FramingConfig = { type: 'delimiter', delimiter: 'crlf', maxFrameBytes: 256 };

/** weight signals only when status or value changes (mode 'change') */
function weightFilter(mode: 'change' | 'every') {
  let last = '';
  return (status: string, kg: number | null): boolean => {
    if (mode === 'every') return true;
    const key = `${status}:${kg}`;
    if (key === last) return false;
    last = key;
    return true;
  };
}

function barcodeDevice(c: SerialBarcodeConfig): SerialDevice<BarcodeReading> {
  const validator = new IdentifierValidator(c.identifiers);
  return {
    role: 'scanner',
    profile: new BarcodeProfile({
      pattern: c.pattern,
      noRead: c.noRead,
      multipleRead: c.multipleRead ?? null,
      heartbeat: c.heartbeat?.text ?? null,
      noReadStatuses: c.noReadStatuses,
    }),
    framing: framingOf(c, CRLF_FRAMING),
    silenceTimeoutMs: c.heartbeat?.timeoutMs ?? null,
    silenceReason: 'heartbeat lost',
    poller: null,
    testCommands: [],
    signals(r, deviceId, atMono) {
      if (r.type === 'heartbeat') return [];
      if (r.type !== 'code')
        return [{ type: 'barcode', deviceId, atMono, code: null, valid: false }];
      const verdict = validator.check(r.code);
      const signal: BarcodeInput = {
        type: 'barcode',
        deviceId,
        atMono,
        code: r.code,
        valid: verdict.valid,
      };
      if (r.symbology !== undefined) signal.symbology = r.symbology;
      return [signal];
    },
  };
}

function mtSicsDevice(c: SerialMtSicsConfig): SerialDevice<MtSicsReading> {
  const changed = weightFilter(c.emit);
  return {
    role: 'scale',
    profile: new MtSicsProfile(),
    framing: framingOf(c, CRLF_FRAMING),
    silenceTimeoutMs: null,
    silenceReason: 'no response',
    poller: {
      command: c.polling.command,
      intervalMs: c.polling.intervalMs,
      timeoutMs: c.polling.timeoutMs,
      retries: c.polling.retries,
    },
    testCommands: c.testCommands,
    signals(r, deviceId, atMono) {
      let status: 'stable' | 'dynamic' | 'overload' | 'underload' | 'error';
      let kg: number | null = null;
      if (r.type === 'weight') {
        status = r.status;
        kg = r.kg;
      } else if (r.type === 'busy') {
        return []; // the scale could not answer this time; the next poll asks again
      } else {
        status = r.type;
      }
      return changed(status, kg) ? [{ type: 'weight', deviceId, atMono, kg, status }] : [];
    },
  };
}

function toledoDevice(c: SerialToledoConfig): SerialDevice<ToledoReading> {
  const changed = weightFilter(c.emit);
  const max = c.framing?.maxFrameBytes ?? 32;
  return {
    role: 'scale',
    profile: new ToledoProfile(c.checksum),
    // the format fixes the framing: STX ... CR, then the checksum byte when enabled
    framing: {
      type: 'stx-etx',
      start: STX,
      end: CR,
      trailerBytes: c.checksum ? 1 : 0,
      maxFrameBytes: max,
    },
    silenceTimeoutMs: c.silenceTimeoutMs,
    silenceReason: 'continuous output stopped',
    poller: null,
    testCommands: [],
    signals(r, deviceId, atMono) {
      return changed(r.status, r.kg)
        ? [{ type: 'weight', deviceId, atMono, kg: r.kg, status: r.status }]
        : [];
    },
  };
}

function ctAlarmDevice(c: SerialCtAlarmConfig): SerialDevice<CtAlarmReading> {
  let seq = 0;
  return {
    role: 'ct',
    profile: new CtAlarmProfile({
      pattern: c.pattern ?? CT_ALARM_DEFAULTS.pattern,
      verdicts: c.verdicts ?? CT_ALARM_DEFAULTS.verdicts,
      heartbeat: c.heartbeat?.text ?? null,
    }),
    framing: framingOf(c, CRLF_FRAMING),
    silenceTimeoutMs: c.heartbeat?.timeoutMs ?? null,
    silenceReason: 'heartbeat lost',
    poller: null,
    testCommands: [],
    signals(r, deviceId, atMono) {
      if (r.type === 'heartbeat') return [];
      seq++;
      return [
        {
          type: 'ctVerdict',
          deviceId,
          scannedAtMono: atMono - (r.ageMs > 0 ? r.ageMs : c.scanToLineMs),
          verdict: r.verdict,
          scanId: r.scanId ?? `${deviceId}-${seq}`,
          imageId: r.imageId,
        },
      ];
    },
  };
}

/** Build the device behaviour for a config; bad patterns are EDGE_SERIAL_CONFIG errors. */
export function serialDevice(c: SerialDriverConfig): SerialDevice<unknown> {
  try {
    switch (c.kind) {
      case 'serial-barcode':
        return barcodeDevice(c);
      case 'serial-mt-sics':
        return mtSicsDevice(c);
      case 'serial-toledo':
        return toledoDevice(c);
      case 'serial-ct-alarm':
        return ctAlarmDevice(c);
    }
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    throw new EdgeError('EDGE_SERIAL_CONFIG', `driver ${c.id}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
