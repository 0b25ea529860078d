import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketLimit, publishPacketBytes, tooLargeReply } from '../../edge/uplink/packet-size.js';

/** The size estimate equals what mqtt-packet (mqtt.js's encoder) writes, around each varint step. */

function encoded(
  topic: string,
  payload: Buffer,
  qos: 0 | 1,
  protocolVersion: 4 | 5,
  correlationData?: Buffer,
): number {
  const packet = {
    cmd: 'publish' as const,
    topic,
    payload,
    qos,
    dup: false,
    retain: false,
    ...(qos > 0 ? { messageId: 42 } : {}),
    ...(protocolVersion === 5 && correlationData ? { properties: { correlationData } } : {}),
  };
  return mqttPacket.generate(packet, { protocolVersion }).length;
}

describe('publishPacketBytes', () => {
  const sizes = [0, 1, 100, 127 - 20, 16_384 - 40, 16_384, 2_097_152 - 30, 2_097_152, 1_048_576];
  it.each([4, 5] as const)('matches mqtt-packet for MQTT %s (QoS 0/1, UTF-8 topic)', (v) => {
    for (const n of sizes) {
      for (const qos of [0, 1] as const) {
        for (const topic of [
          'customs/site/gw/events/parcel.decided',
          'customs/sité/gw/telemetry',
        ]) {
          const payload = Buffer.alloc(n, 'x');
          expect(
            publishPacketBytes({ topic, payloadBytes: n, qos, protocolVersion: v }),
            `${n} ${qos} ${topic}`,
          ).toBe(encoded(topic, payload, qos, v));
        }
      }
    }
  });

  it('counts MQTT 5 correlation data', () => {
    const cd = Buffer.from('0123456789abcdef');
    const topic = 'platform/replies/abc';
    for (const n of [10, 16_000, 70_000]) {
      expect(
        publishPacketBytes({
          topic,
          payloadBytes: n,
          qos: 1,
          protocolVersion: 5,
          correlationDataBytes: cd.length,
        }),
      ).toBe(encoded(topic, Buffer.alloc(n), 1, 5, cd));
    }
  });
});

describe('PacketLimit', () => {
  it('is the smaller of config and CONNACK; none without either', () => {
    const none = new PacketLimit(undefined);
    expect(none.bytes).toBeNull();
    none.setBroker(65_536);
    expect(none.bytes).toBe(65_536);
    none.setBroker(undefined); // a later CONNACK without the property
    expect(none.bytes).toBeNull();
    const configured = new PacketLimit(131_072);
    expect(configured.bytes).toBe(131_072);
    configured.setBroker(65_536);
    expect(configured.bytes).toBe(65_536);
    configured.setBroker(1_000_000);
    expect(configured.bytes).toBe(131_072);
  });
});

describe('tooLargeReply', () => {
  it('keeps the request id and command, and says why', () => {
    const original = JSON.stringify({ schema: 1, id: 'c-1', command: 'config-get', ok: true });
    const reply = JSON.parse(tooLargeReply(original, 900_000, 65_536, 'x', '2026-01-01T00:00:00Z'));
    expect(reply).toMatchObject({
      schema: 1,
      id: 'c-1',
      command: 'config-get',
      ok: false,
      error: { code: 'EDGE_UPLINK_TOO_LARGE', details: { bytes: 900_000, limit: 65_536 } },
    });
    const unreadable = JSON.parse(tooLargeReply('{nope', 5, 1, 'ping', '2026-01-01T00:00:00Z'));
    expect(unreadable).toMatchObject({ id: null, command: 'ping', ok: false });
  });
});
