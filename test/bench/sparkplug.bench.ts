import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connectAsync } from 'mqtt';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import type { HealthLike } from '../../edge/uplink/device-availability.js';
import { DataType, encodePayload } from '../../edge/uplink/sparkplug/codec.js';
import { SparkplugUplink } from '../../edge/uplink/sparkplug/sparkplug-uplink.js';
import { startMosquitto } from '../support/mosquitto.js';
import { openOutbox, tempDir, uplinkConfig } from '../uplink/helpers.js';
import { percentile, type Bench } from './figures.js';

/**
 * sparkplug_rebirth_ms: a host application sends NCMD `Node Control/Rebirth`; the time until it
 * has received the whole birth sequence (NBIRTH + one DBIRTH per device, 12 devices), through a
 * local Mosquitto (MQTT 5, set_tcp_nodelay true; SP_NODELAY=0 without). Median of 50 (--quick
 * 15) rebirths, one at a time.
 */
const DEVICES = 12;

const bench: Bench = async ({ quick }) => {
  const rounds = quick ? 15 : 50;
  // Mosquitto's set_tcp_nodelay (default false) is what a Sparkplug broker should run with: a
  // birth is a burst of small QoS 0 messages; without it the median was ~48-51 ms here
  const nodelay = process.env.SP_NODELAY !== '0';
  const broker = await startMosquitto(nodelay ? { extraConfig: ['set_tcp_nodelay true'] } : {});
  const dir = tempDir('sparkplug-bench-');
  const outbox = openOutbox(dir);
  const devices: HealthLike[] = Array.from({ length: DEVICES }, (_, i) => ({
    id: `dev-${i}`,
    kind: 'sim',
    state: 'running',
  }));
  const node = new SparkplugUplink({
    config: uplinkConfig({ url: broker.url, protocolVersion: 5, mode: 'sparkplug' }),
    gatewayId: 'gw-bench',
    site: 'bench',
    version: 'bench',
    startedAt: new Date().toISOString(),
    outbox,
    clock: systemClock,
    log: silentLogger(),
    devices: () => devices,
  });
  const host = await connectAsync(broker.url, { clientId: 'bench-host', protocolVersion: 5 });
  (host.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  let births = 0;
  let dbirths = 0;
  let done: (() => void) | null = null;
  host.on('message', (topic) => {
    if (topic.includes('/NBIRTH/')) {
      births++;
      dbirths = 0;
    } else if (topic.includes('/DBIRTH/') && ++dbirths === DEVICES) done?.();
  });
  await host.subscribeAsync('spBv1.0/bench/#', { qos: 0 });
  const samples: number[] = [];
  try {
    const first = new Promise<void>((resolve) => (done = resolve));
    node.start();
    await first;
    const rebirth = encodePayload({
      timestamp: Date.now(),
      metrics: [{ name: 'Node Control/Rebirth', datatype: DataType.Boolean, booleanValue: true }],
    });
    for (let i = 0; i < rounds; i++) {
      const complete = new Promise<void>((resolve) => (done = resolve));
      const t0 = performance.now();
      await host.publishAsync('spBv1.0/bench/NCMD/gw-bench', rebirth, { qos: 0 });
      await complete;
      samples.push(performance.now() - t0);
    }
  } finally {
    await node.stop();
    await host.endAsync();
    outbox.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    sparkplug_rebirth_ms: {
      value: round(percentile(samples, 0.5)),
      unit: 'ms',
      note: `NCMD Node Control/Rebirth -> NBIRTH + ${DEVICES} DBIRTHs at the host, median of ${samples.length} (p90 ${round(percentile(samples, 0.9))} ms, max ${round(samples.at(-1) ?? NaN)} ms, ${births} births seen); local Mosquitto 2.0.11${nodelay ? ' with set_tcp_nodelay true' : ''}, MQTT 5`,
    },
  };
};
export default bench;
