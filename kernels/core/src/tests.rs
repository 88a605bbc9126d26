//! Property tests of the kernel: every SIMD path gives the same bits, any block split gives the
//! same bits as one call, states restore exactly, bad input is a coded error, and no input
//! panics. Parity with the TypeScript reference and the golden files is tested on the JS side.

use crate::batch::{fresh_state, step, Outputs, Path, States, N_FLOAT_PLANES};
use crate::plan::{default_wire, wire, Plan, Switches};
use crate::testing::{random_wire, series, sweep_sets, Rng};

struct Out {
    values: Vec<f64>,
    direction: Vec<i8>,
    alerts: Vec<i8>,
    stride: usize,
}

impl Out {
    fn new(n: usize) -> Self {
        Out { values: vec![f64::NAN; N_FLOAT_PLANES * n], direction: vec![9; n], alerts: vec![9; n], stride: n }
    }
    fn view(&mut self) -> Outputs<'_> {
        Outputs { values: &mut self.values, stride: self.stride, direction: &mut self.direction, alerts: &mut self.alerts }
    }
    fn same(&self, o: &Out) -> bool {
        self.direction == o.direction
            && self.alerts == o.alerts
            && self.values.iter().zip(&o.values).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
    }
}

fn run_whole(plan: &Plan, closes: &[f64], offsets: &[u32], path: Path) -> (Out, Vec<u8>) {
    let mut out = Out::new(closes.len());
    let mut st = vec![0u8; (offsets.len() - 1) * plan.state_bytes];
    step(plan, closes, offsets, out.view(), States::Out(&mut st), path).unwrap();
    (out, st)
}

#[test]
fn all_paths_give_the_same_bits() {
    let mut rng = Rng::new(1);
    for round in 0..6 {
        let w = random_wire(&mut rng);
        let plan = Plan::from_wire(&w).unwrap();
        let (closes, offsets) = series(&mut rng, 11, 400);
        let (reference, st_ref) = run_whole(&plan, &closes, &offsets, Path::Scalar);
        for path in Path::available() {
            let (o, st) = run_whole(&plan, &closes, &offsets, path);
            assert!(o.same(&reference), "round {round}: path {} differs from scalar", path.name());
            assert_eq!(st, st_ref, "round {round}: path {} states differ", path.name());
        }
    }
}

#[test]
fn any_block_split_gives_the_same_bits() {
    let mut rng = Rng::new(2);
    for _ in 0..8 {
        let plan = Plan::from_wire(&random_wire(&mut rng)).unwrap();
        let (closes, offsets) = series(&mut rng, 5, 300);
        let (whole, st_whole) = run_whole(&plan, &closes, &offsets, Path::best());
        // Walk each series in random blocks (often 1 bar), all series advancing together.
        let n = offsets.len() - 1;
        let mut split = Out::new(closes.len());
        let mut st = vec![0u8; n * plan.state_bytes];
        for s in 0..n {
            fresh_state(&plan, &mut st[s * plan.state_bytes..(s + 1) * plan.state_bytes]).unwrap();
        }
        let mut cursor: Vec<u32> = offsets[..n].to_vec();
        while (0..n).any(|s| cursor[s] < offsets[s + 1]) {
            // One call: for every series the next block; the block's closes are copied out so
            // the kernel never sees more than the block.
            let mut c = Vec::new();
            let mut o = vec![0u32];
            let mut at = Vec::new();
            for s in 0..n {
                let left = (offsets[s + 1] - cursor[s]) as usize;
                let take = if left == 0 { 0 } else { [1, 1, 2, 7, 50][rng.below(5)].min(left) };
                at.push(cursor[s] as usize);
                c.extend_from_slice(&closes[cursor[s] as usize..cursor[s] as usize + take]);
                o.push(c.len() as u32);
                cursor[s] += take as u32;
            }
            let mut part = Out::new(c.len());
            step(&plan, &c, &o, part.view(), States::InPlace(&mut st), Path::best()).unwrap();
            for s in 0..n {
                for j in o[s] as usize..o[s + 1] as usize {
                    let dst = at[s] + (j - o[s] as usize);
                    for p in 0..N_FLOAT_PLANES {
                        split.values[p * split.stride + dst] = part.values[p * part.stride + j];
                    }
                    split.direction[dst] = part.direction[j];
                    split.alerts[dst] = part.alerts[j];
                }
            }
        }
        assert!(split.same(&whole), "split run differs from whole run");
        assert_eq!(st, st_whole, "final states differ");
    }
}

#[test]
fn bad_closes_are_coded_errors_and_change_nothing() {
    let plan = Plan::from_wire(&default_wire(Switches::PINE)).unwrap();
    for bad in [f64::NAN, f64::INFINITY, 0.0, -1.0, f64::NEG_INFINITY, -0.0] {
        let closes = vec![1.0, 2.0, 3.0, bad, 5.0];
        let mut out = Out::new(5);
        let before = out.values.clone();
        let err = step(&plan, &closes, &[0, 2, 5], out.view(), States::Fresh, Path::best()).unwrap_err();
        assert_eq!(err.code(), "ATC_ERR_BAD_CLOSE");
        assert_eq!(err.to_string().split(':').next().unwrap(), "series 1, bar 1");
        assert!(out.values.iter().zip(&before).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn states_of_other_parameters_are_refused() {
    let plan = Plan::from_wire(&default_wire(Switches::PINE)).unwrap();
    let mut w = default_wire(Switches::PINE);
    w[wire::LAMBDA] = 0.03;
    let other = Plan::from_wire(&w).unwrap();
    let mut st = vec![0u8; plan.state_bytes];
    fresh_state(&other, &mut st).unwrap();
    let mut out = Out::new(3);
    let e = step(&plan, &[1.0, 2.0, 3.0], &[0, 3], out.view(), States::In(&st), Path::Scalar).unwrap_err();
    assert_eq!(e.code(), "ATC_ERR_STATE_MISMATCH");
    st[0] ^= 0xff;
    let e = step(&plan, &[1.0, 2.0, 3.0], &[0, 3], out.view(), States::In(&st), Path::Scalar).unwrap_err();
    assert_eq!(e.code(), "ATC_ERR_STATE_INVALID");
}

#[test]
fn fuzz_never_panics() {
    let mut rng = Rng::new(3);
    for round in 0..3000 {
        // Wire vectors: mostly valid, sometimes garbage.
        let mut w = random_wire(&mut rng);
        if rng.below(4) == 0 {
            let k = rng.below(wire::SIZE);
            w[k] = [f64::NAN, -1.0, 1e300, 0.5, 3.0, -0.0, 2001.0, 1.0][rng.below(8)];
        }
        let Ok(plan) = Plan::from_wire(&w) else { continue };
        let n = rng.below(40);
        let mut closes: Vec<f64> = (0..n).map(|_| 1.0 + 10.0 * rng.unit()).collect();
        if n > 0 && rng.below(5) == 0 {
            let k = rng.below(n);
            closes[k] = [f64::NAN, 0.0, -3.0, f64::INFINITY, f64::MIN_POSITIVE, f64::MAX, 1e-300][rng.below(7)];
        }
        let ns = rng.below(4);
        let mut offsets: Vec<u32> = (0..=ns).map(|_| rng.below(n + 2) as u32).collect();
        if rng.below(2) == 0 {
            offsets.sort();
        }
        let mut out = Out::new(n + rng.below(2));
        if rng.below(10) == 0 {
            out.stride = rng.below(n + 1);
        }
        let mut st: Vec<u8> = (0..ns * plan.state_bytes + rng.below(2)).map(|_| rng.below(256) as u8).collect();
        if rng.below(2) == 0 {
            for s in 0..ns {
                if st.len() >= (s + 1) * plan.state_bytes {
                    fresh_state(&plan, &mut st[s * plan.state_bytes..(s + 1) * plan.state_bytes]).unwrap();
                }
            }
        }
        let path = Path::available()[rng.below(Path::available().len())];
        let states = match round % 3 {
            0 => States::Fresh,
            1 => States::In(&st),
            _ => States::InPlace(&mut st),
        };
        let _ = step(&plan, &closes, &offsets, out.view(), states, path);
    }
}

#[test]
fn extreme_but_valid_closes_stay_defined() {
    // Huge jumps and tiny prices: no panic; outputs are numbers or NaN, never garbage lanes.
    let mut w = default_wire(Switches::PINE);
    w[wire::LAMBDA] = 1.0;
    let plan = Plan::from_wire(&w).unwrap();
    let mut closes = Vec::new();
    for i in 0..3000 {
        closes.push(if i % 2 == 0 { 1e-300 } else { 1e300 });
    }
    let (a, _) = run_whole(&plan, &closes, &[0, 3000], Path::Scalar);
    let (b, _) = run_whole(&plan, &closes, &[0, 3000], Path::best());
    assert!(a.same(&b));
}

#[test]
fn growth_table_and_vector_exp_agree() {
    // A series alone (g from the per-call table) and the same series batched with one restored
    // far ahead (bar range too wide for the table: g from the vector exp) give the same bits.
    let mut w = default_wire(Switches::PINE);
    w[wire::LAMBDA] = 0.5;
    let plan = Plan::from_wire(&w).unwrap();
    let mut rng = Rng::new(9);
    let (closes, offsets) = series(&mut rng, 2, 2000);
    let a = &closes[..offsets[1] as usize];
    let (alone, _) = run_whole(&plan, a, &[0, a.len() as u32], Path::best());
    // Advance series 2 by 300k bars (flat prices) to get a state far ahead.
    let far: Vec<f64> = vec![5.0; 300_000];
    let (_, st_far) = run_whole(&plan, &far, &[0, far.len() as u32], Path::best());
    let mut st = vec![0u8; 2 * plan.state_bytes];
    fresh_state(&plan, &mut st[..plan.state_bytes]).unwrap();
    st[plan.state_bytes..].copy_from_slice(&st_far);
    let mut both: Vec<f64> = a.to_vec();
    both.extend_from_slice(&[5.0, 5.1, 5.2]);
    let mut out = Out::new(both.len());
    step(&plan, &both, &[0, a.len() as u32, both.len() as u32], out.view(), States::In(&st), Path::best()).unwrap();
    for p in 0..N_FLOAT_PLANES {
        for j in 0..a.len() {
            let (x, y) = (alone.values[p * alone.stride + j], out.values[p * out.stride + j]);
            assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()), "plane {p} bar {j}");
        }
    }
}

// ---- jobs: parameter sweeps, accounts, portfolio sums ----

use crate::account::{fresh_account, AcctParams, ACCT_SIZE, PORT_FIELDS, TRADE_FIELDS};
use crate::job::{run as run_job, Job, Portfolio, SetParams, EXTRA_PLANES, LAST_FIELDS};

#[derive(Debug, PartialEq)]
struct JobOut {
    last: Vec<u64>,
    alerts: Vec<u32>,
    accounts: Vec<u64>,
    trades: Vec<Vec<u64>>,
    sums: Vec<u64>,
    counts: Vec<u64>,
    states: Vec<u8>,
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect()
}

fn record_offsets(sets: &[SetParams]) -> (Vec<usize>, usize) {
    let mut at = 0;
    let o = sets
        .iter()
        .map(|s| {
            at += s.plan.state_bytes;
            at - s.plan.state_bytes
        })
        .collect();
    (o, at)
}

/// Run a job over whole series; `u` maps bar j to its timestamp slot.
fn run_sets(sets: &[SetParams], closes: &[f64], offsets: &[u32], path: Path) -> JobOut {
    let n = offsets.len() - 1;
    let np = sets.len();
    let ts: Vec<f64> = (0..closes.len()).map(|j| (j as f64) * 3.6e9).collect();
    let u: Vec<u32> = (0..n).flat_map(|s| 0..offsets[s + 1] - offsets[s]).collect();
    let n_u = u.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut accounts = vec![0.0; n * np * ACCT_SIZE];
    for a in accounts.chunks_mut(ACCT_SIZE) {
        fresh_account(a);
    }
    let (_, stride) = record_offsets(sets);
    let mut states = vec![0u8; n * stride];
    let mut last = vec![0.0; n * np * LAST_FIELDS];
    let mut alerts = vec![0u32; n * np * 2];
    let mut sums = vec![0.0; np * n_u * PORT_FIELDS];
    let mut counts = vec![0.0; n_u];
    let mut trades = Vec::new();
    run_job(
        Job {
            ts: Some(&ts),
            states: States::Out(&mut states),
            accounts: Some(&mut accounts),
            last: Some(&mut last),
            alerts: Some(&mut alerts),
            portfolio: Some(Portfolio { u_index: &u, n_u, sums: &mut sums, counts: &mut counts }),
            trades: Some(&mut trades),
            ..Job::new(sets, closes, offsets)
        },
        path,
    )
    .unwrap();
    let mut tr: Vec<Vec<u64>> = trades.chunks(TRADE_FIELDS).map(bits).collect();
    tr.sort();
    JobOut { last: bits(&last), alerts, accounts: bits(&accounts), trades: tr, sums: bits(&sums), counts: bits(&counts), states }
}

#[test]
fn a_sweep_gives_each_set_the_bits_it_gets_alone() {
    let mut rng = Rng::new(11);
    for round in 0..4 {
        let k = 2 + rng.below(6);
        let sets = sweep_sets(&mut rng, k);
        let (closes, offsets) = series(&mut rng, 9, 500);
        let n = offsets.len() - 1;
        let np = sets.len();
        let (roff, stride) = record_offsets(&sets);
        for path in Path::available() {
            let all = run_sets(&sets, &closes, &offsets, path);
            let n_u = all.counts.len();
            for p in 0..np {
                let one = [SetParams { plan: sets[p].plan.clone(), acct: sets[p].acct }];
                let alone = run_sets(&one, &closes, &offsets, path);
                let pick = |v: &[u64], w: usize| (0..n).flat_map(|s| v[(s * np + p) * w..(s * np + p + 1) * w].to_vec()).collect::<Vec<_>>();
                assert_eq!(pick(&all.last, LAST_FIELDS), alone.last, "round {round} {} set {p}: last values", path.name());
                assert_eq!(pick(&all.accounts, ACCT_SIZE), alone.accounts, "round {round} {} set {p}: accounts", path.name());
                let al: Vec<u32> = (0..n).flat_map(|s| all.alerts[(s * np + p) * 2..(s * np + p + 1) * 2].to_vec()).collect();
                assert_eq!(al, alone.alerts);
                let mine: Vec<Vec<u64>> = all.trades.iter().filter(|t| t[1] == (p as f64).to_bits() || (p == 0 && t[1] == 0)).map(|t| {
                    let mut t = t.clone();
                    t[1] = 0f64.to_bits();
                    t
                }).collect();
                assert_eq!(mine, alone.trades, "set {p}: trades");
                assert_eq!(all.sums[p * n_u * PORT_FIELDS..(p + 1) * n_u * PORT_FIELDS], alone.sums[..], "set {p}: portfolio sums");
                assert_eq!(all.counts, alone.counts);
                let sb = sets[p].plan.state_bytes;
                for s in 0..n {
                    assert_eq!(all.states[s * stride + roff[p]..s * stride + roff[p] + sb], alone.states[s * sb..(s + 1) * sb], "set {p} series {s}: state");
                }
            }
        }
    }
}

#[test]
fn a_sweep_split_into_blocks_gives_the_same_bits() {
    let mut rng = Rng::new(12);
    for _ in 0..4 {
        let sets = sweep_sets(&mut rng, 3);
        let (closes, offsets) = series(&mut rng, 4, 400);
        let whole = run_sets(&sets, &closes, &offsets, Path::best());
        let n = offsets.len() - 1;
        let np = sets.len();
        let (roff, stride) = record_offsets(&sets);
        let mut st = vec![0u8; n * stride];
        for s in 0..n {
            for p in 0..np {
                let at = s * stride + roff[p];
                fresh_state(&sets[p].plan, &mut st[at..at + sets[p].plan.state_bytes]).unwrap();
            }
        }
        let mut accounts = vec![0.0; n * np * ACCT_SIZE];
        for a in accounts.chunks_mut(ACCT_SIZE) {
            fresh_account(a);
        }
        let mut trades = Vec::new();
        let mut cursor: Vec<u32> = offsets[..n].to_vec();
        let mut last = vec![0.0; n * np * LAST_FIELDS];
        while (0..n).any(|s| cursor[s] < offsets[s + 1]) {
            let (mut c, mut t, mut o) = (Vec::new(), Vec::new(), vec![0u32]);
            for s in 0..n {
                let left = (offsets[s + 1] - cursor[s]) as usize;
                let take = if left == 0 { 0 } else { [1, 3, 50, 200][rng.below(4)].min(left) };
                let a = cursor[s] as usize;
                c.extend_from_slice(&closes[a..a + take]);
                t.extend((a..a + take).map(|j| (j as f64) * 3.6e9));
                o.push(c.len() as u32);
                cursor[s] += take as u32;
            }
            let mut l = vec![0.0; n * np * LAST_FIELDS];
            run_job(
                Job {
                    ts: Some(&t),
                    states: States::InPlace(&mut st),
                    accounts: Some(&mut accounts),
                    last: Some(&mut l),
                    trades: Some(&mut trades),
                    ..Job::new(&sets, &c, &o)
                },
                Path::best(),
            )
            .unwrap();
            for s in 0..n {
                if o[s + 1] > o[s] {
                    last[s * np * LAST_FIELDS..(s + 1) * np * LAST_FIELDS].copy_from_slice(&l[s * np * LAST_FIELDS..(s + 1) * np * LAST_FIELDS]);
                }
            }
        }
        assert_eq!(st, whole.states, "states");
        assert_eq!(bits(&accounts), whole.accounts, "accounts");
        assert_eq!(bits(&last), whole.last, "last values");
        let mut tr: Vec<Vec<u64>> = trades.chunks(TRADE_FIELDS).map(bits).collect();
        tr.sort();
        assert_eq!(tr, whole.trades, "trades");
    }
}

#[test]
fn a_single_set_job_writes_planes_and_equity() {
    let mut rng = Rng::new(13);
    let sets = sweep_sets(&mut rng, 1);
    let (closes, offsets) = series(&mut rng, 3, 600);
    let n = offsets.len() - 1;
    let ts: Vec<f64> = (0..closes.len()).map(|j| j as f64).collect();
    let mut out = Out::new(closes.len());
    let mut extra = vec![0.0; EXTRA_PLANES * closes.len()];
    let mut accounts = vec![0.0; n * ACCT_SIZE];
    for a in accounts.chunks_mut(ACCT_SIZE) {
        fresh_account(a);
    }
    let mut last = vec![0.0; n * LAST_FIELDS];
    let Out { values, direction, alerts, stride } = &mut out;
    run_job(
        Job {
            ts: Some(&ts),
            accounts: Some(&mut accounts),
            last: Some(&mut last),
            planes: Some(Outputs { values, stride: *stride, direction, alerts }),
            extra: Some(&mut extra),
            ..Job::new(&sets, &closes, &offsets)
        },
        Path::best(),
    )
    .unwrap();
    let (plain, _) = run_whole(&sets[0].plan, &closes, &offsets, Path::best());
    assert!(out.same(&plain), "accounts change no kernel output");
    let len = closes.len();
    for s in 0..n {
        let b = offsets[s + 1] as usize - 1;
        assert_eq!(extra[2 * len + b].to_bits(), accounts[s * ACCT_SIZE + 6].to_bits(), "equity plane = account equity");
        for p in 0..N_FLOAT_PLANES {
            let (x, y) = (last[s * LAST_FIELDS + p], out.values[p * out.stride + b]);
            assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
        }
        assert_eq!(last[s * LAST_FIELDS + 13], out.direction[b] as f64);
    }
}

#[test]
fn job_fuzz_never_panics() {
    let mut rng = Rng::new(14);
    for _ in 0..500 {
        let np = 1 + rng.below(3);
        let sets = sweep_sets(&mut rng, np);
        let n = rng.below(60);
        let closes: Vec<f64> = (0..n).map(|_| if rng.below(50) == 0 { f64::NAN } else { 1.0 + rng.unit() }).collect();
        let ns = rng.below(4);
        let mut offsets: Vec<u32> = (0..=ns).map(|_| rng.below(n + 2) as u32).collect();
        offsets.sort();
        let ts: Vec<f64> = (0..n + rng.below(2)).map(|j| if rng.below(80) == 0 { f64::INFINITY } else { j as f64 }).collect();
        let mut accounts = vec![0.0; ns * np * ACCT_SIZE + rng.below(2)];
        for a in accounts.chunks_mut(ACCT_SIZE) {
            if a.len() == ACCT_SIZE {
                fresh_account(a);
            }
        }
        let n_u = rng.below(n + 1);
        let u: Vec<u32> = (0..n).map(|_| rng.below(n_u + 1) as u32).collect();
        let mut sums = vec![0.0; np * n_u * PORT_FIELDS];
        let mut counts = vec![0.0; n_u];
        let mut trades = Vec::new();
        let mut last = vec![0.0; ns * np * LAST_FIELDS];
        let _ = run_job(
            Job {
                ts: Some(&ts),
                accounts: Some(&mut accounts),
                last: Some(&mut last),
                portfolio: Some(Portfolio { u_index: &u, n_u, sums: &mut sums, counts: &mut counts }),
                trades: Some(&mut trades),
                ..Job::new(&sets, &closes, &offsets)
            },
            Path::available()[rng.below(Path::available().len())],
        );
    }
}

#[test]
fn the_direct_job_accounts_a_direction_plane_as_the_fused_job_does() {
    // The ATC job's direction plane, backtested by direct::run, gives the job's accounts,
    // trades, equity planes and portfolio sums bit for bit (fees, two sets, blocks).
    let mut rng = Rng::new(17);
    for round in 0..4 {
        let mut sets = sweep_sets(&mut rng, 2);
        for s in sets.iter_mut() {
            s.acct = AcctParams { mode: rng.below(3) as u8, fee_bps: [0.0, 1.5, 10.0][rng.below(3)], slippage_bps: 2.0 };
        }
        let (closes, offsets) = series(&mut rng, 4, 500);
        let n = offsets.len() - 1;
        let len = closes.len();
        let ts: Vec<f64> = (0..len).map(|j| (j % 97) as f64).collect();
        let u_index: Vec<u32> = (0..len).map(|j| (j % 97) as u32).collect();
        let fresh = |np: usize| {
            let mut a = vec![0.0; n * np * ACCT_SIZE];
            a.chunks_mut(ACCT_SIZE).for_each(fresh_account);
            a
        };
        for p in 0..2 {
            let set = std::slice::from_ref(&sets[p]);
            let mut out = Out::new(len);
            let mut extra = vec![0.0; EXTRA_PLANES * len];
            let mut accounts = fresh(1);
            let (mut sums, mut counts) = (vec![0.0; 97 * PORT_FIELDS], vec![0.0; 97]);
            let mut trades = Vec::new();
            let Out { values, direction, alerts, stride } = &mut out;
            run_job(
                Job {
                    ts: Some(&ts),
                    accounts: Some(&mut accounts),
                    planes: Some(Outputs { values, stride: *stride, direction, alerts }),
                    extra: Some(&mut extra),
                    portfolio: Some(Portfolio { u_index: &u_index, n_u: 97, sums: &mut sums, counts: &mut counts }),
                    trades: Some(&mut trades),
                    ..Job::new(set, &closes, &offsets)
                },
                Path::best(),
            )
            .unwrap();
            // the same set as set p of two (accounts and sums interleaved by set)
            let mut accounts2 = fresh(2);
            let mut extra2 = vec![0.0; EXTRA_PLANES * len];
            let (mut sums2, mut counts2) = (vec![0.0; 2 * 97 * PORT_FIELDS], vec![0.0; 97]);
            let mut trades2 = Vec::new();
            crate::direct::run(crate::direct::DirectJob {
                acct: sets[p].acct,
                closes: &closes,
                offsets: &offsets,
                ts: &ts,
                direction: &out.direction,
                set: p,
                n_sets: 2,
                accounts: &mut accounts2,
                extra: Some((&mut extra2, len)),
                portfolio: Some(Portfolio { u_index: &u_index, n_u: 97, sums: &mut sums2, counts: &mut counts2 }),
                trades: Some(&mut trades2),
            })
            .unwrap();
            for s in 0..n {
                assert_eq!(bits(&accounts[s * ACCT_SIZE..(s + 1) * ACCT_SIZE]), bits(&accounts2[(s * 2 + p) * ACCT_SIZE..(s * 2 + p + 1) * ACCT_SIZE]), "round {round} set {p}: account of series {s}");
            }
            assert_eq!(bits(&extra), bits(&extra2), "round {round} set {p}: equity planes");
            assert_eq!(bits(&sums), bits(&sums2[p * 97 * PORT_FIELDS..(p + 1) * 97 * PORT_FIELDS]), "round {round} set {p}: portfolio sums");
            if p == 0 {
                assert_eq!(bits(&counts), bits(&counts2), "symbol counts");
            }
            // the lane loop closes trades in its own series order
            let mut tr: Vec<Vec<u64>> = trades.chunks(TRADE_FIELDS).map(bits).collect();
            let mut tr2: Vec<Vec<u64>> = trades2.chunks(TRADE_FIELDS).map(|t| bits(&[&[t[0], 0.0][..], &t[2..]].concat())).collect();
            tr.sort();
            tr2.sort();
            assert!(!tr.is_empty());
            assert_eq!(tr, tr2, "round {round} set {p}: trades");
        }
    }
}

#[test]
fn the_direct_job_refuses_bad_arguments() {
    let closes = [1.0, 2.0, 3.0];
    let offsets = [0u32, 3];
    let ts = [0.0, 1.0, 2.0];
    let mut accounts = vec![0.0; ACCT_SIZE];
    fresh_account(&mut accounts);
    let base = |direction: &[i8], closes: &[f64], accounts: &mut [f64]| {
        crate::direct::run(crate::direct::DirectJob {
            acct: AcctParams::DEFAULT,
            closes,
            offsets: &offsets,
            ts: &ts,
            direction,
            set: 0,
            n_sets: 1,
            accounts,
            extra: None,
            portfolio: None,
            trades: None,
        })
    };
    let before = accounts.clone();
    assert!(matches!(base(&[1, 2, 0], &closes, &mut accounts), Err(crate::KernelError::InvalidArgument(_))));
    assert!(matches!(base(&[1, 0], &closes, &mut accounts), Err(crate::KernelError::InvalidArgument(_))));
    assert!(matches!(base(&[1, 0, 0], &[1.0, -2.0, 3.0], &mut accounts), Err(crate::KernelError::BadClose { series: 0, bar: 1, .. })));
    assert!(matches!(base(&[1, 0, 0], &closes, &mut accounts[..3]), Err(crate::KernelError::InvalidArgument(_))));
    assert_eq!(bits(&before), bits(&accounts), "a refused job changes nothing");
    base(&[1, -1, 0], &closes, &mut accounts).unwrap();
    assert_eq!(accounts[0], 3.0, "three bars accounted");
}
