// A user strategy: long while the fast simple moving average of the close is above the slow one,
// short while it is below, flat until both exist (or when they are equal).
//
//   npx atc run --strategy examples/strategies/sma-cross.js --param fast=5:20:5 --param slow=50
//
// The pipeline calls step() once per block of one symbol's bars, carrying the state it returns
// to the symbol's next block: the state (here the last `max(fast, slow)` closes and two running
// sums) must be structured-clonable and hold everything the next bar needs, so that the results
// do not depend on how the symbol was cut into blocks.

export default {
  name: 'sma-cross',
  version: 1,
  params: {
    fast: { default: 10, min: 1, max: 400, integer: true },
    slow: { default: 30, min: 1, max: 400, integer: true },
  },
  inputs: ['close'],
  outputs: ['fast_ma', 'slow_ma'],

  init() {
    return { win: [], sumFast: 0, sumSlow: 0 };
  },

  step(state, p, input, out) {
    const { close } = input;
    const keep = Math.max(p.fast, p.slow);
    const { win } = state;
    for (let i = 0; i < close.length; i++) {
      const x = close[i];
      win.push(x);
      state.sumFast += x;
      state.sumSlow += x;
      const n = win.length;
      if (n > p.fast) state.sumFast -= win[n - 1 - p.fast];
      if (n > p.slow) state.sumSlow -= win[n - 1 - p.slow];
      if (n > keep) win.shift();
      const fast = n >= p.fast ? state.sumFast / p.fast : NaN;
      const slow = n >= p.slow ? state.sumSlow / p.slow : NaN;
      out.fast_ma[i] = fast;
      out.slow_ma[i] = slow;
      out.direction[i] = fast > slow ? 1 : fast < slow ? -1 : 0;
    }
    return state;
  },
};
