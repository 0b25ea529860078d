import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { withoutSecrets, withoutUrlPassword } from '../../config/secrets.js';
import { REDACT_PATHS } from '../../edge/log.js';

describe('withoutSecrets (GET /api/config, config-get)', () => {
  it('replaces the password of any URL-valued string, keeps the rest', () => {
    const shown = withoutSecrets({
      uplink: { url: 'mqtts://gw:p%40ss-123@broker.example:8883', username: 'gw' },
      drivers: [{ id: 'ct', endpoint: 'opc.tcp://op:opc-secret-9@10.0.0.5:4840/UA' }],
      gateway: { site: 'site-a' },
    });
    const text = JSON.stringify(shown);
    expect(text).not.toContain('p%40ss-123');
    expect(text).not.toContain('opc-secret-9');
    expect(shown).toEqual({
      uplink: { url: 'mqtts://gw:redacted@broker.example:8883', username: 'gw' },
      drivers: [{ id: 'ct', endpoint: 'opc.tcp://op:redacted@10.0.0.5:4840/UA' }],
      gateway: { site: 'site-a' },
    });
  });

  it('leaves URLs without a password and strings that are no URL untouched', () => {
    for (const s of [
      'mqtt://broker:1883',
      'mqtts://gw@broker:8883',
      'embedded',
      'ops@example.org',
      'a:b@c d',
    ]) {
      expect(withoutUrlPassword(s)).toBe(s);
    }
  });

  it('hides secret keys at any depth, including key and passphrase', () => {
    expect(
      withoutSecrets({ a: { b: { tls: { key: 'k.pem', passphrase: 'pp', ca: 'ca.pem' } } } }),
    ).toEqual({ a: { b: { tls: { key: '[redacted]', passphrase: '[redacted]', ca: 'ca.pem' } } } });
  });
});

describe('log redaction paths', () => {
  function logged(obj: Record<string, unknown>): string {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    log.info(obj, 'x');
    return lines.join('');
  }

  it('redacts passphrase, privateKey and deeply nested passwords/tokens/secrets', () => {
    const line = logged({
      config: {
        uplink: { password: 'pw-1', tls: { passphrase: 'pp-2', privateKey: 'pk-3' } },
        drivers: { ct: { opcua: { userIdentity: { password: 'pw-4' } } } },
        http: { users: { admin: { token: 'tk-5', secret: 'sc-6' } } },
      },
    });
    for (const s of ['pw-1', 'pp-2', 'pk-3', 'pw-4', 'tk-5', 'sc-6']) expect(line).not.toContain(s);
    expect(line).toContain('[redacted]');
  });
});
