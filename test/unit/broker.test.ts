import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkBroker, connection, parseQueueUrl } from '../../src/distributed/broker.js';

describe('queue URLs', () => {
  it('parses host, port, db and credentials; messages name the broker without its password', () => {
    const u = parseQueueUrl('redis://user:s%40cret@10.0.0.5:6380/3');
    expect(u).toMatchObject({ host: '10.0.0.5', port: 6380, db: 3, username: 'user', password: 's@cret', tls: false });
    expect(u.display).toBe('redis://10.0.0.5:6380/3');
    expect(connection(u)).toMatchObject({ password: 's@cret', maxRetriesPerRequest: null });
    expect(parseQueueUrl('rediss://h').display).toBe('rediss://h:6379/0');
  });

  it('refuses what is not a redis URL', () => {
    expect(() => parseQueueUrl('http://h:1')).toThrow(/redis:\/\//);
    expect(() => parseQueueUrl('redis://h:1/x')).toThrow(/database must be a number/);
    expect(() => parseQueueUrl('not a url')).toThrow(/--queue/);
  });

  it('an unreachable broker is ATC_ERR_QUEUE, and the error does not carry the password', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const err = await checkBroker(parseQueueUrl(`redis://:topsecret@127.0.0.1:${port}/0`)).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'ATC_ERR_QUEUE' });
    expect(err?.message).toContain(`127.0.0.1:${port}`);
    expect(err?.message).not.toContain('topsecret');
  });
});
