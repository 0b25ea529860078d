import { isMap, isSeq, type Document, type YAMLMap } from 'yaml';
import { parseCommandArgs } from './args.js';
import { defaultConfigFile, readConfigDocument, writeConfigText } from './config-file.js';
import { CliError, type CliIo } from './io.js';
import { hashPassword, readNewPassword } from './password.js';

/**
 * `customs-edge user add | passwd | remove | list`: the HTTP users in the configuration's
 * `http.users` (config/http-schema.ts). A password is stored only as `passwordHash`
 * (scrypt$salt$hash, the format edge/http/auth.ts verifies); a plain `password` or a secret
 * reference of that user is removed when its password is set here. The file is rewritten with
 * its comments, after a backup. The running gateway reads users at start: restart it (or apply
 * the file with PUT /api/config).
 */

export const USER_USAGE =
  'customs-edge user add NAME --role viewer|inspector|technician|admin | passwd NAME | remove NAME | list   [--config FILE] [--password-stdin | --password-file FILE]';

const ROLES = ['viewer', 'inspector', 'technician', 'admin'] as const;
type Role = (typeof ROLES)[number];

interface UserEntry {
  node: YAMLMap;
  name: string;
  role: string;
  secret: 'hash' | 'plain' | 'reference' | 'none';
}

function usersOf(doc: Document): UserEntry[] {
  const seq = doc.getIn(['http', 'users'], true);
  if (seq === undefined || seq === null) return [];
  if (!isSeq(seq)) throw new CliError('http.users is not a list');
  return seq.items.filter(isMap).map((node) => {
    const password = node.get('password');
    const hash = node.get('passwordHash');
    const ref = (v: unknown) => typeof v === 'string' && v.includes('${');
    return {
      node,
      name: String(node.get('name')),
      role: String(node.get('role')),
      secret:
        typeof hash === 'string'
          ? ref(hash)
            ? 'reference'
            : 'hash'
          : typeof password === 'string'
            ? ref(password)
              ? 'reference'
              : 'plain'
            : 'none',
    };
  });
}

function checkName(name: string | undefined): string {
  if (!name) throw new CliError(`a user name is required\nusage: ${USER_USAGE}`);
  // Basic authentication splits at the first ':', so a name must not contain one
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
    throw new CliError(`user name '${name}': letters, digits, . _ @ - (at most 64)`);
  return name;
}

function isAdminWithSecret(u: UserEntry): boolean {
  return u.role === 'admin' && u.secret !== 'none';
}

export async function runUser(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      config: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      'password-file': { type: 'string' },
    },
    USER_USAGE,
  );
  const file = values.config ?? defaultConfigFile(io.env);
  const doc = readConfigDocument(file);
  const users = usersOf(doc);
  const source = {
    passwordStdin: values['password-stdin'],
    ...(values['password-file'] ? { passwordFile: values['password-file'] } : {}),
  };
  const save = (what: string) => {
    const backup = writeConfigText(file, doc.toString(), io.now());
    io.out(`${what} in ${file}${backup ? ` (previous file: ${backup})` : ''}`);
    io.out('restart the gateway to apply it: systemctl restart customs-edge');
    return 0;
  };

  switch (action) {
    case 'list': {
      if (users.length === 0) io.out('no users: customs-edge user add NAME --role admin');
      for (const u of users)
        io.out(
          `${u.name.padEnd(20)} ${u.role.padEnd(11)} ${u.secret === 'plain' ? 'plain password in the file: set a hash with user passwd' : u.secret}`,
        );
      return 0;
    }
    case 'add': {
      const name = checkName(positionals[0]);
      const role = values.role as Role | undefined;
      if (!role || !ROLES.includes(role))
        throw new CliError(`--role ${ROLES.join('|')} is required`);
      if (users.some((u) => u.name === name))
        throw new CliError(`user ${name} exists (customs-edge user passwd ${name})`);
      const passwordHash = await hashPassword(await readNewPassword(io, name, source));
      const entry = doc.createNode({ name, role, passwordHash });
      if (users.length === 0 && !isSeq(doc.getIn(['http', 'users'], true)))
        doc.setIn(['http', 'users'], doc.createNode([]));
      (doc.getIn(['http', 'users'], true) as { add(v: unknown): void }).add(entry);
      return save(`user ${name} (${role}) added`);
    }
    case 'passwd': {
      const name = checkName(positionals[0]);
      const user = users.find((u) => u.name === name);
      if (!user) throw new CliError(`no user ${name} (customs-edge user list)`);
      const passwordHash = await hashPassword(await readNewPassword(io, name, source));
      user.node.delete('password');
      user.node.set('passwordHash', passwordHash);
      return save(`password of ${name} set`);
    }
    case 'remove': {
      const name = checkName(positionals[0]);
      const user = users.find((u) => u.name === name);
      if (!user) throw new CliError(`no user ${name} (customs-edge user list)`);
      if (isAdminWithSecret(user) && users.filter(isAdminWithSecret).length === 1)
        throw new CliError(
          `${name} is the last admin: add another admin first (nobody could change the configuration)`,
        );
      const seq = doc.getIn(['http', 'users'], true) as { items: unknown[] };
      seq.items = seq.items.filter((n) => n !== user.node);
      return save(`user ${name} removed`);
    }
    default:
      throw new CliError(`usage: ${USER_USAGE}`);
  }
}
