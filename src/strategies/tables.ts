// The strategy-dependent output tables: signals (per-bar outputs), summary (their last values)
// and params (the strategy's parameters). The ATC's are results/schema.ts SIGNALS, SUMMARY and
// PARAMS; another strategy's are built here from its descriptor, with the same shape: stats,
// trades, portfolio and rejects do not depend on the strategy.

import { FLOAT_COLUMNS, LAST } from '../engine/batch.js';
import { col, opt, PARAMS, paramId, SIGNALS, SIGNALS_HEAD, SUMMARY, SUMMARY_HEAD, type TableSchema } from '../results/schema.js';
import type { Strategy } from './types.js';

export interface StrategyTables {
  /** 'atc' or the strategy's name */
  strategy: string;
  /** per-bar float planes of the slot, in signals column order */
  planes: readonly string[];
  /** signals.direction is NULL where the direction is 0 */
  zeroIsNull: boolean;
  signals: TableSchema;
  summary: TableSchema;
  params: TableSchema;
  /** summary columns taken from the last-values record, with their index in it */
  summaryLast: readonly { name: string; index: number }[];
}

/** snake_case of a camelCase parameter name (params.parquet's column). */
export const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const ATC_SUMMARY_LAST = SUMMARY.columns.map((c): string => c.name).filter((n): n is keyof typeof LAST => n in LAST);

export const ATC_TABLES: StrategyTables = {
  strategy: 'atc',
  planes: FLOAT_COLUMNS,
  zeroIsNull: true,
  signals: SIGNALS,
  summary: SUMMARY,
  params: PARAMS,
  summaryLast: ATC_SUMMARY_LAST.map((name) => ({ name, index: LAST[name] })),
};

/** The tables of a run of `strategy` (absent: the ATC). */
export function tablesOf(strategy: Strategy | undefined): StrategyTables {
  if (!strategy) return ATC_TABLES;
  const direction = strategy.zeroIsNull ? opt('direction', 'TINYINT', strategy.directionDoc) : col('direction', 'TINYINT', strategy.directionDoc);
  const outputs = strategy.outputs.map((o) => opt(o.name, 'DOUBLE', o.doc));
  const signals: TableSchema = {
    name: 'signals',
    file: SIGNALS.file,
    doc: `one row per bar (\`--outputs signals\`) of strategy ${strategy.name}; with \`--equity\` also position, strategy_return, equity`,
    columns: [...SIGNALS_HEAD, ...outputs, direction, paramId],
  };
  const summary: TableSchema = {
    name: 'summary',
    file: SUMMARY.file,
    doc: "one row per symbol and parameter set: the last bar's values",
    columns: [
      ...SUMMARY_HEAD,
      ...strategy.outputs.map((o) => opt(o.name, 'DOUBLE', `${o.doc} at the last bar`)),
      opt('direction', 'TINYINT', 'the direction at the last bar'),
      col('trend', 'VARCHAR', 'LONG if the last direction is 1, SHORT if -1, else NEUTRAL'),
      paramId,
    ],
  };
  const params: TableSchema = {
    name: 'params',
    file: PARAMS.file,
    doc: 'every parameter set of the run',
    columns: [
      col('param_id', 'VARCHAR', '12 hex digits of the sha256 of the canonical parameters'),
      col('strategy', 'VARCHAR', 'the strategy'),
      ...strategy.params.map((p) => col(snake(p.name), p.integer ? 'BIGINT' : 'DOUBLE', p.doc)),
      ...PARAMS.columns.filter((c) => c.name === 'mode' || c.name === 'fee_bps' || c.name === 'slippage_bps'),
    ],
  };
  return {
    strategy: strategy.name,
    planes: strategy.outputs.map((o) => o.name),
    zeroIsNull: strategy.zeroIsNull,
    signals,
    summary,
    params,
    summaryLast: [...strategy.outputs.map((o, index) => ({ name: o.name, index })), { name: 'direction', index: LAST.direction }],
  };
}
