import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import jwt from 'jsonwebtoken';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { TEST_SECRET, tempDir } from '../support/service';

/**
 * The gateway image as the Dockerfile lays it out: dist/ built from the sources, bin/,
 * package.json, production dependencies only (no TypeScript, no ts-node), and the `dialin` link
 * on PATH. The commands the operator guide runs in the container must work there and print
 * what the guide says they print.
 */
const ROOT = join(__dirname, '..', '..');
const image = tempDir();
const IMAGE = image.path;
afterAll(() => image.cleanup());

beforeAll(() => {
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(IMAGE, 'dist')]);
  cpSync(join(ROOT, 'package.json'), join(IMAGE, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(IMAGE, 'bin'), { recursive: true });
  const production = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((path) => path.split('/node_modules/').length === 2);
  for (const path of production) cpSync(path, join(IMAGE, relative(ROOT, path)), { recursive: true });
  // The link exactly as the Dockerfile makes it, so a change there is tested here.
  const [, target, link] = /ln -s (\S+) (\S+)/.exec(dockerfile) ?? [];
  mkdirSync(join(IMAGE, 'node_modules/.bin'), { recursive: true });
  symlinkSync(target!, join(IMAGE, link!));
}, 120_000);

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

describe('how the image finds `dialin`', () => {
  it('puts the link the Dockerfile makes on the PATH of the image', () => {
    expect(dockerfile).toMatch(/ln -s \.\.\/\.\.\/bin\/dialin\.js node_modules\/\.bin\/dialin/);
    expect(dockerfile).toMatch(/^ENV PATH=\/opt\/dialin\/node_modules\/\.bin:\$PATH$/m);
    expect(dockerfile).toMatch(/^WORKDIR \/opt\/dialin$/m);
  });

  it('declares no "bin" in package.json, so `npx dialin` in a checkout runs the local link instead of installing and building the project', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin?: unknown; scripts: Record<string, string> };
    expect(manifest.bin).toBeUndefined();
    expect(manifest.scripts.prepare).toMatch(/bin\/link-local\.js/);
  });
});

function inImage(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd: IMAGE,
    encoding: 'utf8',
    env: { PATH: `${join(IMAGE, 'node_modules/.bin')}:${process.env.PATH}`, HOME: IMAGE, NODE_ENV: 'production', npm_config_update_notifier: 'false', JWT_SECRET: TEST_SECRET, ...env },
  });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

describe('the commands of the operator guide, in the image', () => {
  it('has no TypeScript to fall back on', () => {
    expect(inImage('node', ['-e', "require.resolve('typescript')"]).status).not.toBe(0);
    expect(existsSync(join(IMAGE, 'node_modules/ts-node'))).toBe(false);
  });

  it.each([
    ['dialin', ['token', '--scope', 'dialin:admin', '--ttl', '1h']],
    ['npx', ['dialin', 'token', '--scope', 'dialin:admin', '--ttl', '1h']],
  ])('%s token prints a token the API accepts', (command, args) => {
    const { status, out, err } = inImage(command, args);
    expect(err).toBe('');
    expect(status).toBe(0);
    const claims = jwt.verify(out.trim(), TEST_SECRET, { algorithms: ['HS256'], audience: 'dialin-api' }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ scope: 'dialin:admin' });
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('dialin backup copies the database and says where', async () => {
    const db = join(IMAGE, 'data', 'dialin.sqlite');
    const store = new SqliteStore(db);
    await store.upsertRoom('gemeinderat', { title: 'Gemeinderat' }, 'admin', Date.now());
    await store.close();
    const backup = join(IMAGE, 'backup.sqlite');

    const { status, out } = inImage('dialin', ['backup', backup], { DB_PATH: db });

    expect(status).toBe(0);
    expect(out).toBe(`dialin backup: ${db} copied to ${backup}\n`);
    const copy = new SqliteStore(backup);
    expect(await copy.getRoom('gemeinderat')).toMatchObject({ title: 'Gemeinderat' });
    await copy.close();
  });
});
