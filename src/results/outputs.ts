// What a run can write (`--outputs`, BacktestOptions.outputs).

export const OUTPUTS = ['summary', 'signals', 'stats', 'trades', 'portfolio'] as const;
export type OutputKind = (typeof OUTPUTS)[number];
export const DEFAULT_OUTPUTS: readonly OutputKind[] = ['summary', 'stats'];
