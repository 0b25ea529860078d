import { runFleet } from '../fleet/fleet.js';
import { startMosquitto } from '../support/mosquitto.js';
import type { Bench } from './figures.js';

/**
 * The fleet (test/fleet/fleet.ts): N gateway uplinks (each its own SQLite outbox and client id,
 * the default reconnect backoff) and a consumer group of 4 on an MQTT 5 shared subscription, one
 * local Mosquitto restarted (SIGTERM, start) under a steady load.
 *   fleet_gateways            N (FLEET_GATEWAYS, default 200; --quick 50)
 *   fleet_reconnect_spread_s  10th-90th percentile of the gateways' reconnect times after the
 *                             restart (goal >= 10 s for 200 gateways with the default backoff)
 *   fleet_gaps                seqs missing at the consumer group after dedupe and the
 *                             platform's replay of the gaps it saw (goal 0); the gaps before the
 *                             replay are fleet_gaps_before_replay
 *   fleet_events_per_s        a burst from every gateway at once, counted at the consumer group
 * With FLEET_BROKER_URL and FLEET_RESTART_CMD it runs against an existing broker or cluster
 * instead (docs/platform.md).
 */
const bench: Bench = async ({ quick }) => {
  const gateways = Number(process.env.FLEET_GATEWAYS ?? (quick ? 50 : 200));
  const external = process.env.FLEET_BROKER_URL;
  const broker = external ? null : await startMosquitto();
  const url = external ?? broker!.url;
  try {
    const r = await runFleet({
      url,
      gateways,
      consumers: 4,
      burst: quick ? 100 : 250,
      steadyPerS: 2,
      restart: async () => {
        if (broker) {
          await broker.stop();
          await broker.start();
        } else {
          const { execSync } = await import('node:child_process');
          execSync(process.env.FLEET_RESTART_CMD ?? 'false', { stdio: 'inherit' });
        }
      },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const where = external ? 'external broker' : 'one local Mosquitto 2.0.11 (SIGTERM + start)';
    const conditions = `${r.gateways} gateways in one process, ${r.consumers} consumers ($share), ${where}`;
    return {
      fleet_gateways: { value: r.gateways, unit: 'gateways', note: conditions },
      fleet_reconnect_spread_s: {
        value: Math.round(r.reconnectSpreadS * 10) / 10,
        unit: 's',
        note: `10th-90th percentile of reconnect times after the broker restart, default backoff (first retry uniform over 15 s); broker down ${r.restartS.toFixed(1)} s; reconnects per second after the restart: [${r.reconnectCurve.join(', ')}]; ${conditions}`,
      },
      fleet_gaps: {
        value: r.gaps,
        unit: 'events',
        note: `seqs missing at the consumer group after dedupe by id and the platform's replay of what it saw missing, over ${r.eventsChecked} events (${r.duplicates} duplicates deduped, ${r.replays} replay commands); ${conditions}`,
      },
      fleet_gaps_before_replay: {
        value: r.gapsBeforeReplay,
        unit: 'events',
        note: `seqs missing once every outbox had drained, before any replay: events published while the consumer group had not yet subscribed again after the restart; ${conditions}`,
      },
      fleet_events_per_s: {
        value: Math.round(r.eventsPerS),
        unit: 'events/s',
        note: `${r.burstEvents} events appended at once across the fleet, counted at the consumer group; RSS ${r.rssMb} MB; ${conditions}`,
      },
    };
  } finally {
    await broker?.stop();
  }
};
export default bench;
