import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { openOutbox, tempDir, uplinkConfig } from './helpers.js';

/**
 * A command reply published into a connection that stalls (a frozen broker: socket open, no
 * PUBACK, no error) settles as a failure after publishTimeoutMs instead of hanging: the router
 * then keeps the reply unpublished and delivers it late.
 */

let broker: MosquittoProcess | null = null;
let outbox: Outbox | null = null;
let uplink: Uplink | null = null;
const dir = tempDir('reply-timeout-');

afterAll(async () => {
  broker?.thaw();
  await uplink?.stop();
  outbox?.close();
  await broker?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('reply publish', () => {
  it('fails with EDGE_UPLINK_TIMEOUT when no PUBACK comes', async () => {
    broker = await startMosquitto();
    outbox = openOutbox(dir);
    uplink = new Uplink({
      config: uplinkConfig({ url: broker.url, protocolVersion: 5, publishTimeoutMs: 500 }),
      gatewayId: 'gw-rt',
      site: 'site-t',
      version: '1.0.0',
      startedAt: '2026-01-01T00:00:00.000Z',
      outbox,
      clock: systemClock,
      log: silentLogger(),
    });
    uplink.start();
    await waitFor(() => uplink!.health().state === 'connected', { what: 'connected' });
    await uplink.publishReply('platform/replies/gw-rt', '{"id":"r-1","ok":true}');
    broker.freeze();
    await expect(
      uplink.publishReply('platform/replies/gw-rt', '{"id":"r-2","ok":true}'),
    ).rejects.toMatchObject({ code: 'EDGE_UPLINK_TIMEOUT' });
  }, 30_000);
});
