/**
 * A throwaway PostgreSQL 15 cluster for tests and benches: initdb in a temp folder, `postgres`
 * run as the unprivileged `postgres` user (the server refuses to run as root), listening only on
 * a Unix socket in that folder; `stop()` ends it by its PID (postmaster.pid) and removes the
 * folder. A machine without the binaries fails here with a message saying what to install
 * (`.ci/run` installs the Debian package `postgresql`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  /** A `pg` PoolConfig for the `postgres` database over the Unix socket. */
  readonly connection: { host: string; port: number; user: string; database: string };
  readonly dir: string;
  /** pg_dump of the database as plain SQL (what an operator's backup holds). */
  dump(): string;
  stop(): Promise<void>;
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('PostgreSQL test cluster: no `postgres` user (apt-get install postgresql)');
  return { uid, gid };
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  if (!existsSync(join(PG_BIN, 'postgres')) || !existsSync(join(PG_BIN, 'initdb'))) {
    throw new Error(`PostgreSQL test cluster: no initdb/postgres in ${PG_BIN}; install the Debian package \`postgresql\` (.ci/run does) or set PG_BIN`);
  }
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL test cluster: needs root to run postgres as the `postgres` user (runuser)');
  const { uid, gid } = postgresIds();
  const dir = mkdtempSync(join(tmpdir(), 'battery-pg-'));
  chmodSync(dir, 0o700);
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const init = spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], {
    encoding: 'utf8',
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL test cluster: initdb failed: ${init.stderr || init.stdout}`);
  }
  const port = 5432;
  const child: ChildProcess = spawn(
    'runuser',
    ['-u', 'postgres', '--', join(PG_BIN, 'postgres'), '-D', data, '-k', dir, '-c', 'listen_addresses=', '-p', String(port), '-c', 'fsync=off'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const socket = join(dir, `.s.PGSQL.${port}`);
  const ready = async (): Promise<boolean> => {
    for (let i = 0; i < 600; i += 1) {
      if (child.exitCode !== null) return false;
      if (existsSync(socket) && /ready to accept connections/.test(stderr)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  const postmasterPid = (): number | undefined => {
    try {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const stop = async (): Promise<void> => {
    const pid = postmasterPid();
    // SIGINT = fast shutdown: disconnect clients, shut down cleanly.
    if (pid && child.exitCode === null) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  if (!(await ready())) {
    await stop();
    throw new Error(`PostgreSQL test cluster did not start: ${stderr.slice(-2000)}`);
  }
  return {
    connection: { host: dir, port, user: 'postgres', database: 'postgres' },
    dir,
    dump: () => {
      const out = spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'pg_dump'), '-h', dir, '-p', String(port), '-U', 'postgres', 'postgres'], {
        encoding: 'latin1',
        maxBuffer: 1 << 30,
      });
      if (out.status !== 0) throw new Error(`pg_dump failed: ${out.stderr}`);
      return out.stdout;
    },
    stop,
  };
}
