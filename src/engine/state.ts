// Serialised per-symbol kernel state: creation, header checks, inspection. Both engines read
// and write the same bytes, so a state saved by one restores in the other.

import { StateError } from '../errors.js';
import { N_MA, N_TYPES, type Plan, STATE_HEADER_BYTES, STATE_MAGIC, STATE_VERSION } from './plan.js';

export interface StateInfo {
  version: number;
  payloadLength: number;
  fingerprint: bigint;
  /** bars processed so far: the bar index of the next close */
  bars: number;
}

/** The format of a kernel's state records (kernels/core/src/batch.rs RecordFormat): a 32-byte
 *  header (magic, u16 version, u16 0, u32 payload length in f64, u32 0, u64 parameter
 *  fingerprint, u64 bars seen), then the payload as little-endian f64. */
export interface RecordFormat {
  /** what the magic identifies, for messages ("an ATC kernel state") */
  what: string;
  magic: number;
  version: number;
  payloadLength: number;
  fingerprint: bigint;
}

export function recordBytes(f: RecordFormat): number {
  return STATE_HEADER_BYTES + 8 * f.payloadLength;
}

function atcFormat(plan: Plan): RecordFormat {
  return { what: 'an ATC kernel state', magic: STATE_MAGIC, version: STATE_VERSION, payloadLength: plan.layout.size, fingerprint: plan.fingerprint };
}

function view(buf: Uint8Array, record: number, stateBytes: number): DataView {
  return new DataView(buf.buffer, buf.byteOffset + record * stateBytes, stateBytes);
}

function readInfo(buf: Uint8Array, record: number, stateBytes: number, magic: number, what: string): StateInfo {
  if (buf.byteLength < (record + 1) * stateBytes || stateBytes < STATE_HEADER_BYTES) {
    throw new StateError('ATC_ERR_STATE_INVALID', `state record ${record} is truncated (${buf.byteLength} bytes)`);
  }
  const v = view(buf, record, stateBytes);
  if (v.getUint32(0, true) !== magic) {
    throw new StateError('ATC_ERR_STATE_INVALID', `state record ${record} is not ${what} (bad magic)`);
  }
  return {
    version: v.getUint16(4, true),
    payloadLength: v.getUint32(8, true),
    fingerprint: v.getBigUint64(16, true),
    bars: Number(v.getBigUint64(24, true)),
  };
}

/** The header of an ATC state record (checks only the magic). */
export function readStateInfo(buf: Uint8Array, record = 0, stateBytes = buf.byteLength): StateInfo {
  return readInfo(buf, record, stateBytes, STATE_MAGIC, 'an ATC kernel state');
}

/** Throws unless record `record` of `buf` (records of recordBytes(f)) has format `f`; returns its header. */
export function checkRecord(f: RecordFormat, buf: Uint8Array, record: number): StateInfo {
  const info = readInfo(buf, record, recordBytes(f), f.magic, f.what);
  if (info.version !== f.version) {
    throw new StateError('ATC_ERR_STATE_INVALID', `state record ${record} has format version ${info.version}; this kernel reads version ${f.version}`);
  }
  if (info.payloadLength !== f.payloadLength) {
    throw new StateError('ATC_ERR_STATE_INVALID', `state record ${record} has a payload of ${info.payloadLength} values, expected ${f.payloadLength}`);
  }
  if (info.fingerprint !== f.fingerprint) {
    throw new StateError('ATC_ERR_STATE_MISMATCH', `state record ${record} was made with other parameters or another profile`);
  }
  if (!Number.isSafeInteger(info.bars)) {
    throw new StateError('ATC_ERR_STATE_INVALID', `state record ${record} has an impossible bar count`);
  }
  return info;
}

export function writeRecordHeader(f: RecordFormat, buf: Uint8Array, record: number, bars: number): void {
  const v = view(buf, record, recordBytes(f));
  v.setUint32(0, f.magic, true);
  v.setUint16(4, f.version, true);
  v.setUint16(6, 0, true);
  v.setUint32(8, f.payloadLength, true);
  v.setUint32(12, 0, true);
  v.setBigUint64(16, f.fingerprint, true);
  v.setBigUint64(24, BigInt(bars), true);
}

/** Throws unless record `record` of `buf` is a state of this plan (same version, parameters, size). */
export function checkState(plan: Plan, buf: Uint8Array, record: number): StateInfo {
  return checkRecord(atcFormat(plan), buf, record);
}

export function writeStateHeader(plan: Plan, buf: Uint8Array, record: number, bars: number): void {
  writeRecordHeader(atcFormat(plan), buf, record, bars);
}

/** The payload of one record as f64 (records are multiples of 8 bytes, so the view is aligned). */
export function statePayload(plan: Plan, buf: Uint8Array, record: number): Float64Array {
  return new Float64Array(buf.buffer, buf.byteOffset + record * plan.stateBytes + STATE_HEADER_BYTES, plan.layout.size);
}

/** Fill a payload with the state before bar 0. */
export function initPayload(plan: Plan, s: Float64Array): void {
  const L = plan.layout;
  s.fill(NaN);
  s.fill(0, L.demaAcc, L.demaAcc + 9);
  // Pine's KAMA starts from nz(KAMA[-1]) = 0; the seed sets KAMA[0] = close[0] itself.
  if (plan.switches.kamaStart === 'zero') s.fill(0, L.kama, L.kama + 9);
  s.fill(0, L.sig, L.sig + N_MA);
  s.fill(0, L.a2, L.a2 + N_TYPES);
}

/** n fresh state records. */
export function freshStates(plan: Plan, n: number): Uint8Array {
  const buf = new Uint8Array(n * plan.stateBytes);
  for (let r = 0; r < n; r++) {
    writeStateHeader(plan, buf, r, 0);
    initPayload(plan, statePayload(plan, buf, r));
  }
  return buf;
}
