import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { SqliteStore } from '../provisioning/store/sqlite';
import { USER_HELP, userCommand } from './user-command';
import { ConfigError, durationSeconds, loadAuthConfig, loadDatabaseUrl, loadDbPath, type Env } from '../core/config';

/** The `dialin` command line: SPEC §1. Returns the exit code instead of exiting, for tests. */

const HELP = `usage: dialin <command> [options]

commands:
  token --scope SCOPE [--ttl 8h] [--sub NAME]
        print a signed JWT for the admin API; SCOPE is dialin:read or dialin:admin
        (repeat --scope or separate with spaces). Needs JWT_SECRET.
  backup FILE
        write a consistent copy of the database (DB_PATH) to FILE, also while the
        service runs
${USER_HELP}  serve start the gateway and its HTTP API (same as npm start)
  help  show this text

Configuration comes from environment variables (and ./.env when present).
`;

const SCOPES = new Set(['dialin:read', 'dialin:admin']);

export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Standard input, whole (dialin user … --password-stdin). */
  input: () => Promise<string>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const processOutput: CliOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  input: readStdin,
};

function loadDotEnv(env: Env): void {
  if (env === process.env && existsSync('.env')) process.loadEnvFile('.env');
}

export function mintToken(args: string[], env: Env, io: CliOutput): number {
  const { values } = parseArgs({
    args,
    options: {
      scope: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '8h' },
      sub: { type: 'string', default: 'admin' },
    },
    strict: true,
  });
  const scopes = (values.scope ?? []).flatMap((scope) => scope.split(/[\s,]+/)).filter(Boolean);
  if (scopes.length === 0 || scopes.some((scope) => !SCOPES.has(scope))) {
    io.err('dialin token: --scope must be dialin:read or dialin:admin\n');
    return 2;
  }
  if (!/^[\w.@-]{1,64}$/.test(values.sub)) {
    io.err('dialin token: --sub may contain letters, digits and . _ - @ (at most 64)\n');
    return 2;
  }
  const auth = loadAuthConfig(env);
  const seconds = durationSeconds(values.ttl);
  if (seconds === undefined || seconds > auth.maxTtlSeconds) {
    io.err(`dialin token: --ttl must look like 30m, 8h or 7d and be at most JWT_MAX_TTL (${auth.maxTtlSeconds / 86400}d), got "${values.ttl}"\n`);
    return 2;
  }
  if (auth.algorithm !== 'HS256' || auth.secret === undefined) {
    io.err('dialin token: needs JWT_SECRET; with JWT_PUBLIC_KEY tokens come from your identity provider\n');
    return 1;
  }
  const token = jwt.sign({ scope: [...new Set(scopes)].join(' ') }, auth.secret, {
    algorithm: 'HS256',
    expiresIn: seconds,
    audience: auth.audience,
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    subject: values.sub,
  });
  io.out(`${token}\n`);
  return 0;
}

export async function backupDatabase(args: string[], env: Env, io: CliOutput): Promise<number> {
  const [destination, ...extra] = args;
  if (destination === undefined || extra.length > 0 || destination.startsWith('-')) {
    io.err('dialin backup: give exactly one destination file, e.g. dialin backup /var/lib/dialin/backup.sqlite\n');
    return 2;
  }
  if (existsSync(destination)) {
    io.err(`dialin backup: ${destination} exists already; choose a new file name\n`);
    return 1;
  }
  if (!existsSync(dirname(resolve(destination)))) {
    io.err(`dialin backup: the folder ${dirname(resolve(destination))} does not exist; create it first or choose another\n`);
    return 1;
  }
  if (loadDatabaseUrl(env) !== undefined) {
    io.err('dialin backup: the database is PostgreSQL (DATABASE_URL); back it up with pg_dump, see the operator guide\n');
    return 1;
  }
  const source = loadDbPath(env);
  if (!existsSync(source)) {
    io.err(`dialin backup: no database at ${source} (DB_PATH)\n`);
    return 1;
  }
  const store = new SqliteStore(source);
  try {
    await store.backup(destination);
  } finally {
    await store.close();
  }
  io.out(`dialin backup: ${source} copied to ${destination}\n`);
  return 0;
}

export async function runCli(argv: string[], env: Env = process.env, io: CliOutput = processOutput): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'token':
        loadDotEnv(env);
        return mintToken(rest, env, io);
      case 'backup':
        loadDotEnv(env);
        return await backupDatabase(rest, env, io);
      case 'user':
        loadDotEnv(env);
        return await userCommand(rest, env, io);
      case 'serve':
        await import('./main');
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(HELP);
        return command === undefined ? 2 : 0;
      default:
        io.err(`dialin: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`dialin: configuration error: ${error.message}\n`);
      return 1;
    }
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`dialin ${command}: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}
