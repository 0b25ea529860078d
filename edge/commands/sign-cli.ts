/**
 * Signing tool for platform commands (docs/security.md):
 *
 *   npm run -s command -- keygen --id KID --issuer ISS [--out DIR]
 *       writes DIR/KID.pem (the private key, mode 0600) and prints the `keys:` entry to pin in
 *       the gateway configuration (uplink.commands.signing.keys)
 *
 *   npm run -s command -- sign --key FILE.pem --kid KID --iss ISS --sub SITE/GATEWAY --cmd NAME
 *       [--role ROLE] [--ttl SECONDS] [--act PERSON] [--args JSON | --in FILE] [--id ID]
 *       prints the compact JWS to send as the MQTT payload of <root>/<site>/<gateway>/commands/NAME
 *       (--args builds {"schema":1,"id":...,"args":...}; --in signs a request file as is; neither:
 *       the request is read from stdin)
 *
 * Production: `node dist/edge/commands/sign-cli.js ...`. Example (the demo gateway of `npm start`,
 * signed with the DEMO key that is public in this repository):
 *
 *   npm run -s command -- sign --key config/examples/demo-command-key.pem --kid demo-platform-1 \
 *     --iss demo-platform --sub demo-site/gw-demo-01 --cmd ct-decision \
 *     --args '{"waybill":"RD223479072CN","verdict":"suspect","officerId":"officer-7"}' \
 *   | mosquitto_pub -h 127.0.0.1 -t customs/demo-site/gw-demo-01/commands/ct-decision -s -q 1
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCommandKey, signCommand } from './command-signer.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function keygen(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      issuer: { type: 'string' },
      out: { type: 'string', default: '.' },
    },
  });
  if (!values.id || !values.issuer) fail('keygen needs --id and --issuer');
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(values.id)) fail('--id: 1-64 characters [A-Za-z0-9._:-]');
  const { privatePem, publicKey } = generateCommandKey();
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, `${values.id}.pem`);
  writeFileSync(file, privatePem, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  process.stderr.write(
    `private key written to ${file} (keep it on the platform, never on a gateway)\n`,
  );
  process.stdout.write(
    [
      '# pin in the gateway configuration: uplink.commands.signing.keys',
      `- id: ${values.id}`,
      `  issuer: ${values.issuer}`,
      `  publicKey: ${publicKey}`,
      '  roles: [targeting, config, officer, maintenance, replay]',
      '',
    ].join('\n'),
  );
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sign(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      key: { type: 'string' },
      kid: { type: 'string' },
      iss: { type: 'string' },
      sub: { type: 'string' },
      cmd: { type: 'string' },
      role: { type: 'string' },
      ttl: { type: 'string', default: '60' },
      act: { type: 'string' },
      args: { type: 'string' },
      in: { type: 'string' },
      id: { type: 'string' },
    },
  });
  for (const k of ['key', 'kid', 'iss', 'sub', 'cmd'] as const)
    if (!values[k]) fail(`sign needs --${k}`);
  let request: object | Buffer;
  if (values.args !== undefined) {
    let args: unknown;
    try {
      args = JSON.parse(values.args);
    } catch (err) {
      fail(`--args is not JSON: ${(err as Error).message}`);
    }
    request = { schema: 1, id: values.id ?? randomUUID(), args };
  } else if (values.in !== undefined) {
    request = readFileSync(values.in);
  } else {
    request = await readStdin();
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1) fail('--ttl: whole seconds');
  process.stdout.write(
    signCommand(request, {
      privateKey: readFileSync(values.key!, 'utf8'),
      keyId: values.kid!,
      issuer: values.iss!,
      subject: values.sub!,
      command: values.cmd!,
      ttlS: ttl,
      ...(values.role ? { role: values.role } : {}),
      ...(values.act ? { actor: values.act } : {}),
    }) + '\n',
  );
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'keygen') keygen(rest);
else if (mode === 'sign') await sign(rest);
else
  fail(
    'usage: sign-cli keygen --id KID --issuer ISS [--out DIR] | sign --key FILE ... (see the file header)',
  );
