import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';

/** OPC UA security defaults and the combination that would put a password on the wire in clear. */
function example(): any {
  return parse(
    readFileSync(new URL('../../config/examples/opcua-line.yaml', import.meta.url), 'utf8'),
  );
}

describe('OPC UA security configuration', () => {
  it('is secure by default: a server without securityMode gets SignAndEncrypt', () => {
    const doc = example();
    delete doc.drivers[0].servers[0].securityMode;
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    expect((config.drivers[0] as any).servers[0].securityMode).toBe('SignAndEncrypt');
  });

  it('refuses a username identity over securityMode None, naming the field', () => {
    const doc = example();
    doc.drivers[0].servers[0].securityMode = 'None';
    doc.drivers[0].servers[0].userIdentity = {
      type: 'username',
      username: 'gw',
      password: 'secret-123',
    };
    const issues = new ConfigValidator(driverKindSchemas()).check(doc);
    expect(issues).toContainEqual({
      path: '/drivers/0/servers/0/userIdentity/type',
      message:
        'a username identity needs securityMode Sign or SignAndEncrypt (no password in clear)',
    });
    doc.drivers[0].servers[0].securityMode = 'SignAndEncrypt';
    expect(new ConfigValidator(driverKindSchemas()).check(doc)).toEqual([]);
  });
});
