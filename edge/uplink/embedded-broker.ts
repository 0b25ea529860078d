import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { isLoopback } from '../../config/safety-bounds.js';
import { EdgeError } from '../errors.js';

/**
 * The embedded MQTT broker for a self-contained demo or a site without a broker (aedes, MQTT
 * 3.1.1 only). Production sites point the uplink at the platform's broker instead (TLS, client
 * certificate, ACLs: docs/security.md) and leave this off; aedes is then never loaded.
 *
 * On loopback it may run without a login (only this machine reaches it). Beyond loopback it
 * refuses to start without credentials, and then every client must log in with them. Retained
 * publishes to a commands topic are refused here too (the gateway refuses them anyway).
 */
export interface BrokerCredentials {
  username: string;
  password: string;
}

export class EmbeddedBroker {
  private broker: Aedes | null = null;
  private server: Server | null = null;
  port = 0;
  /** logins refused (bad or missing credentials) */
  refusedLogins = 0;

  constructor(
    private readonly host: string,
    private readonly requestedPort: number,
    private readonly log: Logger,
    private readonly credentials: BrokerCredentials | null = null,
  ) {}

  async start(): Promise<void> {
    if (!isLoopback(this.host) && !this.credentials) {
      throw new EdgeError(
        'EDGE_BROKER_LISTEN',
        `embedded MQTT broker on ${this.host} (beyond this machine) needs embeddedBroker.username and password`,
      );
    }
    const creds = this.credentials;
    // loaded only when enabled (a production gateway uses the platform's broker: no aedes load)
    const { Aedes: AedesBroker } = await import('aedes');
    const broker = await AedesBroker.createBroker({
      ...(creds
        ? {
            authenticate: (client, username, password, done) => {
              const ok =
                username !== undefined &&
                password !== undefined &&
                same(username, creds.username) &&
                same(password.toString('utf8'), creds.password);
              if (!ok) {
                this.refusedLogins++;
                this.log.warn({ clientId: client.id }, 'embedded broker: login refused');
              }
              done(null, ok);
            },
          }
        : {}),
      authorizePublish: (_client, packet, callback) => {
        if (packet.retain && packet.topic.split('/').includes('commands')) {
          callback(new Error('retained command messages are refused'));
          return;
        }
        callback(null);
      },
    });
    this.broker = broker;
    const server = createServer((socket) => broker.handle(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new EdgeError(
            'EDGE_BROKER_LISTEN',
            `embedded MQTT broker cannot listen on ${this.host}:${this.requestedPort}: ${err.message}`,
            { cause: err },
          ),
        ),
      );
      server.listen(this.requestedPort, this.host, () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : this.requestedPort;
    broker.on('clientError', (client, err) =>
      this.log.debug({ clientId: client.id, err: err.message }, 'client error'),
    );
    this.log.info(
      { host: this.host, port: this.port, login: creds !== null },
      'embedded MQTT broker listening',
    );
  }

  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = null;
    this.broker = null;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Constant-time comparison of two strings (hashed first, so lengths do not leak either). */
function same(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
