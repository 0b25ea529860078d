import type { IPublishPacket } from 'mqtt';
import type { Logger } from 'pino';

/** Messages arriving on commands/+ and their hand-over to the registered handler. */

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  responseTopic?: string;
  correlationData?: Buffer;
  /** delivered as a retained message (stored on the broker): commands refuse it */
  retain?: boolean;
}

export type InboundHandler = (m: InboundMessage) => void;

/** Give one received message to the handler; a handler that throws is logged, never fatal. */
export function dispatchInbound(
  handler: InboundHandler,
  topic: string,
  payload: Buffer,
  packet: IPublishPacket,
  log: Logger,
): void {
  const props = packet.properties;
  const message: InboundMessage = { topic, payload };
  if (props?.responseTopic) message.responseTopic = props.responseTopic;
  if (props?.correlationData) message.correlationData = props.correlationData;
  if (packet.retain) message.retain = true;
  try {
    handler(message);
  } catch (err) {
    log.error({ err, topic }, 'message handler threw');
  }
}
