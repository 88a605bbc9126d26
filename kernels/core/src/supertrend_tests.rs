//! Supertrend: the golden README's hand-computed examples, every SIMD path and any block split
//! give the same bits, states round-trip, bad input is a coded error that changes nothing, and
//! no input panics. Parity with the TypeScript reference and the golden files: test/unit/supertrend.test.ts.

use super::*;
use crate::testing::Rng;

/// Per-bar outputs of a whole batch (all four planes) and the final states.
#[derive(Debug)]
struct Run {
    supertrend: Vec<f64>,
    atr: Vec<f64>,
    direction: Vec<i8>,
    trade: Vec<i8>,
    states: Vec<u8>,
}

impl Run {
    fn same(&self, o: &Run) -> bool {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        bits(&self.supertrend) == bits(&o.supertrend)
            && bits(&self.atr) == bits(&o.atr)
            && self.direction == o.direction
            && self.trade == o.trade
            && self.states == o.states
    }
}

struct Bars {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    offsets: Vec<u32>,
}

impl Bars {
    fn input(&self) -> StInput<'_> {
        StInput { high: &self.high, low: &self.low, close: &self.close, offsets: &self.offsets }
    }
}

/// One call over the whole batch, from `states_in` (or fresh).
fn run_all(p: &StParams, b: &Bars, states_in: Option<&[u8]>, path: Path) -> Result<Run, KernelError> {
    let n = b.close.len();
    let mut r = Run {
        supertrend: vec![7.0; n],
        atr: vec![7.0; n],
        direction: vec![7; n],
        trade: vec![7; n],
        states: vec![0; (b.offsets.len() - 1) * ST_STATE_BYTES],
    };
    let out = StOutputs { supertrend: Some(&mut r.supertrend), atr: Some(&mut r.atr), direction: Some(&mut r.direction), trade: Some(&mut r.trade) };
    let states = match states_in {
        Some(i) => States::InOut(i, &mut r.states),
        None => States::Out(&mut r.states),
    };
    run(p, b.input(), states, out, path)?;
    Ok(r)
}

fn one(h: &[f64], l: &[f64], c: &[f64]) -> Bars {
    Bars { high: h.to_vec(), low: l.to_vec(), close: c.to_vec(), offsets: vec![0, c.len() as u32] }
}

/// OHLC walks on a tick grid, some with flat bars, closes outside [low, high] and high < low.
fn random_bars(rng: &mut Rng, n_series: usize, max_len: usize) -> Bars {
    let mut b = Bars { high: vec![], low: vec![], close: vec![], offsets: vec![0] };
    for _ in 0..n_series {
        let n = rng.below(max_len + 1);
        let tick = [0.01, 0.001, 1e-6][rng.below(3)];
        let q = |x: f64| ((x / tick).round() * tick).max(tick);
        let mut p = 10.0 + 100.0 * rng.unit();
        for _ in 0..n {
            if rng.below(10) > 1 {
                p *= (0.02 * rng.normal()).exp();
            }
            let (hi, lo) = match rng.below(20) {
                0 => (p, p),
                1 => (p * 0.99, p * 1.01),
                _ => (p * (1.0 + 0.01 * rng.unit()), p * (1.0 - 0.01 * rng.unit())),
            };
            let c = if rng.below(50) == 0 { p * 1.05 } else { p };
            b.high.push(q(hi));
            b.low.push(q(lo));
            b.close.push(q(c));
        }
        b.offsets.push(b.close.len() as u32);
    }
    b
}

fn random_params(rng: &mut Rng) -> StParams {
    let factor = [0.5, 1.0, 2.0, 3.0, 4.5, 0.1 + 5.0 * rng.unit()][rng.below(6)];
    let period = [1, 2, 3, 7, 10, 22, 1 + rng.below(40)][rng.below(7)];
    StParams::new(factor, period as f64).unwrap()
}

#[test]
fn worked_example_of_the_golden_readme() {
    let h = [10.0, 11.0, 12.0, 13.0, 16.0, 17.0, 16.5, 16.0, 17.5, 18.0, 16.0, 15.0];
    let l = [8.0, 9.0, 10.0, 11.0, 14.0, 15.0, 12.5, 12.0, 12.5, 17.0, 14.5, 13.0];
    let c = [9.0, 10.0, 11.0, 12.0, 15.5, 16.0, 13.0, 15.0, 17.0859375, 17.75, 14.57666015625, 13.5];
    let nan = f64::NAN;
    let atr = [nan, nan, nan, 2.0, 2.5, 2.375, 2.78125, 3.0859375, 3.564453125, 2.92333984375, 3.0050048828125, 2.753753662109375];
    let lower = [0.0, 0.0, 0.0, 10.0, 12.5, 13.625, 13.625, 10.9140625, 11.435546875, 14.57666015625, 14.57666015625, 14.57666015625];
    let upper = [0.0, nan, nan, 14.0, 14.0, 18.375, 17.28125, 17.0859375, 17.0859375, 17.0859375, 18.2550048828125, 16.753753662109375];
    let st = [0.0, nan, nan, 14.0, 12.5, 13.625, 17.28125, 17.0859375, 17.0859375, 14.57666015625, 14.57666015625, 16.753753662109375];
    let dir = [1, 1, 1, 1, -1, -1, 1, 1, 1, -1, -1, 1];
    let trade = [0, 0, 0, 0, 1, 1, -1, -1, -1, 1, 1, -1];
    let p = StParams::new(1.0, 4.0).unwrap();
    // bar by bar through the per-bar step, checking the bands of the state too
    let mut m = StLanes::<1>::new(&p);
    for i in 0..c.len() {
        let o = m.step(V([h[i]]), V([l[i]]), V([c[i]]));
        let s = m.store(0);
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        assert!(same(o.atr.0[0], atr[i]) && same(o.supertrend.0[0], st[i]), "bar {i}: {:?} {:?}", o.atr.0, o.supertrend.0);
        assert!(same(s.lower, lower[i]) && same(s.upper, upper[i]), "bar {i}: bands {} {}", s.lower, s.upper);
        assert_eq!((o.direction.0[0], o.trade.0[0]), (dir[i] as f64, trade[i] as f64), "bar {i}");
    }
    // and through the batch entry point on every path
    for path in Path::available() {
        let r = run_all(&p, &one(&h, &l, &c), None, path).unwrap();
        assert_eq!(r.direction, dir);
        assert_eq!(r.trade, trade);
        assert_eq!(r.supertrend.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), st.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}

#[test]
fn equal_bands_take_the_first_branch() {
    let x = [5.0, 5.0, 5.0, 6.0, 6.0];
    let r = run_all(&StParams::new(3.0, 2.0).unwrap(), &one(&x, &x, &x), None, Path::Scalar).unwrap();
    assert_eq!(r.atr[1..], [0.0, 0.0, 0.5, 0.25]);
    assert!(r.atr[0].is_nan());
    assert_eq!(r.supertrend, [0.0, 5.0, 5.0, 5.0, 6.75]);
    assert_eq!(r.direction, [1, 1, 1, -1, 1]);
    assert_eq!(r.trade, [0, 0, 0, 1, -1]);
}

#[test]
fn period_one_has_an_atr_from_bar_zero_and_supertrend_zero_there() {
    let mut rng = Rng::new(5);
    let b = random_bars(&mut rng, 1, 300);
    let r = run_all(&StParams::new(3.0, 1.0).unwrap(), &b, None, Path::Scalar).unwrap();
    assert_eq!(r.supertrend[0], 0.0);
    assert_eq!(r.atr[0], b.high[0] - b.low[0]);
    for i in 1..b.close.len() {
        let pc = b.close[i - 1];
        let tr = (b.high[i] - b.low[i]).max((b.high[i] - pc).abs()).max((b.low[i] - pc).abs());
        assert_eq!(r.atr[i], tr, "bar {i}");
    }
}

#[test]
fn warm_up_follows_the_contract() {
    let mut rng = Rng::new(11);
    for _ in 0..20 {
        let b = random_bars(&mut rng, 1, 60);
        let p = random_params(&mut rng);
        let r = run_all(&p, &b, None, Path::Scalar).unwrap();
        let k = p.atr_period as usize;
        for i in 0..b.close.len() {
            assert_eq!(r.atr[i].is_nan(), i + 1 < k, "atr na at bar {i}, p {k}");
            assert_eq!(r.supertrend[i].is_nan(), i >= 1 && i + 1 < k, "supertrend na at bar {i}, p {k}");
            if i < k {
                assert_eq!(r.direction[i], 1);
            }
        }
        if !b.close.is_empty() {
            assert_eq!(r.supertrend[0], 0.0);
        }
    }
}

#[test]
fn trading_direction_follows_the_first_change_of_pine_direction() {
    let mut rng = Rng::new(3);
    let b = random_bars(&mut rng, 30, 400);
    let r = run_all(&StParams::new(2.0, 7.0).unwrap(), &b, None, Path::best()).unwrap();
    for s in 0..30 {
        let (a, e) = (b.offsets[s] as usize, b.offsets[s + 1] as usize);
        let mut seen = false;
        for j in a..e {
            seen |= j > a && r.direction[j] != r.direction[j - 1];
            assert_eq!(r.trade[j], if seen { -r.direction[j] } else { 0 }, "series {s} row {j}");
        }
    }
}

#[test]
fn all_paths_give_the_same_bits() {
    let mut rng = Rng::new(1);
    for _ in 0..10 {
        let k = 1 + rng.below(20);
        let b = random_bars(&mut rng, k, 500);
        let p = random_params(&mut rng);
        let want = run_all(&p, &b, None, Path::Scalar).unwrap();
        for path in Path::available() {
            assert!(run_all(&p, &b, None, path).unwrap().same(&want), "path {}", path.name());
        }
    }
}

#[test]
fn any_block_split_gives_the_same_bits() {
    let mut rng = Rng::new(2);
    let paths = Path::available();
    for round in 0..40 {
        let k = 1 + rng.below(6);
        let b = random_bars(&mut rng, k, 300);
        let p = random_params(&mut rng);
        let whole = run_all(&p, &b, None, Path::Scalar).unwrap();
        // cut every series at the same random fractions (empty blocks included), run block by
        // block through the states, and put each block's rows back where they came from
        let n = b.offsets.len() - 1;
        let mut cuts: Vec<f64> = (0..rng.below(6)).map(|_| rng.unit()).collect();
        cuts.extend([0.0, 1.0]);
        cuts.sort_by(f64::total_cmp);
        let at = |s: usize, f: f64| {
            let (a, e) = (b.offsets[s] as usize, b.offsets[s + 1] as usize);
            a + ((e - a) as f64 * f) as usize
        };
        let mut got = Run { supertrend: vec![0.0; b.close.len()], atr: vec![0.0; b.close.len()], direction: vec![0; b.close.len()], trade: vec![0; b.close.len()], states: vec![] };
        let mut states: Option<Vec<u8>> = None;
        for w in cuts.windows(2) {
            let mut blk = Bars { high: vec![], low: vec![], close: vec![], offsets: vec![0] };
            let spans: Vec<(usize, usize)> = (0..n).map(|s| (at(s, w[0]), at(s, w[1]))).collect();
            for &(x, y) in &spans {
                blk.high.extend_from_slice(&b.high[x..y]);
                blk.low.extend_from_slice(&b.low[x..y]);
                blk.close.extend_from_slice(&b.close[x..y]);
                blk.offsets.push(blk.close.len() as u32);
            }
            let r = run_all(&p, &blk, states.as_deref(), paths[rng.below(paths.len())]).unwrap();
            for (s, &(x, y)) in spans.iter().enumerate() {
                let o = blk.offsets[s] as usize;
                got.supertrend[x..y].copy_from_slice(&r.supertrend[o..o + y - x]);
                got.atr[x..y].copy_from_slice(&r.atr[o..o + y - x]);
                got.direction[x..y].copy_from_slice(&r.direction[o..o + y - x]);
                got.trade[x..y].copy_from_slice(&r.trade[o..o + y - x]);
            }
            states = Some(r.states);
        }
        got.states = states.unwrap_or_default();
        assert!(got.same(&whole), "round {round}: cuts {cuts:?}");
    }
}

#[test]
fn states_round_trip() {
    let mut rng = Rng::new(4);
    let b = random_bars(&mut rng, 8, 200);
    let p = random_params(&mut rng);
    let r = run_all(&p, &b, None, Path::best()).unwrap();
    for s in 0..8 {
        let rec = &r.states[s * ST_STATE_BYTES..(s + 1) * ST_STATE_BYTES];
        let st = StState::read(&p, rec, s).unwrap();
        assert_eq!(st.bars, (b.offsets[s + 1] - b.offsets[s]) as u64);
        let mut again = vec![0u8; ST_STATE_BYTES];
        st.write(&p, &mut again);
        assert_eq!(again, rec);
        // a lane loaded with it and stored again gives the same state
        let mut m = StLanes::<4>::new(&p);
        m.load(2, &st);
        assert!(m.store(2).same_bits(&st));
    }
    // an empty series passes its state through; a fresh one is the fresh record
    let empty = Bars { high: vec![], low: vec![], close: vec![], offsets: vec![0, 0] };
    let fresh = run_all(&p, &empty, None, Path::Scalar).unwrap();
    assert!(StState::read(&p, &fresh.states, 0).unwrap().same_bits(&StState::FRESH));
    let rec = r.states[..ST_STATE_BYTES].to_vec();
    assert_eq!(run_all(&p, &empty, Some(&rec), Path::Scalar).unwrap().states, rec);
}

#[test]
fn bad_parameters_are_coded_errors_naming_them() {
    for (f, k, name) in [
        (0.0, 10.0, "factor"),
        (-1.0, 10.0, "factor"),
        (f64::NAN, 10.0, "factor"),
        (f64::INFINITY, 10.0, "factor"),
        (3.0, 0.0, "atrPeriod"),
        (3.0, 2.5, "atrPeriod"),
        (3.0, -1.0, "atrPeriod"),
        (3.0, f64::NAN, "atrPeriod"),
        (3.0, 100_001.0, "atrPeriod"),
    ] {
        match StParams::new(f, k) {
            Err(KernelError::InvalidParam { param, .. }) => assert_eq!(param, name),
            other => panic!("{f} {k}: {other:?}"),
        }
    }
    let b = one(&[1.0], &[1.0], &[1.0]);
    let e = run_all(&StParams { factor: 3.0, atr_period: 0 }, &b, None, Path::Scalar).unwrap_err();
    assert_eq!(e.code(), "ATC_ERR_INVALID_PARAM");
}

#[test]
fn non_finite_values_are_coded_errors_naming_series_bar_and_column() {
    let mut rng = Rng::new(6);
    let b = random_bars(&mut rng, 3, 50);
    let p = StParams::new(3.0, 5.0).unwrap();
    let first = Bars { high: b.high[..b.offsets[3] as usize].to_vec(), low: b.low.clone(), close: b.close.clone(), offsets: b.offsets.clone() };
    let st = run_all(&p, &first, None, Path::Scalar).unwrap().states;
    for (col, bad) in [(0, f64::NAN), (1, f64::INFINITY), (2, f64::NEG_INFINITY), (2, f64::NAN)] {
        let mut c = Bars { high: b.high.clone(), low: b.low.clone(), close: b.close.clone(), offsets: b.offsets.clone() };
        let s = 1 + rng.below(2);
        let n = (b.offsets[s + 1] - b.offsets[s]) as usize;
        if n == 0 {
            continue;
        }
        let j = rng.below(n);
        [&mut c.high, &mut c.low, &mut c.close][col][b.offsets[s] as usize + j] = bad;
        for from in [None, Some(&st[..])] {
            match run_all(&p, &c, from, Path::best()) {
                Err(KernelError::BadValue { series, bar, column, .. }) => {
                    let carried = if from.is_some() { n as u64 } else { 0 };
                    assert_eq!((series, bar, column), (s, carried + j as u64, ["high", "low", "close"][col]));
                }
                other => panic!("{other:?}"),
            }
        }
    }
    // nothing is written on failure
    let mut c = Bars { high: b.high.clone(), low: b.low.clone(), close: b.close.clone(), offsets: b.offsets.clone() };
    let last = c.close.len() - 1;
    c.close[last] = f64::NAN;
    let (mut o, mut rec) = (vec![7.0; c.close.len()], vec![9u8; 3 * ST_STATE_BYTES]);
    let out = StOutputs { supertrend: Some(&mut o), ..Default::default() };
    assert!(run(&p, c.input(), States::Out(&mut rec), out, Path::Scalar).is_err());
    assert!(o.iter().all(|&x| x == 7.0) && rec.iter().all(|&x| x == 9));
}

#[test]
fn unusual_prices_are_computed_not_refused() {
    // high < low, zero and negative prices, a close outside [low, high]
    let h = [1.0, 0.0, -2.0, 5.0, 4.0, 3.0];
    let l = [2.0, 0.0, -3.0, 6.0, 1.0, 2.0];
    let c = [1.5, 0.0, -2.5, 9.0, 2.0, 2.5];
    let r = run_all(&StParams::new(2.0, 2.0).unwrap(), &one(&h, &l, &c), None, Path::Scalar).unwrap();
    assert_eq!(r.supertrend[0], 0.0);
    assert!(r.atr[1..].iter().all(|x| x.is_finite() && *x >= 0.0));
}

#[test]
fn bad_states_are_coded_errors() {
    let mut rng = Rng::new(8);
    let b = random_bars(&mut rng, 2, 40);
    let p = StParams::new(3.0, 10.0).unwrap();
    let good = run_all(&p, &b, None, Path::Scalar).unwrap().states;
    let code = |st: &[u8]| run_all(&p, &b, Some(st), Path::Scalar).unwrap_err().code();
    let other = StParams::new(3.0, 11.0).unwrap();
    assert_eq!(run_all(&other, &b, Some(&good), Path::Scalar).unwrap_err().code(), "ATC_ERR_STATE_MISMATCH");
    assert_eq!(code(&good[..ST_STATE_BYTES]), "ATC_ERR_INVALID_ARGUMENT");
    assert_eq!(code(&[0xab; 2 * ST_STATE_BYTES]), "ATC_ERR_STATE_INVALID");
    for (at, byte) in [(0, 0x41), (4, 2), (8, 9), (31, 0x7f), (32 + 6 * 8 + 7, 0x40), (32 + 7 * 8 + 7, 0x40)] {
        let mut bad = good.clone();
        bad[ST_STATE_BYTES + at] = byte;
        assert_eq!(code(&bad), "ATC_ERR_STATE_INVALID", "byte {at}");
    }
    // an ATC state is not a Supertrend state
    let plan = crate::Plan::from_wire(&crate::plan::default_wire(crate::Switches::PINE)).unwrap();
    let mut atc = vec![0u8; plan.state_bytes];
    crate::fresh_state(&plan, &mut atc).unwrap();
    assert_eq!(StState::read(&p, &atc, 0).unwrap_err().code(), "ATC_ERR_STATE_INVALID");
}

#[test]
fn wrong_buffers_are_invalid_arguments() {
    let p = StParams::new(3.0, 10.0).unwrap();
    let x = vec![1.0; 10];
    let short = vec![1.0; 9];
    let code = |h: &[f64], offsets: &[u32], out: StOutputs| run(&p, StInput { high: h, low: &x, close: &x, offsets }, States::Fresh, out, Path::Scalar).unwrap_err().code();
    assert_eq!(code(&short, &[0, 9], StOutputs::default()), "ATC_ERR_INVALID_ARGUMENT");
    assert_eq!(code(&x, &[], StOutputs::default()), "ATC_ERR_INVALID_ARGUMENT");
    assert_eq!(code(&x, &[0, 11], StOutputs::default()), "ATC_ERR_INVALID_ARGUMENT");
    assert_eq!(code(&x, &[5, 3], StOutputs::default()), "ATC_ERR_INVALID_ARGUMENT");
    let mut o = vec![0i8; 9];
    assert_eq!(code(&x, &[0, 10], StOutputs { trade: Some(&mut o), ..Default::default() }), "ATC_ERR_INVALID_ARGUMENT");
    // outputs longer than the rows are fine, and only the rows are written
    let mut o = vec![7.0; 12];
    run(&p, StInput { high: &x, low: &x, close: &x, offsets: &[0, 4, 10] }, States::Fresh, StOutputs { atr: Some(&mut o), ..Default::default() }, Path::Scalar).unwrap();
    assert_eq!(o[10..], [7.0, 7.0]);
}

#[test]
fn fuzz_never_panics() {
    let mut rng = Rng::new(99);
    let vals = [1.0, 0.0, -0.0, -1.0, 2.5, 1e-300, 1e300, f64::MAX, -f64::MAX, f64::MIN_POSITIVE, f64::NAN, f64::INFINITY];
    let mut ok = 0;
    for _ in 0..4000 {
        let n = rng.below(40);
        let col = |rng: &mut Rng| (0..n).map(|_| if rng.below(8) == 0 { vals[rng.below(vals.len())] } else { 1.0 + rng.unit() }).collect::<Vec<f64>>();
        let (h, l, c) = (col(&mut rng), col(&mut rng), col(&mut rng));
        let ns = rng.below(4);
        let mut offsets: Vec<u32> = (0..=ns).map(|_| rng.below(n + 2) as u32).collect();
        if rng.below(3) > 0 {
            offsets.sort();
        }
        let p = StParams { factor: [3.0, 0.0, f64::NAN, 1e308, 1e-300][rng.below(5)], atr_period: [1, 2, 10, 0, 200_000][rng.below(5)] };
        let mut st = match rng.below(4) {
            0 => vec![],
            1 => vec![0u8; ns * ST_STATE_BYTES],
            2 => (0..ns * ST_STATE_BYTES).map(|_| rng.below(256) as u8).collect(),
            _ => (0..rng.below(300)).map(|_| rng.below(256) as u8).collect(),
        };
        if rng.below(2) == 0 && p.check().is_ok() {
            // valid records, some with a corrupted byte
            let e = Bars { high: vec![], low: vec![], close: vec![], offsets: vec![0; ns + 1] };
            st = run_all(&p, &e, None, Path::Scalar).map(|r| r.states).unwrap_or_default();
            if rng.below(2) == 0 && !st.is_empty() {
                let k = rng.below(st.len());
                st[k] = rng.below(256) as u8;
            }
        }
        let mut sto = vec![0u8; st.len()];
        let len = |rng: &mut Rng| [n, n.saturating_sub(1), n + 1, 0][rng.below(4)];
        let (mut a, mut b2, mut d, mut t) = (vec![0.0; len(&mut rng)], vec![0.0; len(&mut rng)], vec![0i8; len(&mut rng)], vec![0i8; len(&mut rng)]);
        let out = StOutputs {
            supertrend: (rng.below(2) == 0).then_some(&mut a[..]),
            atr: (rng.below(2) == 0).then_some(&mut b2[..]),
            direction: (rng.below(2) == 0).then_some(&mut d[..]),
            trade: (rng.below(2) == 0).then_some(&mut t[..]),
        };
        let states = match rng.below(4) {
            0 => States::Fresh,
            1 => States::In(&st),
            2 => States::InOut(&st, &mut sto),
            _ => States::InPlace(&mut st),
        };
        let path = Path::available()[rng.below(Path::available().len())];
        match run(&p, StInput { high: &h, low: &l, close: &c, offsets: &offsets }, states, out, path) {
            Ok(()) => ok += 1,
            Err(e) => assert!(
                ["ATC_ERR_INVALID_PARAM", "ATC_ERR_INVALID_ARGUMENT", "ATC_ERR_BAD_VALUE", "ATC_ERR_STATE_INVALID", "ATC_ERR_STATE_MISMATCH"].contains(&e.code())
            ),
        }
    }
    assert!(ok > 100, "only {ok} calls succeeded");
}
