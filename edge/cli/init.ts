import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { DEMO_PUBLIC_KEY } from '../../config/command-keys.js';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { checkId, parseCommandArgs } from './args.js';
import {
  DEFAULT_CONFIG_DIR,
  DEFAULT_DATA_DIR,
  gatewayPaths,
  resolveWithEnv,
  SECRETS_FILE,
  writeConfigText,
} from './config-file.js';
import { CliError, type CliIo } from './io.js';
import { chownTree, serviceAccount } from './owner.js';
import { templateFile, templateNames } from './package-info.js';
import { hashPassword, readNewPassword } from './password.js';
import { createClientKeyAndCsr, ensureOpcuaApplicationCertificate } from './pki.js';

/**
 * `customs-edge init`: a new gateway at a line. Writes, in this order and only after every input
 * was checked: the configuration from an example line (config/examples/<template>.yaml; its
 * comments kept) with this site's ids, an absolute data folder, JSON logs and one admin user
 * (scrypt hash, password asked without echo or piped), an empty secrets.env for the unit, the
 * MQTT client key + CSR, and the OPC UA application certificate. Then `check`.
 */

export const INIT_USAGE =
  'customs-edge init --site ID --gateway ID [--template NAME] [--config-dir DIR] [--data-dir DIR] [--admin NAME] [--password-stdin | --password-file FILE] [--broker URL] [--ca FILE] [--mqtt-version 4|5] [--http-host ADDR] [--key-type ec|rsa] [--owner USER] [--no-opcua-cert] [--force]';

interface InitPlan {
  site: string;
  gatewayId: string;
  template: string;
  configDir: string;
  dataDir: string;
  configFile: string;
  admin: string;
  broker: string | null;
  caFile: string | null;
  mqttVersion: 4 | 5 | null;
  httpHost: string | null;
}

/** The template document rewritten for this site (pure: no files touched). */
export function configFromTemplate(text: string, plan: InitPlan, passwordHash: string, now: Date) {
  const doc = parseDocument(text);
  // the example's own header ("what npm start runs") does not describe this gateway
  if (isMap(doc.contents)) {
    doc.contents.commentBefore = null;
    const first = doc.contents.items[0]?.key;
    if (isScalar(first)) first.commentBefore = null;
  }
  doc.commentBefore =
    ` Customs edge gateway ${plan.gatewayId} at site ${plan.site}.\n` +
    ` Written by customs-edge init on ${now.toISOString().slice(0, 10)} from config/examples/${plan.template}.yaml:\n` +
    ' adapt the line geometry, gates and drivers to this line, then run customs-edge check.\n' +
    ` Secrets: \${env:NAME} from ${join(plan.configDir, SECRETS_FILE)}, or \${file:PATH}. Users: customs-edge user.`;
  doc.setIn(['gateway', 'id'], plan.gatewayId);
  doc.setIn(['gateway', 'site'], plan.site);
  doc.set('dataDir', plan.dataDir);
  doc.set('log', doc.createNode({ level: 'info', pretty: false }));
  if (plan.httpHost) doc.setIn(['http', 'host'], plan.httpHost);
  const users = doc.createNode([{ name: plan.admin, role: 'admin', passwordHash }]);
  users.commentBefore =
    ' more users: customs-edge user add NAME --role viewer|inspector|technician';
  doc.setIn(['http', 'users'], users);
  if (plan.broker) {
    doc.setIn(['embeddedBroker', 'enabled'], false);
    doc.setIn(['uplink', 'url'], plan.broker);
    if (plan.caFile) doc.setIn(['uplink', 'tls'], doc.createNode({ ca: plan.caFile }));
  }
  if (plan.mqttVersion) doc.setIn(['uplink', 'protocolVersion'], plan.mqttVersion);
  rebaseDataPaths(doc, plan.dataDir);
  withoutDemoCommandKey(doc);
  return doc;
}

/**
 * The examples pin the demo command key, whose private half is in this repository: a gateway at a
 * line never does (docs/security.md). Without a pinned key every state-changing platform command
 * is refused until the platform's own key is pinned.
 */
function withoutDemoCommandKey(doc: Document): void {
  const path = ['uplink', 'commands', 'signing', 'keys'];
  const keys: unknown = doc.getIn(path, true);
  if (!isSeq(keys)) return;
  keys.items = keys.items.filter((k) => {
    const key: unknown = isMap(k) ? k.get('publicKey') : null;
    return typeof key !== 'string' || key.replace(/\s/g, '') !== DEMO_PUBLIC_KEY;
  });
  const uplink: unknown = doc.get('uplink', true);
  const commands = isMap(uplink)
    ? uplink.items.find((i) => isScalar(i.key) && i.key.value === 'commands')
    : undefined;
  if (commands && isScalar(commands.key))
    commands.key.commentBefore =
      ' Platform commands that change how parcels are sorted must be signed with a key pinned in\n' +
      " signing.keys (docs/security.md): pin the platform's public key(s) there. The examples'\n" +
      ' demo key is not pinned here: its private half is public.';
}

/** Paths the examples keep under ./data (serial simulators' ptys) move into the data folder. */
function rebaseDataPaths(doc: Document, dataDir: string): void {
  const walk = (node: unknown): void => {
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) walk(isMap(node) ? (item as { value: unknown }).value : item);
    } else if (
      isScalar(node) &&
      typeof node.value === 'string' &&
      node.value.startsWith('./data/')
    ) {
      node.value = join(dataDir, node.value.slice('./data/'.length));
    }
  };
  walk(doc.get('drivers', true));
}

export async function runInit(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      site: { type: 'string' },
      gateway: { type: 'string' },
      template: { type: 'string', default: 'simulated-line' },
      'config-dir': { type: 'string', default: DEFAULT_CONFIG_DIR },
      'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
      admin: { type: 'string', default: 'admin' },
      'password-stdin': { type: 'boolean', default: false },
      'password-file': { type: 'string' },
      broker: { type: 'string' },
      ca: { type: 'string' },
      'mqtt-version': { type: 'string' },
      'http-host': { type: 'string' },
      'key-type': { type: 'string', default: 'ec' },
      owner: { type: 'string' },
      'no-opcua-cert': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
    INIT_USAGE,
  );
  const templates = templateNames();
  if (!templates.includes(values.template))
    throw new CliError(`unknown template '${values.template}' (${templates.join(', ')})`);
  if (values['key-type'] !== 'ec' && values['key-type'] !== 'rsa')
    throw new CliError('--key-type is ec or rsa');
  if (values.broker && !/^mqtts?:\/\/[^/\s]+/.test(values.broker))
    throw new CliError(`--broker ${values.broker}: mqtt://host:port or mqtts://host:port`);
  if (values['mqtt-version'] && !['4', '5'].includes(values['mqtt-version']))
    throw new CliError('--mqtt-version is 4 (MQTT 3.1.1) or 5');
  if (values.ca && !existsSync(values.ca)) throw new CliError(`--ca ${values.ca}: no such file`);
  const configDir = resolve(values['config-dir']);
  const plan: InitPlan = {
    site: checkId(values.site, '--site'),
    gatewayId: checkId(values.gateway, '--gateway'),
    template: values.template,
    configDir,
    dataDir: resolve(values['data-dir']),
    configFile: join(configDir, 'gateway.yaml'),
    admin: values.admin,
    broker: values.broker ?? null,
    caFile: values.ca ? join(configDir, 'pki/mqtt/ca.crt') : null,
    mqttVersion: values['mqtt-version'] ? (Number(values['mqtt-version']) as 4 | 5) : null,
    httpHost: values['http-host'] ?? null,
  };
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(plan.admin))
    throw new CliError(`--admin '${plan.admin}': letters, digits, . _ @ - (at most 64)`);
  if (existsSync(plan.configFile) && !values.force)
    throw new CliError(
      `${plan.configFile} exists: this gateway is set up already (--force writes a new one; the old one is kept as a .bak)`,
    );
  const owner = serviceAccount(values.owner);

  // every input checked before anything is written
  const password = await readNewPassword(io, plan.admin, {
    passwordStdin: values['password-stdin'],
    ...(values['password-file'] ? { passwordFile: values['password-file'] } : {}),
  });
  const now = io.now();
  const doc = configFromTemplate(
    readFileSync(templateFile(plan.template), 'utf8'),
    plan,
    await hashPassword(password),
    now,
  );
  const { doc: resolved, issues: secretIssues } = resolveWithEnv(doc.toJS(), io.env);
  const issues = [...secretIssues, ...new ConfigValidator(driverKindSchemas()).check(resolved)];
  if (issues.length > 0)
    throw new CliError(
      `the configuration from ${plan.template} does not validate:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      1,
    );

  mkdirSync(plan.configDir, { recursive: true, mode: 0o750 });
  mkdirSync(plan.dataDir, { recursive: true, mode: 0o750 });
  const mqttDir = join(plan.configDir, 'pki/mqtt');
  mkdirSync(mqttDir, { recursive: true, mode: 0o700 });
  if (values.ca && plan.caFile) copyFileSync(values.ca, plan.caFile);
  const backup = writeConfigText(plan.configFile, doc.toString(), now);
  io.out(
    `init: wrote ${plan.configFile} from config/examples/${plan.template}.yaml${backup ? ` (previous one kept as ${backup})` : ''}`,
  );
  io.out(`  site ${plan.site}, gateway ${plan.gatewayId}, data folder ${plan.dataDir}`);
  io.out(`  admin user '${plan.admin}' (scrypt hash in http.users; more: customs-edge user add)`);

  const secrets = join(plan.configDir, SECRETS_FILE);
  if (!existsSync(secrets)) {
    writeFileSync(
      secrets,
      '# Secrets for the gateway unit (EnvironmentFile), referenced in gateway.yaml as ${env:NAME}.\n' +
        '# One NAME=value a line, e.g. MQTT_PASSWORD=...  Mode 0600, owned by root.\n',
      { mode: 0o600 },
    );
    chmodSync(secrets, 0o600);
    io.out(`  ${secrets} (empty; EnvironmentFile of the unit)`);
  }

  const mqtt = createClientKeyAndCsr({
    dir: mqttDir,
    site: plan.site,
    gatewayId: plan.gatewayId,
    keyType: values['key-type'],
    replace: values.force,
  });
  io.out(`  MQTT client key ${mqtt.key}${mqtt.createdKey ? '' : ' (kept)'}, request ${mqtt.csr}`);

  if (!values['no-opcua-cert']) {
    const paths = gatewayPaths(resolved as Record<string, unknown>, plan.configFile);
    const pkis =
      paths.opcuaPkiDirs.length > 0
        ? paths.opcuaPkiDirs
        : [
            {
              driverId: '(default)',
              dir: join(plan.dataDir, 'pki/opcua'),
              applicationName: 'customs-edge-gateway',
            },
          ];
    for (const pki of pkis) {
      const cert = await ensureOpcuaApplicationCertificate({
        pkiDir: pki.dir,
        applicationName: pki.applicationName,
        site: plan.site,
      });
      io.out(
        `  OPC UA application certificate ${cert.certificate} (${cert.applicationUri})${cert.created ? '' : ' (kept)'}`,
      );
    }
  }

  if (owner) {
    chownTree(plan.dataDir, owner);
    chownTree(plan.configDir, owner, { keepRootOwned: [secrets] });
    io.out(
      `  owner ${owner.name} (${owner.uid}:${owner.gid}) on ${plan.configDir} and ${plan.dataDir}`,
    );
  }
  io.out('next:');
  io.out(
    `  1. have the platform CA sign ${mqtt.csr}, then: customs-edge cert install SIGNED.pem${plan.caFile ? '' : ' --ca CA.pem'} --config ${plan.configFile}`,
  );
  io.out(
    `  2. edit ${plan.configFile} for this line, then: customs-edge check --config ${plan.configFile}`,
  );
  io.out('  3. systemctl enable --now customs-edge (docs/install.md)');
  return 0;
}
