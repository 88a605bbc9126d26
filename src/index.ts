// The public API of atc-backtest. Everything exported here is supported; everything else is
// internal and may change.

// Running jobs
export { backtest, warm } from './api/backtest.js';
export type { BacktestOptions, WarmOptions, WarmReport } from './api/backtest.js';
export type { RunReport, CacheReport, StageSeconds } from './pipeline/run.js';
export type { ProgressEvent } from './pipeline/progress.js';
export type { JobOptions, ParamValue, ParamValues, CamelGridKey as ParamName } from './config/options.js';

// Reading results
export { openResults } from './api/results.js';
export type { Results, ReadOptions } from './api/results.js';
export { streamSignals, signalsSchema } from './api/stream.js';
export type { StreamOptions } from './api/stream.js';

// Result schemas: one declaration per table
export { SIGNALS, SUMMARY, STATS, TRADES, PORTFOLIO, PORTFOLIO_STATS, PARAMS, REJECTS, EQUITY_COLUMNS, RESULT_TABLES } from './results/schema.js';
export type {
  Column,
  TableSchema,
  SqlType,
  RowOf,
  SignalRow,
  SummaryRow,
  StatsRow,
  TradeRow,
  PortfolioRow,
  PortfolioStatsRow,
  ParamsRow,
  RejectRow,
} from './results/schema.js';
export { OUTPUTS } from './results/outputs.js';
export type { OutputKind } from './results/outputs.js';

// Parameters and choices
export { DEFAULT_PARAMS, MA_TYPES, ROBUSTNESS } from './config/params.js';
export type { AtcParams, Robustness } from './config/params.js';
export { PROFILES } from './config/profiles.js';
export type { Profile } from './config/profiles.js';
export { MODES } from './backtest/accounting.js';
export type { Mode } from './backtest/accounting.js';
export { BAD_ROW_POLICIES } from './stages/load/index.js';
export type { BadRowPolicy } from './stages/load/index.js';
export { ENGINE_REQUESTS, selectEngine } from './engine/select.js';
export type { EngineRequest, EngineName, EngineChoice } from './engine/select.js';
export { KERNEL_VERSION } from './engine/native.js';
export { sampleDataset } from '../datasets/index.js';

// Strategies: built-in names, user modules, the contract
export { STRATEGIES } from './strategies/registry.js';
export { tablesOf } from './strategies/tables.js';
export type { StrategyTables } from './strategies/tables.js';
export { loadUserStrategy as loadStrategy } from './strategies/user/index.js';
export type { Strategy, StrategyParam, StrategyInput, InputCheck, SignalKernel, SignalBlock } from './strategies/types.js';

// Errors: every error has a stable `code` (ATC_ERR_*)
export {
  AtcError,
  AbortError,
  ArgumentError,
  DataError,
  EngineUnavailableError,
  KernelLayoutError,
  ParamError,
  SeriesError,
  StateError,
  StrategyError,
  UsageError,
  isAtcError,
} from './errors.js';
export type { AtcErrorCode } from './errors.js';
