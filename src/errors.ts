// Error classes with stable codes. Callers and tests branch on `code`, never on the wording.

export type AtcErrorCode =
  | 'ATC_ERR_INVALID_PARAM'
  | 'ATC_ERR_INVALID_ARGUMENT'
  | 'ATC_ERR_BAD_CLOSE'
  | 'ATC_ERR_BAD_VALUE'
  | 'ATC_ERR_EMPTY_SERIES'
  | 'ATC_ERR_TOO_FEW_BARS'
  | 'ATC_ERR_STATE_INVALID'
  | 'ATC_ERR_STATE_MISMATCH'
  | 'ATC_ERR_ENGINE_UNAVAILABLE'
  | 'ATC_ERR_KERNEL_LAYOUT'
  | 'ATC_ERR_NATIVE_PANIC'
  | 'ATC_ERR_MISSING_COLUMN'
  | 'ATC_ERR_COLUMN_TYPE'
  | 'ATC_ERR_UNSORTED_TS'
  | 'ATC_ERR_UNSORTED_SYMBOLS'
  | 'ATC_ERR_DUPLICATE_TS'
  | 'ATC_ERR_NULL_VALUE'
  | 'ATC_ERR_DATA_READ'
  | 'ATC_ERR_OUTPUT_EXISTS'
  | 'ATC_ERR_OUTPUT_BUSY'
  | 'ATC_ERR_OUTPUT_PATH'
  | 'ATC_ERR_NO_BARS'
  | 'ATC_ERR_DISK_FULL'
  | 'ATC_ERR_WORKER'
  | 'ATC_ERR_SQL'
  | 'ATC_ERR_CACHE'
  | 'ATC_ERR_CACHE_BUSY'
  | 'ATC_ERR_USAGE'
  | 'ATC_ERR_STRATEGY'
  | 'ATC_ERR_ABORTED'
  | 'ATC_ERR_SHARD_FAILED'
  | 'ATC_ERR_MERGE'
  | 'ATC_ERR_QUEUE';

export class AtcError extends Error {
  readonly code: AtcErrorCode;
  constructor(code: AtcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A parameter outside its documented domain. `param` is the user-facing name. */
export class ParamError extends AtcError {
  readonly param: string;
  constructor(param: string, message: string) {
    super('ATC_ERR_INVALID_PARAM', message);
    this.param = param;
  }
}

/** A user strategy module that cannot be loaded, or whose code throws or returns nonsense. */
export class StrategyError extends AtcError {
  readonly strategy: string;
  constructor(strategy: string, message: string, options?: { cause?: unknown }) {
    super('ATC_ERR_STRATEGY', message, options);
    this.strategy = strategy;
  }
}

/** Wrong buffers or shapes handed to a kernel (a programming error in the caller). */
export class ArgumentError extends AtcError {
  constructor(message: string) {
    super('ATC_ERR_INVALID_ARGUMENT', message);
  }
}

/** Bad input series: a non-finite or non-positive close, a non-finite value of another input
 *  column, an empty or too short series. */
export class SeriesError extends AtcError {
  /** Index of the series inside the batch. */
  readonly series: number;
  /** Absolute bar index inside that series (bars already carried in its state included); -1 if not about a bar. */
  readonly bar: number;
  /** Symbol name when the caller knew it. */
  readonly symbol: string | undefined;
  /** The input column of a bad value (ATC_ERR_BAD_VALUE). */
  readonly column: string | undefined;
  constructor(
    code: 'ATC_ERR_BAD_CLOSE' | 'ATC_ERR_BAD_VALUE' | 'ATC_ERR_EMPTY_SERIES' | 'ATC_ERR_TOO_FEW_BARS',
    message: string,
    where: { series: number; bar?: number; symbol?: string; column?: string },
  ) {
    super(code, message);
    this.series = where.series;
    this.bar = where.bar ?? -1;
    this.symbol = where.symbol;
    this.column = where.column;
  }
}

/** A serialised kernel state that is corrupt, of another version, or made for other parameters. */
export class StateError extends AtcError {
  constructor(code: 'ATC_ERR_STATE_INVALID' | 'ATC_ERR_STATE_MISMATCH', message: string) {
    super(code, message);
  }
}

/** Input data that cannot be used as bars (missing columns, wrong types, unsorted, nulls). */
export class DataError extends AtcError {
  readonly file: string | undefined;
  readonly symbol: string | undefined;
  readonly ts: string | undefined;
  constructor(
    code: AtcErrorCode,
    message: string,
    where: { file?: string; symbol?: string; ts?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.file = where.file;
    this.symbol = where.symbol;
    this.ts = where.ts;
  }
}

export class EngineUnavailableError extends AtcError {
  constructor(message: string) {
    super('ATC_ERR_ENGINE_UNAVAILABLE', message);
  }
}

export class UsageError extends AtcError {
  /** the command line whose help page the CLI points to, e.g. `atc cache` */
  command?: string;
  constructor(message: string) {
    super('ATC_ERR_USAGE', message);
  }
}

/** A native kernel whose record layouts differ from this code's (a stale or foreign build). */
export class KernelLayoutError extends AtcError {
  /** the layout field that differs, e.g. `account.fields` */
  readonly field: string;
  constructor(field: string, message: string) {
    super('ATC_ERR_KERNEL_LAYOUT', message);
    this.field = field;
  }
}

/** A job stopped by its AbortSignal: what finished is committed, and a rerun resumes. */
export class AbortError extends AtcError {
  constructor(reason?: unknown) {
    super('ATC_ERR_ABORTED', `aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}; finished chunks are committed, run again to resume`);
  }
}

export function isAtcError(e: unknown): e is AtcError {
  return e instanceof AtcError;
}
