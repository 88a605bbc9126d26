// ATC parameters in the spec's user-facing units (spec 1.1), their defaults, validation and
// the derived per-MA lengths (spec 1.4). The kernels receive `encodeParams()`.

import { ParamError } from '../errors.js';
import { type Profile, PROFILES, profileSwitches, switchMask } from './profiles.js';

export const MA_TYPES = ['EMA', 'HMA', 'WMA', 'DEMA', 'LSMA', 'KAMA'] as const;
export type MaType = (typeof MA_TYPES)[number];
export type Six = readonly [number, number, number, number, number, number];

export type Robustness = 'Narrow' | 'Medium' | 'Wide';
export const ROBUSTNESS: readonly Robustness[] = ['Narrow', 'Medium', 'Wide'];

/** Offsets o1..o4 per robustness (spec 1.4). */
const OFFSETS: Record<Robustness, readonly [number, number, number, number]> = {
  Narrow: [1, 2, 3, 4],
  Medium: [1, 2, 4, 6],
  Wide: [1, 3, 5, 7],
};

export interface AtcParams {
  profile: Profile;
  robustness: Robustness;
  /** Pine `La`; the math uses lambda / 1000. */
  lambda: number;
  /** Pine `De` in percent; the math uses decay / 100. */
  decay: number;
  /** Bars skipped before the equity curves start. */
  cutout: number;
  /** Base length L per MA type, order EMA, HMA, WMA, DEMA, LSMA, KAMA. */
  lengths: Six;
  /** Layer-2 starting equity per MA type, same order. */
  weights: Six;
  longThreshold: number;
  shortThreshold: number;
}

export const DEFAULT_PARAMS: Readonly<AtcParams> = Object.freeze({
  profile: 'pine',
  robustness: 'Medium',
  lambda: 0.02,
  decay: 0.03,
  cutout: 0,
  lengths: [28, 28, 28, 28, 28, 28] as const,
  weights: [1, 1, 1, 1, 1, 1] as const,
  longThreshold: 0.1,
  shortThreshold: -0.1,
});

/** Documented domains. Wider than Pine's input widgets where the math stays meaningful. */
export const LIMITS = {
  lambda: [0, 1],
  decay: [0, 100],
  cutout: [0, 100_000_000],
  length: [1, 2000],
  weight: [Number.MIN_VALUE, 1e6],
  threshold: [-1, 1],
} as const;

export type ParamsInput = Partial<Omit<AtcParams, 'lengths' | 'weights'>> & {
  lengths?: number | readonly number[];
  weights?: number | readonly number[];
};

function six(name: string, v: number | readonly number[] | undefined, dflt: Six): Six {
  if (v === undefined) return dflt;
  const arr = typeof v === 'number' ? [v, v, v, v, v, v] : [...v];
  if (arr.length === 1) {
    const x = arr[0] as number;
    return [x, x, x, x, x, x];
  }
  if (arr.length !== 6) {
    throw new ParamError(name, `params.${name} must be one number or six (EMA,HMA,WMA,DEMA,LSMA,KAMA), got ${arr.length}`);
  }
  return arr as unknown as Six;
}

function checkRange(name: string, v: unknown, [lo, hi]: readonly [number, number], integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ParamError(name, `params.${name} must be a finite number, got ${String(v)}`);
  }
  if (integer && !Number.isInteger(v)) {
    throw new ParamError(name, `params.${name} must be an integer, got ${v}`);
  }
  if (v < lo || v > hi) {
    throw new ParamError(name, `params.${name} must be in [${lo}, ${hi}], got ${v}`);
  }
  return v;
}

/** Fill defaults and validate. Throws ParamError (ATC_ERR_INVALID_PARAM) naming the parameter. */
export function resolveParams(input: ParamsInput = {}): AtcParams {
  const profile = input.profile ?? DEFAULT_PARAMS.profile;
  if (!PROFILES.includes(profile)) {
    throw new ParamError('profile', `params.profile must be one of ${PROFILES.join('|')}, got ${String(profile)}`);
  }
  const robustness = input.robustness ?? DEFAULT_PARAMS.robustness;
  if (!ROBUSTNESS.includes(robustness)) {
    throw new ParamError('robustness', `params.robustness must be one of ${ROBUSTNESS.join('|')}, got ${String(robustness)}`);
  }
  const p: AtcParams = {
    profile,
    robustness,
    lambda: checkRange('lambda', input.lambda ?? DEFAULT_PARAMS.lambda, LIMITS.lambda),
    decay: checkRange('decay', input.decay ?? DEFAULT_PARAMS.decay, LIMITS.decay),
    cutout: checkRange('cutout', input.cutout ?? DEFAULT_PARAMS.cutout, LIMITS.cutout, true),
    lengths: six('lengths', input.lengths, DEFAULT_PARAMS.lengths),
    weights: six('weights', input.weights, DEFAULT_PARAMS.weights),
    longThreshold: checkRange('longThreshold', input.longThreshold ?? DEFAULT_PARAMS.longThreshold, LIMITS.threshold),
    shortThreshold: checkRange('shortThreshold', input.shortThreshold ?? DEFAULT_PARAMS.shortThreshold, LIMITS.threshold),
  };
  p.lengths.forEach((l, k) => checkRange(`lengths[${MA_TYPES[k]}]`, l, LIMITS.length, true));
  p.weights.forEach((w, k) => checkRange(`weights[${MA_TYPES[k]}]`, w, LIMITS.weight));
  const hull = profileSwitches(p.profile).hma === 'hull';
  const ml = maLengths(p);
  ml.forEach((lens, k) => {
    const min = Math.min(...lens);
    // A Hull MA needs floor(l/2) >= 1; a least-squares line needs two points.
    const need = (k === 1 && hull) || k === 4 ? 2 : 1;
    if (min < need) {
      throw new ParamError(
        `lengths[${MA_TYPES[k]}]`,
        `params.lengths[${MA_TYPES[k]}] = ${p.lengths[k]} gives an MA of length ${min} with robustness ${p.robustness}; every length must be >= ${need}`,
      );
    }
  });
  return p;
}

/** The nine lengths of one base length, in the order used everywhere (spec 1.4). */
export function diflen(base: number, robustness: Robustness): number[] {
  const [o1, o2, o3, o4] = OFFSETS[robustness];
  return [base, base + o1, base + o2, base + o3, base + o4, base - o1, base - o2, base - o3, base - o4];
}

/** 6 x 9 MA lengths, MA_TYPES order, each in diflen order. */
export function maLengths(p: Pick<AtcParams, 'lengths' | 'robustness'>): number[][] {
  return p.lengths.map((l) => diflen(l, p.robustness));
}

export function longestLength(p: Pick<AtcParams, 'lengths' | 'robustness'>): number {
  return Math.max(...maLengths(p).flat());
}

/** Bars a series needs before its outputs mean anything: the longest MA and one bar past the cutout. */
export function minimumBars(p: AtcParams): number {
  return Math.max(longestLength(p), p.cutout + 1);
}

/** Wire layout of the parameter vector handed to the kernels (Float64Array). */
export const PARAM_WIRE = {
  switches: 0,
  robustness: 1,
  lambda: 2,
  decay: 3,
  cutout: 4,
  lengths: 5,
  weights: 11,
  longThreshold: 17,
  shortThreshold: 18,
  size: 19,
} as const;

export function encodeParams(p: AtcParams): Float64Array {
  const w = new Float64Array(PARAM_WIRE.size);
  w[PARAM_WIRE.switches] = switchMask(profileSwitches(p.profile));
  w[PARAM_WIRE.robustness] = ROBUSTNESS.indexOf(p.robustness);
  w[PARAM_WIRE.lambda] = p.lambda;
  w[PARAM_WIRE.decay] = p.decay;
  w[PARAM_WIRE.cutout] = p.cutout;
  w.set(p.lengths, PARAM_WIRE.lengths);
  w.set(p.weights, PARAM_WIRE.weights);
  w[PARAM_WIRE.longThreshold] = p.longThreshold;
  w[PARAM_WIRE.shortThreshold] = p.shortThreshold;
  return w;
}
