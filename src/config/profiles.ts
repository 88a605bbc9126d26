// The two semantics the kernel ships (spec section 2). Every difference between the Pine
// script and the Python port is one named switch; a profile is a set of switches. The kernels
// receive the switches as a bit mask, so a profile is defined here and nowhere else.

export type Profile = 'pine' | 'seed';
export const PROFILES: readonly Profile[] = ['pine', 'seed'];

export interface ProfileSwitches {
  /** D2: "HMA" is a plain SMA (Pine) or a true Hull MA (seed). */
  hma: 'sma' | 'hull';
  /** D1: Average_Signal cuts Layer-1 signals at +-0.49 (Pine) or at the long/short thresholds (seed). */
  cut: 'fixed-0.49' | 'thresholds';
  /** D3: KAMA starts from 0 via nz() (Pine) or from close[0], flat until bar length (seed). */
  kamaStart: 'zero' | 'first-close';
  /** D4: LSMA value at the newest bar (Pine) or one slope earlier, pandas_ta 0.3.14b (seed). */
  lsmaPoint: 'newest' | 'second-newest';
  /** D5: DEMA's inner EMA seeded with mean(e1[l-1..2l-2]) (Pine) or with e1[l-1] (seed). */
  demaSeed: 'mean' | 'first';
  /** D6: Layer-2 `var a` keeps its value when the previous signal is 0/na (Pine) or resets to 0 (seed). */
  layer2A: 'keep' | 'reset';
  /** D7: Layer-1 rounding: floor(x*100+0.5)/100 (Pine) or round half to even (seed). */
  rounding: 'half-up' | 'half-even';
  /** D8: rate of change (c-c1)/c1 (Pine) or c/c1-1 (seed). */
  roc: 'diff' | 'ratio';
  /** D10: Average_Signal before the cutout (and any na/inf) is na (Pine) or 0 (seed). */
  averageNa: 'na' | 'zero';
}

const PINE: ProfileSwitches = {
  hma: 'sma',
  cut: 'fixed-0.49',
  kamaStart: 'zero',
  lsmaPoint: 'newest',
  demaSeed: 'mean',
  layer2A: 'keep',
  rounding: 'half-up',
  roc: 'diff',
  averageNa: 'na',
};

const SEED: ProfileSwitches = {
  hma: 'hull',
  cut: 'thresholds',
  kamaStart: 'first-close',
  lsmaPoint: 'second-newest',
  demaSeed: 'first',
  layer2A: 'reset',
  rounding: 'half-even',
  roc: 'ratio',
  averageNa: 'zero',
};

export function profileSwitches(profile: Profile): ProfileSwitches {
  return profile === 'pine' ? PINE : SEED;
}

/** Bit positions shared with the Rust kernel (`kernels/core/src/plan.rs`, `Switches`). */
export const SWITCH_BITS = {
  hmaHull: 1 << 0,
  cutAtThresholds: 1 << 1,
  kamaFirstClose: 1 << 2,
  lsmaSecondNewest: 1 << 3,
  demaSeedFirst: 1 << 4,
  layer2ResetA: 1 << 5,
  roundHalfEven: 1 << 6,
  rocRatio: 1 << 7,
  averageNaZero: 1 << 8,
} as const;

export function switchMask(s: ProfileSwitches): number {
  let m = 0;
  if (s.hma === 'hull') m |= SWITCH_BITS.hmaHull;
  if (s.cut === 'thresholds') m |= SWITCH_BITS.cutAtThresholds;
  if (s.kamaStart === 'first-close') m |= SWITCH_BITS.kamaFirstClose;
  if (s.lsmaPoint === 'second-newest') m |= SWITCH_BITS.lsmaSecondNewest;
  if (s.demaSeed === 'first') m |= SWITCH_BITS.demaSeedFirst;
  if (s.layer2A === 'reset') m |= SWITCH_BITS.layer2ResetA;
  if (s.rounding === 'half-even') m |= SWITCH_BITS.roundHalfEven;
  if (s.roc === 'ratio') m |= SWITCH_BITS.rocRatio;
  if (s.averageNa === 'zero') m |= SWITCH_BITS.averageNaZero;
  return m;
}
