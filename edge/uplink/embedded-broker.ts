import { createServer, type Server } from 'node:net';
import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { EdgeError } from '../errors.js';

/**
 * The embedded MQTT broker for a self-contained demo or a site without a broker (aedes, MQTT
 * 3.1.1 only). Production sites point the uplink at the platform's broker instead; aedes is
 * then never loaded.
 */
export class EmbeddedBroker {
  private broker: Aedes | null = null;
  private server: Server | null = null;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly requestedPort: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // loaded only when enabled (a production gateway uses the platform's broker: no aedes load)
    const { Aedes: AedesBroker } = await import('aedes');
    const broker = await AedesBroker.createBroker();
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
    this.log.info({ host: this.host, port: this.port }, 'embedded MQTT broker listening');
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
