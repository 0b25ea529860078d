/**
 * OPC UA simulator, its own process: a CT scanner (scan-complete events and variables, review
 * results by waybill without a scan time, life bit), a line PLC (belt speed, photo-eye, life bit,
 * decision hand-off by lane name), a sorter PLC with integer destinations, its own tracking ids
 * at induction and a default destination for parcels without one (sorter-sim.ts), and an AutoID
 * barcode reader (OpticalScanEventType). Run: `npm run sim:opcua -- --port 4840 --auto`.
 *
 * Control (tests, bench): JSON lines on stdin, answers as JSON lines on stdout. The first line
 * out is {"event":"ready","endpoint":...,"thumbprint":...}. Commands: verdict, verdicts (bursts),
 * lifeBit, photoEye, beltSpeed, barcode, mvResult, auto, run (scripted parcels through the
 * sorter line, line-flow.ts), plcAck, sorterStats, dropSessions, exit. See `handle()` below.
 * The sorter reports each parcel it sorts: {"event":"sorted","kind":...,"destination":...}.
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
import { LineFlow, PARCEL_KINDS, type ParcelKind } from './line-flow.js';
import { buildAddressSpace, type SimNodes } from './sim-address-space.js';
import { SorterSim } from './sorter-sim.js';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '4840' },
    pki: { type: 'string', default: './data/opcua-sim/pki' },
    auto: { type: 'boolean', default: false },
    'parcels-per-minute': { type: 'string', default: '30' },
    'suspect-rate': { type: 'string', default: '0.05' },
    'unknown-rate': { type: 'string', default: '0.01' },
    'noread-rate': { type: 'string', default: '0.02' },
    // scan shape: the verdict delay after the scan (ms range)
    'verdict-delay-ms': { type: 'string', default: '300-3500' },
    'life-bit-ms': { type: 'string', default: '1000' },
    // the line (defaults: config/examples/opcua-line.yaml)
    'belt-mm-s': { type: 'string', default: '500' },
    'scanner-mm': { type: 'string', default: '800' },
    'ct-mm': { type: 'string', default: '2000' },
    'parcel-mm': { type: 'string', default: '400' },
    'decision-mm': { type: 'string', default: '8000' },
    // review: CT review results by waybill without a scan time; scan: scan-complete with ScannedAt
    'ct-shape': { type: 'string', default: 'review' },
    'review-delay-ms': { type: 'string', default: '1500' },
    // the sorter PLC: its destination codes and where a parcel without one goes (3: pass!)
    destinations: { type: 'string', default: '1,2,3' },
    'default-destination': { type: 'string', default: '3' },
    'plc-ack-delay-ms': { type: 'string', default: '0' },
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
  const sorter = new SorterSim(nodes.namespace, nodes.ct, nodes.objects, {
    defaultDestination: num('default-destination'),
    destinations: new Set(args.destinations.split(',').map(Number)),
    ackDelayMs: num('plc-ack-delay-ms'),
    monoMs,
    onSorted: (p) => out({ event: 'sorted', ...p }),
    onRequest: (r) => {
      if (r.result !== 0) out({ event: 'refused', ...r });
    },
  });
  const [dMin, dMax] = args['verdict-delay-ms'].split('-').map(Number) as [number, number];
  const flow = new LineFlow(nodes, sorter, {
    geometry: {
      beltMmS: num('belt-mm-s'),
      scannerMm: num('scanner-mm'),
      ctMm: num('ct-mm'),
      parcelMm: num('parcel-mm'),
      decisionMm: num('decision-mm'),
    },
    reviewDelayMs: num('review-delay-ms'),
    ctShape: args['ct-shape'] === 'scan' ? 'scan' : 'review',
    scanDelayMs: [dMin ?? 300, dMax ?? dMin ?? 3500],
    out,
  });
  nodes.setValue(nodes.beltSpeed, DataType.Double, num('belt-mm-s') / 1000);
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

  let autoTimer: NodeJS.Timeout | null = null;
  const scheduleAuto = () => {
    if (!state.auto) return;
    const gap = (60_000 / num('parcels-per-minute')) * (0.8 + Math.random() * 0.4);
    autoTimer = setTimeout(() => {
      flow.parcel(autoKind());
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
    flow.stop();
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
      if (sorterCommand(cmd, flow, sorter)) return;
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

/** A parcel of the automatic flow: mostly clear, the configured rates of the others. */
function autoKind(): ParcelKind {
  const r = Math.random();
  const suspect = num('suspect-rate');
  const unknown = num('unknown-rate');
  const noread = num('noread-rate');
  if (r < suspect) return 'suspect';
  if (r < suspect + unknown) return 'unknown';
  if (r < suspect + unknown + noread) return 'unread';
  return 'clear';
}

/**
 * run {kinds, gapMs, beltMmS?}, plcAck {running}, sorterStats, induct {waybill}, sort {trackingId}: the
 * sorter line (line-flow.ts, sorter-sim.ts).
 */
function sorterCommand(cmd: Record<string, unknown>, flow: LineFlow, sorter: SorterSim): boolean {
  switch (cmd.cmd) {
    case 'run': {
      const kinds = (Array.isArray(cmd.kinds) ? cmd.kinds : []).map(String);
      const bad = kinds.filter((k) => !(PARCEL_KINDS as readonly string[]).includes(k));
      if (bad.length > 0) throw new Error(`unknown parcel kinds: ${bad.join(', ')}`);
      if (cmd.beltMmS !== undefined) flow.setSpeed(Number(cmd.beltMmS));
      flow.run(kinds as ParcelKind[], Number(cmd.gapMs ?? 2000));
      out({ event: 'ok', cmd: 'run', parcels: kinds.length });
      return true;
    }
    case 'plcAck':
      sorter.setAcking(cmd.running !== false);
      out({ event: 'ok', cmd: 'plcAck', running: cmd.running !== false });
      return true;
    case 'sorterStats':
      out({ event: 'sorterStats', ...sorter.totals });
      return true;
    case 'induct': {
      // a parcel at the induction alone (hand-off tests): the PLC's tracking id is the answer
      const trackingId = sorter.induct(str(cmd.waybill, ''), str(cmd.kind, 'clear'));
      out({ event: 'induct', trackingId });
      return true;
    }
    case 'sort':
      out({ event: 'sort', sorted: sorter.sort(Number(cmd.trackingId)) });
      return true;
    default:
      return false;
  }
}

main().catch((err: unknown) => {
  out({ event: 'fatal', message: (err as Error).message });
  process.exit(1);
});
