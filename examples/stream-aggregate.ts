// Per-bar outputs streamed as Arrow record batches while the run goes, folded into a running
// aggregate (bars long, short and flat per symbol, and the mean Average_Signal) without
// writing or keeping them: memory stays at one batch whatever the data size.
//
//   node dist/examples/stream-aggregate.js

import { streamSignals } from 'atc-backtest';

interface Agg {
  bars: number;
  long: number;
  short: number;
  signalSum: number;
  signalBars: number;
}
const bySymbol = new Map<string, Agg>();
let batches = 0;
for await (const batch of streamSignals({ chunkBars: 8_192 })) {
  batches++;
  const symbol = batch.getChild('symbol');
  const direction = batch.getChild('direction');
  const signal = batch.getChild('Average_Signal');
  for (let i = 0; i < batch.numRows; i++) {
    const s = symbol?.get(i) as string;
    const a = bySymbol.get(s) ?? { bars: 0, long: 0, short: 0, signalSum: 0, signalBars: 0 };
    a.bars++;
    const d = direction?.get(i) as number | null;
    if (d === 1) a.long++;
    else if (d === -1) a.short++;
    const v = signal?.get(i) as number | null;
    if (v !== null) {
      a.signalSum += v;
      a.signalBars++;
    }
    bySymbol.set(s, a);
  }
  // the batch views the worker's buffers: it is not kept past this iteration
}
const symbols = Object.fromEntries([...bySymbol].map(([s, a]) => [s, { bars: a.bars, long: a.long, short: a.short, meanSignal: a.signalSum / a.signalBars }]));
console.log(JSON.stringify({ batches, symbols }));
