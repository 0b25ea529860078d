import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { UserDirectory } from '../../edge/http/auth.js';
import { httpsOptions } from '../../edge/http/https-options.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { buildHttpServer } from '../../edge/http/server.js';
import { isEdgeError } from '../../edge/errors.js';
import { silentLogger } from '../../edge/log.js';
import { EmbeddedBroker } from '../../edge/uplink/embedded-broker.js';
import { nextEvent, waitFor } from '../support/wait.js';
import { tempDir } from '../uplink/helpers.js';

/** The embedded broker's login rule, and HTTPS for the technician API from certificate files. */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('embedded broker', () => {
  it('refuses to listen beyond loopback without credentials', async () => {
    const broker = new EmbeddedBroker('0.0.0.0', 0, silentLogger());
    await expect(broker.start()).rejects.toThrow(/beyond this machine\) needs embeddedBroker/);
    await broker.stop();
  });

  it('with credentials, every client logs in; retained command messages are refused', async () => {
    const broker = new EmbeddedBroker('127.0.0.1', 0, silentLogger(), {
      username: 'site',
      password: 'site-broker-password',
    });
    await broker.start();
    try {
      await expect(
        connectAsync(broker.url, { clientId: 'anon', reconnectPeriod: 0 }),
      ).rejects.toThrow();
      await expect(
        connectAsync(broker.url, {
          clientId: 'wrong',
          username: 'site',
          password: 'guess',
          reconnectPeriod: 0,
        }),
      ).rejects.toThrow();
      expect(broker.refusedLogins).toBe(2);
      const login = { username: 'site', password: 'site-broker-password', reconnectPeriod: 0 };
      const writer = await connectAsync(broker.url, { clientId: 'writer', ...login });
      writer.on('error', () => undefined);
      await writer.publishAsync('customs/s/g/status', 'online', { qos: 1, retain: true });
      // refused by the broker, which closes the connection: never stored
      const closed = nextEvent(writer, 'close', 5000);
      writer.publish('customs/s/g/commands/ping', '{"schema":1,"id":"kept"}', {
        qos: 1,
        retain: true,
      });
      await closed;
      await writer.endAsync(true);
      const reader = await connectAsync(broker.url, { clientId: 'reader', ...login });
      const seen: string[] = [];
      reader.on('message', (topic) => seen.push(topic));
      await reader.subscribeAsync('customs/#', { qos: 1 });
      // retained messages arrive on subscribe: the status is there, the command is not
      await waitFor(() => seen.includes('customs/s/g/status'), { what: 'retained status' });
      expect(seen).toEqual(['customs/s/g/status']);
      await reader.endAsync();
    } finally {
      await broker.stop();
    }
  });
});

describe('HTTPS from http.tls', () => {
  it('serves the API over TLS from certificate and key files', async () => {
    const dir = tempDir('https-');
    dirs.push(dir);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'http.key',
        '-out',
        'http.pem',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const app = await buildHttpServer({
      https: httpsOptions({ cert: join(dir, 'http.pem'), key: join(dir, 'http.key') }),
      log: silentLogger(),
      users: new UserDirectory([]),
      health: () => ({ status: 'ok', version: 't', gatewayId: 'g', uptimeS: 1, drivers: [] }),
      board: new ParcelBoard(),
      runningConfig: () => ({}),
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address() as { port: number };
      const body = await new Promise<string>((resolve, reject) => {
        get(
          {
            host: '127.0.0.1',
            port: address.port,
            path: '/api/health',
            ca: readFileSync(join(dir, 'http.pem')),
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          },
        ).on('error', reject);
      });
      expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
    } finally {
      await app.close();
    }
  });

  it('a missing certificate file is named by setting and path, nothing else', () => {
    try {
      httpsOptions({ cert: '/nope/http.pem', key: '/nope/http.key' });
      expect.unreachable();
    } catch (err) {
      expect(isEdgeError(err, 'EDGE_HTTP_TLS')).toBe(true);
      expect((err as Error).message).toBe('cannot read http.tls.cert /nope/http.pem (ENOENT)');
    }
  });
});
