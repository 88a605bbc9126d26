// A real redis-server for the distributed tests: on a free loopback port, append-only (a
// restart keeps the queue), maxmemory-policy noeviction (as BullMQ requires).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';

export function redisServerPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new Socket();
    c.setTimeout(500);
    c.once('data', (d) => {
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    c.once('error', () => resolve(false));
    c.once('timeout', () => {
      c.destroy();
      resolve(false);
    });
    c.connect(port, '127.0.0.1', () => c.write('PING\r\n'));
  });
}

export class RedisServer {
  private proc: ChildProcess | undefined;
  private constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  static async start(bin: string, dir: string): Promise<RedisServer> {
    const r = new RedisServer(bin, await freePort(), dir);
    await r.up();
    return r;
  }

  private async up(): Promise<void> {
    this.proc = spawn(this.bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${this.port}`);
  }

  /** Stop (SIGTERM: a clean shutdown) and wait for the process to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
    this.proc = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.up();
  }
}
