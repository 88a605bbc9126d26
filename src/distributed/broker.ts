// The broker: Redis, as BullMQ needs it. A queue URL is redis://[user:password@]host:port[/db]
// (rediss:// for TLS); its password goes to the connection only: messages name the broker by
// `display`, which has none.

import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { AtcError, UsageError } from '../errors.js';

export interface QueueUrl {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  /** the URL without credentials (for messages) */
  display: string;
}

export function parseQueueUrl(text: string): QueueUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError('--queue must be a URL redis://host:port[/db]');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--queue must be a redis:// or rediss:// URL, got ${u.protocol}//...`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`--queue: the database must be a number (redis://host:port/0), got /${path}`);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return {
    host,
    port,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:',
    display: `${u.protocol}//${u.hostname}:${port}/${db}`,
  };
}

/** ioredis options for BullMQ: commands wait across reconnects (a Redis restart) instead of failing. */
export function connection(u: QueueUrl): RedisOptions {
  return {
    host: u.host,
    port: u.port,
    db: u.db,
    ...(u.username ? { username: u.username } : {}),
    ...(u.password ? { password: u.password } : {}),
    ...(u.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/**
 * Reach the broker and check that it keeps every key (maxmemory-policy noeviction: BullMQ's
 * state must never be evicted). ATC_ERR_QUEUE otherwise.
 */
export async function checkBroker(u: QueueUrl): Promise<void> {
  const r = new Redis({ ...connection(u), maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, connectTimeout: 5000 });
  r.on('error', () => undefined); // reported by the command that fails
  try {
    await r.connect();
    const info = String(await r.info('memory'));
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    if (policy && policy !== 'noeviction') {
      throw new AtcError('ATC_ERR_QUEUE', `the broker ${u.display} has maxmemory-policy ${policy}: BullMQ needs noeviction (redis-server --maxmemory-policy noeviction, or CONFIG SET maxmemory-policy noeviction)`);
    }
  } catch (e) {
    if (e instanceof AtcError) throw e;
    throw new AtcError('ATC_ERR_QUEUE', `cannot reach the broker ${u.display}: ${(e as Error).message}`);
  } finally {
    r.disconnect();
  }
}
