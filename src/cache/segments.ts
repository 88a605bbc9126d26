// The cache's segment files (<cache>/segments/*.parquet) and their integrity. A segment is
// content-addressed: named by the sha256 of its bytes, which is checked (once per process)
// before any entry in it is used; a segment that fails (altered, truncated) or cannot be read
// is reported, dropped and its entries recomputed, never used. Segments are written under a
// temporary name and renamed (adopt): a segment is whole or absent.

import { createHash, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sqlString } from '../data/duckdb.js';
import { AtcError } from '../errors.js';
import { emptyRelation } from '../results/schema.js';
import { SEGMENT_COLUMNS } from './entries.js';

/** Segments hashed ahead of a lookup, at most this many bytes of them. */
const SPECULATIVE_BYTES = 64 << 20;

export class Segments {
  /** segments found corrupt and dropped while this store was open */
  readonly dropped: string[] = [];
  /** segments whose bytes matched their name in this process */
  private readonly verified = new Set<string>();
  /** hashes in flight */
  private readonly hashing = new Map<string, Promise<string | undefined>>();

  constructor(
    readonly dir: string,
    private readonly log: (m: string) => void,
  ) {}

  files(): string[] {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.parquet') && !n.startsWith('.'))
      .sort()
      .map((n) => join(this.dir, n));
  }

  /** Drop a segment found corrupt (its entries will be recomputed). */
  drop(file: string, why: string): void {
    this.log(`cache: ${file} is corrupt (${why}): dropped; its entries will be recomputed`);
    rmSync(file, { force: true });
    this.dropped.push(file);
  }

  /**
   * The entries as a relation (with `filename`), empty with the ATC's columns when there are
   * none. Segments of different strategies hold different value columns: read by name.
   */
  sql(files = this.files()): string {
    if (files.length > 0) return `read_parquet([${files.map(sqlString).join(', ')}], filename = true, union_by_name = true)`;
    return emptyRelation([...SEGMENT_COLUMNS, { name: 'filename', type: 'VARCHAR', nullable: false, doc: '' }]);
  }

  /** The sha256 of a file, hashed off the main thread (undefined: gone or unreadable). */
  private hash(f: string): Promise<string | undefined> {
    let p = this.hashing.get(f);
    if (!p) {
      p = readFile(f)
        .then((b) => webcrypto.subtle.digest('SHA-256', b))
        .then((d) => Buffer.from(d).toString('hex'))
        .catch(() => undefined);
      this.hashing.set(f, p);
    }
    return p;
  }

  /** Check segments against their names, once per process; drop those that fail. Returns the files dropped. */
  async verify(files: Iterable<string>): Promise<string[]> {
    const todo = [...new Set(files)].filter((f) => !this.verified.has(f));
    const shas: (string | undefined)[] = [];
    // a few at a time: memory holds those files
    for (let i = 0; i < todo.length; i += 4) shas.push(...(await Promise.all(todo.slice(i, i + 4).map((f) => this.hash(f)))));
    const bad: string[] = [];
    todo.forEach((f, i) => {
      const sha = shas[i];
      this.hashing.delete(f);
      if (sha === basename(f, '.parquet')) this.verified.add(f);
      else {
        this.drop(f, sha === undefined ? 'cannot be read' : 'its bytes do not match its sha256');
        bad.push(f);
      }
    });
    return bad;
  }

  /**
   * Run `query` over the segments until every segment it used (its result's `files`) is
   * verified: a segment that fails (or cannot be read) is dropped and the query run again.
   */
  async query<T extends { files: string[] }>(query: (segments: string) => Promise<T>): Promise<T> {
    for (;;) {
      const files = this.files();
      // A small cache is hashed while the query runs (a segment it turns out not to use costs
      // a little work); a large one only where used.
      let bytes = 0;
      for (const f of files) if (!this.verified.has(f) && (bytes += statSync(f, { throwIfNoEntry: false })?.size ?? 0) <= SPECULATIVE_BYTES) void this.hash(f);
      let r: T;
      try {
        r = await query(this.sql(files));
      } catch (e) {
        if ((await this.verify(files)).length === 0) throw new AtcError('ATC_ERR_CACHE', `${this.dir}: ${(e as Error).message}`, { cause: e });
        continue;
      }
      if ((await this.verify(r.files)).length === 0) return r;
    }
  }

  /** Move a finished segment file into place under its sha256. */
  adopt(tmp: string): string {
    const file = join(this.dir, `${createHash('sha256').update(readFileSync(tmp)).digest('hex')}.parquet`);
    renameSync(tmp, file);
    this.verified.add(file);
    return file;
  }
}
