/**
 * OPC UA simulator, its own process: a CT scanner (scan-complete events and variables, life
 * bit), a sorter PLC (belt speed, photo-eye, life bit, decision hand-off), and an AutoID
 * barcode reader (OpticalScanEventType). Run: `npm run sim:opcua -- --port 4840 --auto`.
 *
 * Control (tests, bench): JSON lines on stdin, answers as JSON lines on stdout. The first line
 * out is {"event":"ready","endpoint":...,"thumbprint":...}. Commands: verdict, verdicts (bursts),
 * lifeBit, photoEye, beltSpeed, barcode, mvResult, auto, dropSessions, exit. See `handle()` below.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  DataType,
  MessageSecurityMode,
  nodesets,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
} from 'node-opcua';
import { makeSHA1Thumbprint, readCertificate } from 'node-opcua-crypto';
import { buildAddressSpace, type SimNodes } from './sim-address-space.js';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '4840' },
    pki: { type: 'string', default: './data/opcua-sim/pki' },
    auto: { type: 'boolean', default: false },
    'parcels-per-minute': { type: 'string', default: '60' },
    'suspect-rate': { type: 'string', default: '0.05' },
    'unknown-rate': { type: 'string', default: '0.01' },
    'verdict-delay-ms': { type: 'string', default: '300-3500' },
    'life-bit-ms': { type: 'string', default: '1000' },
    'belt-mm-s': { type: 'string', default: '1000' },
    'scanner-mm': { type: 'string', default: '800' },
    'ct-mm': { type: 'string', default: '2000' },
    'parcel-mm': { type: 'string', default: '400' },
    user: { type: 'string', multiple: true, default: [] },
    // X.509 user identities this server accepts (PEM/DER files); any other user certificate is refused
    'user-cert': { type: 'string', multiple: true, default: [] },
    'no-anonymous': { type: 'boolean', default: false },
    // refuse gateways whose certificate is not in this server's trusted list (like most PLCs)
    'strict-clients': { type: 'boolean', default: false },
    // node-opcua's default (100) folds value changes inside a 100 ms window; 0 = every change,
    // like a PLC pushing each photo-eye edge
    'min-sample-rate-ms': { type: 'string', default: '0' },
  },
});

const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');
const str = (v: unknown, fallback: string): string =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
const num = (name: keyof typeof args) => Number(args[name]);

const users = new Map(
  (args.user ?? []).map((u) => {
    const i = u.indexOf(':');
    return [u.slice(0, i), u.slice(i + 1)] as const;
  }),
);

async function main(): Promise<void> {
  const certificateManager = new OPCUACertificateManager({
    rootFolder: args.pki,
    // the simulator accepts any gateway unless --strict-clients: it is the gateway that must not
    // trust blindly
    automaticallyAcceptUnknownCertificate: !args['strict-clients'],
    disableFileWatchers: true,
  });
  await certificateManager.initialize();
  const userCertificateManager = new OPCUACertificateManager({
    rootFolder: join(args.pki, 'users'),
    automaticallyAcceptUnknownCertificate: false,
    disableFileWatchers: true,
  });
  await userCertificateManager.initialize();
  for (const file of args['user-cert'] ?? []) {
    await userCertificateManager.trustCertificate(readCertificate(file));
  }
  const server = new OPCUAServer({
    port: Number(args.port),
    hostname: '127.0.0.1',
    serverCertificateManager: certificateManager,
    userCertificateManager,
    nodeset_filename: [nodesets.standard, nodesets.di, nodesets.autoId, nodesets.machineVision],
    serverInfo: {
      applicationUri: 'urn:customs-edge:ct-plc-sim:server',
      productUri: 'customs-edge-sim',
    },
    buildInfo: { productName: 'customs-edge CT/PLC simulator' },
    securityPolicies: [
      SecurityPolicy.None,
      SecurityPolicy.Basic256Sha256,
      SecurityPolicy.Aes128_Sha256_RsaOaep,
      SecurityPolicy.Aes256_Sha256_RsaPss,
    ],
    securityModes: [
      MessageSecurityMode.None,
      MessageSecurityMode.Sign,
      MessageSecurityMode.SignAndEncrypt,
    ],
    allowAnonymous: !args['no-anonymous'],
    serverCapabilities: { minSupportedSampleRate: Number(args['min-sample-rate-ms']) },
    userManager: {
      isValidUser: (userName: string, password: string) => users.get(userName) === password,
    },
  });
  await server.initialize();
  const nodes = buildAddressSpace(server, {
    onDecision: (trackingId, lane, via) => out({ event: 'decision', trackingId, lane, via }),
  });
  await server.start();
  // a session the server ends (timeout, dropSessions, the client closing it)
  server.on('session_closed', (session, deleteSubscriptions) =>
    out({ event: 'sessionClosed', sessionId: session.nodeId.toString(), deleteSubscriptions }),
  );

  const state = { lifeBitRunning: true, lifeBit: false, auto: args.auto, seq: 0 };
  const lifeTimer = setInterval(() => {
    if (!state.lifeBitRunning) return;
    state.lifeBit = !state.lifeBit;
    nodes.setValue(nodes.ctLifeBit, DataType.Boolean, state.lifeBit);
    nodes.setValue(nodes.plcLifeBit, DataType.Boolean, state.lifeBit);
  }, num('life-bit-ms'));

  const [dMin, dMax] = args['verdict-delay-ms'].split('-').map(Number) as [number, number];
  let autoTimer: NodeJS.Timeout | null = null;
  const scheduleAuto = () => {
    if (!state.auto) return;
    const gap = (60_000 / num('parcels-per-minute')) * (0.8 + Math.random() * 0.4);
    autoTimer = setTimeout(() => {
      autoParcel(nodes, state, dMin ?? 300, dMax ?? dMin ?? 3500);
      scheduleAuto();
    }, gap);
  };
  scheduleAuto();

  const endpoint = `opc.tcp://127.0.0.1:${args.port}`;
  const cert = server.getCertificate();
  out({
    event: 'ready',
    endpoint,
    thumbprint: makeSHA1Thumbprint(cert).toString('hex'),
    pid: process.pid,
  });

  const stop = async () => {
    clearInterval(lifeTimer);
    if (autoTimer) clearTimeout(autoTimer);
    await server.shutdown(0);
    await certificateManager.dispose();
    await userCertificateManager.dispose();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd: Record<string, unknown>;
    try {
      cmd = JSON.parse(line) as Record<string, unknown>;
    } catch {
      out({ event: 'error', message: `not JSON: ${line}` });
      return;
    }
    try {
      if (cmd.cmd === 'dropSessions') {
        out({ event: 'dropSessions', ...dropSessions(server, cmd.deleteSubscriptions === true) });
        return;
      }
      handle(
        cmd,
        nodes,
        state,
        () => void stop(),
        (t) => (autoTimer = t),
        scheduleAuto,
      );
    } catch (err) {
      out({ event: 'error', cmd: cmd.cmd, message: (err as Error).message });
    }
  });
}

/**
 * End every session as the server does when a session times out ("Timeout": subscriptions are
 * kept as orphans a new session may transfer) or, with deleteSubscriptions, as an operator who
 * terminates them ("Terminated": subscriptions deleted, the client must re-create them).
 */
function dropSessions(server: OPCUAServer, deleteSubscriptions: boolean) {
  const engine = server.engine as unknown as {
    getSessions(): { authenticationToken: unknown; nodeId: { toString(): string } }[];
    closeSession(token: unknown, deleteSubscriptions: boolean, reason: string): void;
  };
  const sessions = engine.getSessions();
  for (const session of sessions) {
    engine.closeSession(
      session.authenticationToken,
      deleteSubscriptions,
      deleteSubscriptions ? 'Terminated' : 'Timeout',
    );
  }
  return { closed: sessions.map((s) => s.nodeId.toString()), deleteSubscriptions };
}

interface SimState {
  lifeBitRunning: boolean;
  lifeBit: boolean;
  auto: boolean;
  seq: number;
}

function verdictEvent(
  nodes: SimNodes,
  v: {
    trackingId: string;
    verdict: string;
    imageId: string;
    waybill?: string;
    scannedAgoMs?: number;
  },
): number {
  const at = monoMs();
  nodes.raiseVerdict({
    trackingId: v.trackingId,
    waybill: v.waybill ?? '',
    verdict: v.verdict,
    imageId: v.imageId,
    confidence: v.verdict === 'ALARM' ? 0.91 : 0.98,
    operator: v.verdict === 'ALARM' ? 'officer-07' : '',
    scannedAt: new Date(Date.now() - (v.scannedAgoMs ?? 0)),
  });
  return at;
}

function handle(
  cmd: Record<string, unknown>,
  nodes: SimNodes,
  state: SimState,
  stop: () => void,
  setAutoTimer: (t: NodeJS.Timeout | null) => void,
  scheduleAuto: () => void,
): void {
  switch (cmd.cmd) {
    case 'verdict': {
      const emitMono = verdictEvent(nodes, {
        trackingId: str(cmd.trackingId, ''),
        verdict: str(cmd.verdict, 'NO_ALARM'),
        imageId: str(cmd.imageId, `IMG-${str(cmd.trackingId, '')}`),
        waybill: str(cmd.waybill, ''),
        scannedAgoMs: Number(cmd.scannedAgoMs ?? 0),
      });
      out({ event: 'verdict', trackingId: cmd.trackingId, emitMono });
      return;
    }
    case 'verdicts': {
      // bursts of verdicts, all in one tick per burst, gapMs between bursts
      const count = Number(cmd.count ?? 1000);
      const burst = Number(cmd.burst ?? 100);
      const gapMs = Number(cmd.gapMs ?? 100);
      const prefix = str(cmd.prefix, 'B');
      const emitted: number[] = [];
      let n = 0;
      const next = () => {
        for (let i = 0; i < burst && n < count; i++, n++) {
          emitted.push(
            verdictEvent(nodes, {
              trackingId: `${prefix}-${n}`,
              verdict: n % 7 === 0 ? 'ALARM' : 'NO_ALARM',
              imageId: `IMG-${n}`,
            }),
          );
        }
        if (n < count) setTimeout(next, gapMs);
        else out({ event: 'verdicts', prefix, count, emitMono: emitted });
      };
      next();
      return;
    }
    case 'lifeBit':
      state.lifeBitRunning = Boolean(cmd.running);
      out({ event: 'ok', cmd: 'lifeBit', running: state.lifeBitRunning });
      return;
    case 'photoEye':
      nodes.setValue(nodes.photoEye, DataType.Boolean, Boolean(cmd.value));
      out({ event: 'ok', cmd: 'photoEye' });
      return;
    case 'photoEyeBurst': {
      // many edges inside one publishing interval (queue / overflow tests)
      const n = Number(cmd.count ?? 10);
      for (let i = 0; i < n; i++) nodes.setValue(nodes.photoEye, DataType.Boolean, i % 2 === 0);
      nodes.setValue(nodes.photoEye, DataType.Boolean, false);
      out({ event: 'ok', cmd: 'photoEyeBurst' });
      return;
    }
    case 'beltSpeed':
      nodes.setValue(nodes.beltSpeed, DataType.Double, Number(cmd.value));
      out({ event: 'ok', cmd: 'beltSpeed' });
      return;
    case 'barcode':
      nodes.raiseScan(cmd.code === null ? null : str(cmd.code, ''));
      out({ event: 'ok', cmd: 'barcode' });
      return;
    case 'mvResult':
      nodes.raiseResultReady({
        partId: str(cmd.partId, ''),
        resultId: str(cmd.resultId, `R-${str(cmd.partId, '')}`),
        resultState: Number(cmd.resultState ?? 1),
      });
      out({ event: 'ok', cmd: 'mvResult' });
      return;
    case 'auto':
      state.auto = Boolean(cmd.running);
      setAutoTimer(null);
      scheduleAuto();
      out({ event: 'ok', cmd: 'auto', running: state.auto });
      return;
    case 'exit':
      stop();
      return;
    default:
      out({ event: 'error', message: `unknown command ${String(cmd.cmd)}` });
  }
}

/** One parcel of the automatic flow: photo-eye pulse, barcode, CT verdict after a delay. */
function autoParcel(nodes: SimNodes, state: SimState, dMin: number, dMax: number): void {
  const speed = num('belt-mm-s');
  const n = ++state.seq;
  const serial = String(10_000_000 + (n % 90_000_000)).slice(-8);
  const weights = [8, 6, 4, 2, 3, 5, 9, 7];
  const sum = [...serial].reduce((a, d, i) => a + Number(d) * (weights[i] ?? 0), 0);
  const c = 11 - (sum % 11);
  const waybill = `RD${serial}${c === 10 ? 0 : c === 11 ? 5 : c}CN`;
  nodes.setValue(nodes.photoEye, DataType.Boolean, true);
  setTimeout(
    () => nodes.setValue(nodes.photoEye, DataType.Boolean, false),
    (num('parcel-mm') / speed) * 1000,
  );
  setTimeout(() => nodes.raiseScan(waybill), (num('scanner-mm') / speed) * 1000);
  const ctAfter = (num('ct-mm') / speed) * 1000;
  const delay = dMin + Math.random() * (dMax - dMin);
  const r = Math.random();
  const verdict =
    r < num('suspect-rate')
      ? 'ALARM'
      : r < num('suspect-rate') + num('unknown-rate')
        ? 'UNKNOWN'
        : 'NO_ALARM';
  setTimeout(
    () =>
      verdictEvent(nodes, {
        trackingId: waybill,
        waybill,
        verdict,
        imageId: `IMG-${n}`,
        scannedAgoMs: delay,
      }),
    ctAfter + delay,
  );
}

main().catch((err: unknown) => {
  out({ event: 'fatal', message: (err as Error).message });
  process.exit(1);
});
