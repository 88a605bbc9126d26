// A plan is everything the kernels derive from one parameter set: the 54 MA lengths, the
// scaled constants, and the layout of the serialised per-symbol state. The Rust kernel derives
// the same plan from the same wire vector (kernels/core/src/plan.rs); tests compare the two.
//
// Serialised state = 32-byte header + payload of f64 (little endian):
//   header: 'ATCS' | u16 version | u16 0 | u32 payload length | u32 0 | u64 fingerprint | u64 bars
//   payload (in this order, NaN = na):
//     hist[H]        last H = maxLen+1 closes, oldest first (NaN-padded while fewer bars seen)
//     ema[9], demaE1[9], demaE2[9], demaAcc[9], kama[9]   recurrences, per length of that type
//     hull[sum q]    seed only: last q = floor(sqrt(l)) Hull inputs per HMA length, oldest first
//     maPrev[54], sig[54], eq1[54]   per MA (type-major, diflen order): MA at the previous bar,
//                    persistent crossover signal, Layer-1 equity
//     xsigPrev[6], eq2[6], a2[6]     per type: previous X_Signal, Layer-2 equity, Layer-2 `var a`
//     avgPrev, direction
// Everything else a kernel keeps (running window sums) is rebuilt from hist on restore.

import { type AtcParams, encodeParams, MA_TYPES, maLengths } from '../config/params.js';
import { type ProfileSwitches, profileSwitches } from '../config/profiles.js';

export const STATE_MAGIC = 0x53435441; // 'ATCS' read as little-endian u32
export const STATE_VERSION = 1;
export const STATE_HEADER_BYTES = 32;
export const N_TYPES = MA_TYPES.length;
export const N_LEN = 9;
export const N_MA = N_TYPES * N_LEN;

export interface StateLayout {
  hist: number;
  ema: number;
  demaE1: number;
  demaE2: number;
  demaAcc: number;
  kama: number;
  hull: number;
  maPrev: number;
  sig: number;
  eq1: number;
  xsigPrev: number;
  eq2: number;
  a2: number;
  avgPrev: number;
  direction: number;
  /** payload length in f64 */
  size: number;
}

export interface Plan {
  params: AtcParams;
  switches: ProfileSwitches;
  wire: Float64Array;
  /** 6 x 9 lengths */
  lens: number[][];
  maxLen: number;
  /** history length kept in the state: maxLen + 1 (KAMA's signal reads close[i - l]) */
  histLen: number;
  /** floor(sqrt(l)) per HMA length (seed Hull), else zeros */
  hullQ: number[];
  la: number;
  d: number;
  layout: StateLayout;
  stateBytes: number;
  fingerprint: bigint;
}

export function createPlan(params: AtcParams): Plan {
  const switches = profileSwitches(params.profile);
  const lens = maLengths(params);
  const maxLen = Math.max(...lens.flat());
  const histLen = maxLen + 1;
  const hullQ = (lens[1] as number[]).map((l) => (switches.hma === 'hull' ? Math.floor(Math.sqrt(l)) : 0));
  let at = 0;
  const take = (n: number): number => {
    const o = at;
    at += n;
    return o;
  };
  const layout: StateLayout = {
    hist: take(histLen),
    ema: take(N_LEN),
    demaE1: take(N_LEN),
    demaE2: take(N_LEN),
    demaAcc: take(N_LEN),
    kama: take(N_LEN),
    hull: take(hullQ.reduce((a, b) => a + b, 0)),
    maPrev: take(N_MA),
    sig: take(N_MA),
    eq1: take(N_MA),
    xsigPrev: take(N_TYPES),
    eq2: take(N_TYPES),
    a2: take(N_TYPES),
    avgPrev: take(1),
    direction: take(1),
    size: 0,
  };
  layout.size = at;
  const wire = encodeParams(params);
  return {
    params,
    switches,
    wire,
    lens,
    maxLen,
    histLen,
    hullQ,
    la: params.lambda / 1000,
    d: 1 - params.decay / 100,
    layout,
    stateBytes: STATE_HEADER_BYTES + layout.size * 8,
    fingerprint: fnv1a64(new Uint8Array(wire.buffer, wire.byteOffset, wire.byteLength)),
  };
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

export function fnv1a64(bytes: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  return h;
}
