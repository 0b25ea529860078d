import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseCommandArgs } from './args.js';
import { defaultConfigFile, readConfigDocument, writeConfigText } from './config-file.js';
import { CliError, type CliIo } from './io.js';
import { clientCertificateProblems } from './pki.js';

/**
 * `customs-edge cert install SIGNED.pem [--ca CA.pem]`: the MQTT client certificate the
 * platform's CA signed from this gateway's CSR (init). Refused unless it matches the key made
 * by init, is valid now and (with a CA, given here or already configured) verifies against it
 * for client authentication. Then copied next to the key and `uplink.tls` pointed at the three
 * files. Certificates are never trusted implicitly: the CA file is the one the operator names.
 */

export const CERT_USAGE =
  'customs-edge cert install SIGNED.pem [--ca CA.pem] [--config FILE] [--force]';

export function runCertInstall(argv: string[], io: CliIo): Promise<number> {
  return Promise.resolve(certInstall(argv, io));
}

function certInstall(argv: string[], io: CliIo): number {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      config: { type: 'string' },
      ca: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    CERT_USAGE,
  );
  const signed = positionals[0];
  if (!signed) throw new CliError(`usage: ${CERT_USAGE}`);
  if (!existsSync(signed)) throw new CliError(`${signed}: no such file`);
  const file = values.config ?? defaultConfigFile(io.env);
  const doc = readConfigDocument(file);
  const mqttDir = join(dirname(resolve(file)), 'pki/mqtt');
  const keyFile = join(mqttDir, 'client.key');
  if (!existsSync(keyFile))
    throw new CliError(`${keyFile} missing: run customs-edge init (it makes the key and the CSR)`);
  const configuredCa = doc.getIn(['uplink', 'tls', 'ca']);
  const caFile = values.ca ?? (typeof configuredCa === 'string' ? configuredCa : undefined);
  const id = doc.getIn(['gateway', 'id']);
  const gatewayId = typeof id === 'string' ? id : '';
  const now = io.now();
  const { problems, warnings, info } = clientCertificateProblems({
    certFile: signed,
    keyFile,
    ...(caFile ? { caFile } : {}),
    gatewayId,
    now,
  });
  for (const w of warnings) io.err(`warning: ${w}`);
  if (problems.length > 0)
    throw new CliError(`${signed} refused:\n${problems.map((p) => `  ${p}`).join('\n')}`, 1);
  if (!caFile && !values.force)
    throw new CliError(
      'no CA to verify it against: pass --ca CA.pem (the CA that signs the broker and this certificate), or --force to install it unverified',
    );

  const certFile = join(mqttDir, 'client.crt');
  copyFileSync(signed, certFile);
  chmodSync(certFile, 0o644);
  let caTarget: string | undefined;
  if (values.ca) {
    caTarget = join(mqttDir, 'ca.crt');
    if (resolve(values.ca) !== caTarget) copyFileSync(values.ca, caTarget);
    chmodSync(caTarget, 0o644);
  }
  doc.setIn(['uplink', 'tls', 'cert'], certFile);
  doc.setIn(['uplink', 'tls', 'key'], keyFile);
  if (caTarget) doc.setIn(['uplink', 'tls', 'ca'], caTarget);
  const backup = writeConfigText(file, doc.toString(), now);
  io.out(`installed ${certFile}: ${info.subject}, issued by ${info.issuer}`);
  io.out(
    `  valid ${info.notBefore.toISOString()} .. ${info.notAfter.toISOString()}, sha256 ${info.sha256}`,
  );
  io.out(
    `  uplink.tls in ${file} now names cert, key${caTarget ? ' and ca' : ''}${backup ? ` (previous file: ${backup})` : ''}`,
  );
  io.out('next: customs-edge check, then systemctl restart customs-edge');
  return 0;
}
