// One schema table per output: the files a run writes have exactly the declared columns and
// types, the views answer with them, and the README's column lists are generated from them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backtest } from '../../src/api/backtest.js';
import { RESULT_TABLES, schemaMarkdown, SIGNALS } from '../../src/results/schema.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { query } from '../helpers/golden.js';

describe('result schemas', () => {
  it('every file a run writes has the declared columns, types and nullability', async () => {
    const out = join(tempDir(), 'run');
    await backtest({ out, outputs: ['summary', 'signals', 'stats', 'trades', 'portfolio'], cache: false, logger: () => undefined, params: { mode: 'long-only' } });
    for (const t of RESULT_TABLES) {
      const files = t === SIGNALS ? `${out}/signals/*.parquet` : join(out, t.file);
      const cols = await query(`DESCRIBE SELECT * FROM read_parquet('${files}')`);
      expect(cols.map((c) => [c.column_name, c.column_type]), t.name).toEqual(t.columns.map((c) => [c.name, c.type]));
      // a column declared NOT NULL holds no NULL
      const strict = t.columns.filter((c) => !c.nullable).map((c) => `count(*) FILTER (WHERE "${c.name}" IS NULL)`);
      const [nulls] = await query(`SELECT ${strict.join(' + ')} AS n FROM read_parquet('${files}')`);
      expect(Number(nulls?.n), t.name).toBe(0);
    }
  });

  it("the README's column lists are generated from the declarations (npm run docs)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const begin = '<!-- schema:begin (npm run docs) -->\n';
    const body = readme.slice(readme.indexOf(begin) + begin.length, readme.indexOf('<!-- schema:end -->'));
    expect(body).toBe(schemaMarkdown());
  });
});
