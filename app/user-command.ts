import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ACCOUNT_ROLES, accountNameProblem, hashPassword, passwordProblem } from '../provisioning/accounts';
import { openStore } from '../provisioning/store/open';
import type { AccountRole } from '../provisioning/store/store';
import { loadDatabaseUrl, loadDbPath, type Env } from '../core/config';
import type { CliOutput } from './cli';

/**
 * `dialin user add|passwd|remove`: the admin console's accounts (SPEC §6). The password comes
 * from standard input with --password-stdin; without it one is made and printed once.
 */

export const USER_HELP = `  user add NAME --role admin|clerk|viewer [--password-stdin]
  user passwd NAME [--password-stdin]
  user remove NAME
        accounts of the admin console (/admin/): admin may do everything, clerk
        rooms, PINs, calls and dial-outs, viewer only reads. Without
        --password-stdin a password is made and printed once. passwd and remove
        end the account's sessions.
`;

/** 20 characters of a–z and 2–9 without look-alikes (~100 bits), in groups for reading it out. */
function madePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(20);
  const characters = [...bytes].map((byte) => alphabet[byte % alphabet.length]!);
  return [0, 5, 10, 15].map((start) => characters.slice(start, start + 5).join('')).join('-');
}

async function passwordFrom(fromStdin: boolean, io: CliOutput): Promise<{ password: string; made: boolean } | { problem: string }> {
  if (!fromStdin) return { password: madePassword(), made: true };
  const password = (await io.input()).replace(/\r?\n$/, '');
  const problem = passwordProblem(password);
  return problem ? { problem } : { password, made: false };
}

export async function userCommand(args: string[], env: Env, io: CliOutput): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { role: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const [action, name, ...extra] = positionals;
  const fail = (message: string, code = 2) => {
    io.err(`dialin user: ${message}\n`);
    return code;
  };
  if (!action || !['add', 'passwd', 'remove'].includes(action)) return fail(`say add, passwd or remove\n\n${USER_HELP}`);
  if (name === undefined || extra.length > 0) return fail(`give exactly one account name: dialin user ${action} NAME`);
  const nameProblem = accountNameProblem(name);
  if (nameProblem) return fail(nameProblem);
  if (action === 'add' && !ACCOUNT_ROLES.includes(values.role as AccountRole)) return fail('--role must be admin, clerk or viewer');
  if (action !== 'add' && values.role !== undefined) return fail('--role is for user add only');

  const store = await openStore({ dbPath: loadDbPath(env), databaseUrl: loadDatabaseUrl(env) });
  try {
    if (action === 'remove') {
      if (!(await store.deleteAccount(name))) return fail(`there is no account "${name}"`, 1);
      io.out(`dialin user: removed "${name}" and ended its sessions\n`);
      return 0;
    }
    const given = await passwordFrom(values['password-stdin'], io);
    if ('problem' in given) return fail(given.problem);
    const passwordHash = await hashPassword(given.password);
    if (action === 'add') {
      if (!(await store.insertAccount({ name, role: values.role as AccountRole, passwordHash, createdAt: Date.now() }))) return fail(`an account "${name}" exists already`, 1);
      io.out(`dialin user: added "${name}" (${values.role})\n`);
    } else {
      if (!(await store.setAccountPassword(name, passwordHash))) return fail(`there is no account "${name}"`, 1);
      io.out(`dialin user: new password for "${name}"; its sessions are ended\n`);
    }
    if (given.made) io.out(`password (shown once): ${given.password}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
