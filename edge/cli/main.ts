#!/usr/bin/env node
/**
 * `customs-edge <command>`: provisioning and support for a gateway at a line (package.json bin;
 * in production `node /opt/customs-edge/dist/edge/cli/main.js <command>`). Each command prints
 * what it did and what to do next; a refusal is one line on stderr with exit code 2 (usage,
 * input) or 1 (the host or a file is not as it should be).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBackup } from './backup.js';
import { runCertInstall } from './cert-install.js';
import { runCheck } from './check.js';
import { runDiag } from './diag.js';
import { runInit } from './init.js';
import { CliError, processIo, type CliIo } from './io.js';
import { packageVersion } from './package-info.js';
import { runRestore } from './restore.js';
import { runUser } from './users.js';

const USAGE = `customs-edge <command> [options]   (customs-edge <command> --help)

  init       a new gateway: ids, data folder, configuration from an example line, admin user,
             MQTT client key + CSR, OPC UA application certificate
  cert install SIGNED.pem [--ca CA.pem]   install the MQTT client certificate signed from the CSR
  check      configuration, host (GPIO, serial, disk, clock), broker, OPC UA: one line per check
  backup     configuration, databases (online, while the line runs), PKI, with checksums
  restore    a backup into this machine (or other folders), checked first
  user       add | passwd | remove | list   HTTP users (scrypt hashes in the configuration)
  diag       a support bundle: health, recent logs, configuration without secrets
  version    this package's version

Configuration: --config FILE, else $EDGE_CONFIG, else /etc/customs-edge/gateway.yaml.`;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case 'init':
        return await runInit(rest, io);
      case 'cert':
        if (rest[0] !== 'install')
          throw new CliError('usage: customs-edge cert install SIGNED.pem');
        return await runCertInstall(rest.slice(1), io);
      case 'check':
        return await runCheck(rest, io);
      case 'backup':
        return await runBackup(rest, io);
      case 'restore':
        return await runRestore(rest, io);
      case 'user':
        return await runUser(rest, io);
      case 'diag':
        return await runDiag(rest, io);
      case 'version':
      case '--version':
        io.out(packageVersion());
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new CliError(`unknown command '${command}'\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`customs-edge ${command ?? ''}: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

// run when this file is the program (directly or through the npm bin link), not when imported
function isProgram(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isProgram()) {
  runCli(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
