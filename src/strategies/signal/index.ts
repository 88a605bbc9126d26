// Backtesting precomputed signals: a column of the input (+1 long, -1 short, 0 flat; NULL holds
// the previous value, flat before the first) is the trading direction. The loader has checked
// its values (InputCheck 'direction'); the state carries the value held across blocks.

import { StateError } from '../../errors.js';
import { fnv1a64, STATE_HEADER_BYTES } from '../../engine/plan.js';
import { checkRecord, type RecordFormat, writeRecordHeader } from '../../engine/state.js';
import type { Strategy } from '../types.js';

const MAGIC = 0x4c474953; // 'SIGL' read as little-endian u32
const STATE_BYTES = STATE_HEADER_BYTES + 8;

export const DEFAULT_SIGNAL_COL = 'signal';

/** The `signal` strategy reading column `col`. */
export function signalStrategy(col: string = DEFAULT_SIGNAL_COL): Strategy {
  const format: RecordFormat = { what: 'a signal state', magic: MAGIC, version: 1, payloadLength: 1, fingerprint: fnv1a64(new TextEncoder().encode(col)) };
  const read = (buf: Uint8Array, r: number): { bars: number; held: number } => {
    const { bars } = checkRecord(format, buf, r);
    const held = new DataView(buf.buffer, buf.byteOffset + r * STATE_BYTES + STATE_HEADER_BYTES, 8).getFloat64(0, true);
    if (!(held === 0 || held === 1 || held === -1)) throw new StateError('ATC_ERR_STATE_INVALID', `state record ${r}: corrupt payload`);
    return { bars, held };
  };
  const write = (buf: Uint8Array, r: number, bars: number, held: number): void => {
    writeRecordHeader(format, buf, r, bars);
    new DataView(buf.buffer, buf.byteOffset + r * STATE_BYTES + STATE_HEADER_BYTES, 8).setFloat64(0, held, true);
  };
  return {
    name: 'signal',
    version: 1,
    doc: `backtests the precomputed direction in column "${col}" (+1/-1/0; NULL holds the previous value)`,
    params: [],
    inputs: [
      { name: 'close', check: 'price' },
      { name: col, check: 'direction' },
    ],
    outputs: [],
    zeroIsNull: false,
    directionDoc: `the direction held: column "${col}" with NULLs filled by the previous value (0 before the first)`,
    minimumBars: () => 1,
    sourceHash: `col:${col}`,
    kernel: () => ({
      stateBytes: STATE_BYTES,
      freshStates(n) {
        const buf = new Uint8Array(n * STATE_BYTES);
        for (let r = 0; r < n; r++) write(buf, r, 0, 0);
        return buf;
      },
      stateBars: (buf, r) => read(buf, r).bars,
      run({ inputs, offsets, states, direction }) {
        const x = inputs[col] as Float64Array;
        for (let s = 0; s + 1 < offsets.length; s++) {
          const a = offsets[s] as number;
          const b = offsets[s + 1] as number;
          let { bars, held } = read(states, s);
          for (let j = a; j < b; j++) {
            const v = x[j] as number;
            if (v === v) held = v; // NaN (NULL) holds
            direction[j] = held;
          }
          bars += b - a;
          write(states, s, bars, held);
        }
      },
    }),
  };
}
