// Supertrend as a strategy: TradingView's ta.supertrend(factor, atrPeriod) over high, low and
// close (kernel.ts, ../shared/spec/supertrend.md); its trading direction is NULL (no position)
// until Pine's direction first changes, then +1 while Pine's direction is -1 (uptrend) and -1
// while it is 1.

import type { Strategy } from '../types.js';
import { MAX_ATR_PERIOD, readState, STATE_BYTES, supertrendEngine, freshStates, supertrendParams, SUPERTREND_DEFAULTS } from './kernel.js';

export const SUPERTREND: Strategy = {
  name: 'supertrend',
  version: 1,
  doc: "TradingView's ta.supertrend(factor, atrPeriod): long in its uptrend, short in its downtrend",
  params: [
    { name: 'factor', default: SUPERTREND_DEFAULTS.factor, min: Number.MIN_VALUE, max: 1e6, doc: `multiplier of the ATR for the bands [${SUPERTREND_DEFAULTS.factor}]` },
    { name: 'atrPeriod', default: SUPERTREND_DEFAULTS.atrPeriod, min: 1, max: MAX_ATR_PERIOD, integer: true, doc: `ATR length (Wilder's RMA) [${SUPERTREND_DEFAULTS.atrPeriod}]` },
  ],
  inputs: [
    { name: 'high', check: 'price' },
    { name: 'low', check: 'price' },
    { name: 'close', check: 'price' },
  ],
  outputs: [
    { name: 'supertrend', doc: 'the Supertrend line (NULL: na during the ATR warm-up)' },
    { name: 'atr', doc: 'the ATR (NULL before its seed)' },
  ],
  zeroIsNull: true,
  directionDoc: "the trading direction: NULL until Pine's direction first changes, then 1 in an uptrend, -1 in a downtrend",
  // the first bar whose direction can change is the ATR's seed bar
  minimumBars: (v) => v.atrPeriod as number,
  kernel(values, engine) {
    const p = supertrendParams({ factor: values.factor, atrPeriod: values.atrPeriod });
    const block = supertrendEngine(engine);
    return {
      stateBytes: STATE_BYTES,
      freshStates: (n) => freshStates(p, n),
      stateBars: (buf, r) => readState(p, buf, r).bars,
      run: ({ inputs, offsets, states, planes, direction }) =>
        block(p, { high: inputs.high as Float64Array, low: inputs.low as Float64Array, close: inputs.close as Float64Array, offsets, stateIn: states, stateOut: states, supertrend: planes[0], atr: planes[1], trade: direction }),
    };
  },
};
