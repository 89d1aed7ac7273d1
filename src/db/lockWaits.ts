/**
 * Noticing that an import's connection waits for a lock another session holds (a `LOCK TABLE`,
 * an `ALTER TABLE`, a transaction left open, another import into the same table): without it a
 * cron log shows nothing for as long as the wait lasts, and the time is put on whatever phase
 * was running. Polled from a connection of its own, opened only once the import has run for a
 * while, so that short imports (a batch's files) pay nothing.
 */
import type { Client } from './connection.js';
import { openClient } from './connection.js';

/** A session holding a lock the import waits for, as pg_stat_activity shows it. */
export interface LockHolder {
  pid: number;
  user: string | null;
  application: string | null;
  /** `active`, `idle in transaction`, ... */
  state: string | null;
  /** Seconds since its transaction began, or null. */
  transactionSeconds: number | null;
  /** Its current or last statement, cut to 200 characters (hidden from roles without pg_read_all_stats). */
  query: string | null;
}

export interface LockWait {
  /** Seconds the wait has lasted so far (pg_locks.waitstart; before PostgreSQL 14, since the waiting statement began). */
  seconds: number;
  /** The lock waited for: pg_locks.locktype (`relation`, `advisory`, `tuple`, `transactionid`, ...) and its table, if any; null when it has been granted meanwhile. */
  waitingFor: { lockType: string; relation: string | null } | null;
  holders: LockHolder[];
}

/** How often the import's connection is looked at. */
export const LOCK_WAIT_POLL_MS = 5000;

export interface LockWatch {
  /** Stops polling and closes the watching connection. */
  stop(): Promise<void>;
}

/**
 * Polls every `everyMs` whether one of the backends `pids` (read at each poll) waits for a lock held by other sessions, and
 * calls `onWait` at each poll that finds it waiting, `changed` when the sessions it waits for are
 * others than at the poll before. Never throws: a failed poll (the server gone) only ends the watching.
 */
export function watchLockWaits(url: string, pids: readonly number[], onWait: (wait: LockWait, changed: boolean) => void, everyMs = LOCK_WAIT_POLL_MS): LockWatch {
  let watcher: Client | null = null;
  let polling: Promise<void> | null = null;
  let stopped = false;
  let lastHolders = '';
  const poll = async (): Promise<void> => {
    watcher ??= await openClient(url, { applicationName: 'atlas (lock watch)' });
    if (stopped) return;
    // (waitstart is PostgreSQL 14's: read through to_jsonb so that older servers take the statement's start.)
    const res = await watcher.query<{ seconds: number | null; lock_type: string | null; relation: string | null; holders: LockHolder[] | null }>(
      `select extract(epoch from clock_timestamp() - coalesce(w.waitstart, me.query_start))::float8 as seconds, w.locktype as lock_type, w.relation,
              (select json_agg(json_build_object('pid', b.pid, 'user', b.usename, 'application', nullif(b.application_name, ''), 'state', b.state,
                        'transactionSeconds', round(extract(epoch from clock_timestamp() - b.xact_start)::numeric, 1), 'query', left(b.query, 200)) order by b.pid)
                 from pg_stat_activity b where b.pid = any(pg_blocking_pids(me.pid))) as holders
         from pg_stat_activity me
         left join lateral (select l.locktype, l.relation::regclass::text as relation, (to_jsonb(l)->>'waitstart')::timestamptz as waitstart
                              from pg_locks l where l.pid = me.pid and not l.granted limit 1) w on true
        where me.pid = any($1::int[]) and me.wait_event_type = 'Lock'
        order by me.pid limit 1`,
      [[...pids]],
    );
    const row = res.rows[0];
    if (row === undefined || row.holders === null || stopped) {
      lastHolders = '';
      return;
    }
    const waitingFor = row.lock_type === null ? null : { lockType: row.lock_type, relation: row.relation };
    const wait: LockWait = { seconds: Math.round(row.seconds ?? 0), waitingFor, holders: row.holders };
    const holders = wait.holders.map((h) => h.pid).join(',');
    onWait(wait, holders !== lastHolders);
    lastHolders = holders;
  };
  const timer = setInterval(() => {
    polling ??= poll()
      .catch(() => clearInterval(timer))
      .finally(() => {
        polling = null;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await polling;
      await (watcher as Client | null)?.end().catch(() => undefined);
    },
  };
}

/** Who hears of a command's lock waits, and how often they are looked for. */
export interface LockWaitOptions {
  /** Called when the command starts waiting for a lock other sessions hold (again when those sessions change). */
  onLockWait?: ((wait: LockWait) => void) | undefined;
  /** How often the command's connection is looked at for lock waits, in milliseconds. @default 5000 */
  lockWaitPollMs?: number;
}

/**
 * Runs `fn` with `client`'s lock waits told to `options.onLockWait`. Called inside the caller's
 * transaction: behind PgBouncer in transaction mode the backend is the client's only until it ends.
 */
export async function withLockWatch<T>(client: Client, url: string, options: LockWaitOptions, fn: () => Promise<T>): Promise<T> {
  const listener = options.onLockWait;
  if (listener === undefined) return fn();
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const watch = watchLockWaits(url, [pid], (wait, changed) => changed && listener(wait), options.lockWaitPollMs);
  try {
    return await fn();
  } finally {
    await watch.stop();
  }
}

/** One line naming the sessions an import waits for: `pid 4242 (bob, psql; idle in transaction, its transaction open 40 s: lock table sales)`. */
export function lockHoldersText(holders: readonly LockHolder[]): string {
  return holders
    .map((h) => {
      const who = [h.user, h.application].filter((x) => x !== null && x !== '').join(', ');
      const state = h.state === null ? null : h.transactionSeconds === null ? h.state : `${h.state}, its transaction open ${Math.round(h.transactionSeconds)} s`;
      const parts = [who, state].filter((x) => x !== null && x !== '').join('; ');
      // Its string literals left out: another session's statement may hold a password or personal data, and this line is stored in the record.
      const query = h.query === null || h.query === '' ? '' : `: ${h.query.replace(/'(?:[^']|'')*'/g, "'...'").replace(/\s+/g, ' ').trim()}`;
      return `pid ${h.pid}${parts === '' ? '' : ` (${parts}${query})`}`;
    })
    .join(', ');
}

/** What the import waits for, in words. */
function waitedFor(wait: LockWait): string {
  const w = wait.waitingFor;
  if (w === null) return 'a lock';
  if (w.lockType === 'advisory') return "the table's import lock (another atlas import or undo of the table)";
  if (w.lockType === 'relation') return `a lock on table ${w.relation ?? '?'}`;
  if (w.lockType === 'tuple' || w.lockType === 'transactionid') return `a row ${w.relation === null ? '' : `of ${w.relation} `}that another transaction changed and has not committed`;
  return `a ${w.lockType} lock`;
}

/** The warning an import records after it waited: who held the lock and for how long at least. */
export function lockWaitWarning(wait: LockWait): string {
  return `waited at least ${wait.seconds} s for ${waitedFor(wait)} held by another session: ${lockHoldersText(wait.holders)}`;
}

/** The line said while the wait lasts; `what` waits (`the import`, `the undo`). */
export function lockWaitNotice(wait: LockWait, what = 'the import'): string {
  return `waiting ${wait.seconds} s so far for ${waitedFor(wait)} held by another session: ${lockHoldersText(wait.holders)}; ${what} goes on when that session's transaction ends`;
}
