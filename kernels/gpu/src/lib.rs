//! The CUDA engine's loader: finds libatc_cuda.so (kernels/cuda) at run time with dlopen (no
//! crates, no link-time CUDA), probes it once and caches why it cannot be used, and runs
//! `atc_core::job` jobs on it. A crate of its own so that atc-core stays pure numeric code (no
//! FFI, no library search) and its tests need no CUDA library; atc-node depends on both.
//!
//! The library is `$ATC_CUDA_LIB`, else `libatc_cuda.so` next to the binary this code is linked
//! into (the .node addon). The job is validated by `atc_core::job::validate` (the checks of the
//! Rust engine) and handed over decoded (kernels/cuda/atc_cuda.h mirrors the structs below).
//! Nothing here panics: every failure is a `KernelError` or a reason string.

use atc_core::account::TRADE_FIELDS;
use atc_core::batch::States;
use atc_core::job::{validate, Job};
use atc_core::plan::{Layout, Plan, N_LEN, N_TYPES};
use atc_core::KernelError;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

/// kernels/cuda/atc_cuda.h ATC_CUDA_ABI.
pub const ABI: i32 = 1;
const L_FIELDS: usize = 16;

#[repr(C)]
#[derive(Clone, Copy)]
struct CSet {
    la: f64,
    d: f64,
    cutout: f64,
    long_threshold: f64,
    short_threshold: f64,
    weights: [f64; 6],
    rate: f64,
    fingerprint: u64,
    state_bytes: u64,
    rec_off: u64,
    switches: u32,
    mode: u32,
    lens: [[u32; N_LEN]; N_TYPES],
    hull_q: [u32; N_LEN],
    hist_len: u32,
    layout: [u32; L_FIELDS],
}

/// Milliseconds per phase of a job, summed over its chunks (the device phases of two streams
/// overlap, so they can add up to more than `total_ms`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Times {
    pub upload_ms: f64,
    pub shared_ms: f64,
    pub per_set_ms: f64,
    pub download_ms: f64,
    pub host_ms: f64,
    pub total_ms: f64,
    pub chunks: u32,
    pub streams: u32,
    pub chunk_bytes: u64,
}

#[repr(C)]
struct CJob {
    sets: *const CSet,
    n_sets: u32,
    n_series: u32,
    closes: *const f64,
    offsets: *const u32,
    bars: *const u64,
    ts: *const f64,
    states_in: *const u8,
    states_out: *mut u8,
    rec_stride: u64,
    accounts: *mut f64,
    last: *mut f64,
    alerts: *mut u32,
    values: *mut f64,
    direction: *mut i8,
    alert_plane: *mut i8,
    stride: u64,
    extra: *mut f64,
    u_index: *const u32,
    n_u: u64,
    sums: *mut f64,
    counts: *mut f64,
    want_trades: i32,
    trades: *mut f64,
    n_trades: u64,
    chunk_bytes: u64,
    times: Times,
    error_series: u64,
}

#[repr(C)]
struct CInfo {
    kind: i32,
    device_count: i32,
    driver_version: i32,
    runtime_version: i32,
    cc_major: i32,
    cc_minor: i32,
    sm_count: i32,
    total_memory: u64,
    free_memory: u64,
    name: [c_char; 256],
}

#[link(name = "dl")]
extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
    fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
}

#[repr(C)]
struct DlInfo {
    dli_fname: *const c_char,
    dli_fbase: *mut c_void,
    dli_sname: *const c_char,
    dli_saddr: *mut c_void,
}

const RTLD_NOW: c_int = 2;

/// What runs the CUDA engine's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// a CUDA device
    Gpu,
    /// the host build: the same code computing on the CPU (tests)
    Host,
}

/// A usable CUDA engine: the library and what it runs on.
#[derive(Clone, Debug)]
pub struct Info {
    pub kind: Kind,
    pub library: String,
    pub name: String,
    pub device_count: i32,
    pub total_memory: u64,
    pub free_memory: u64,
    /// 1000 * major + 10 * minor, e.g. 13000
    pub driver_version: i32,
    pub runtime_version: i32,
    pub compute_capability: (i32, i32),
    pub sm_count: i32,
}

/// Per-job options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// device bytes per chunk; 0 = automatic (ATC_CUDA_CHUNK_BYTES, else a share of free memory)
    pub chunk_bytes: u64,
}

/// An opened libatc_cuda.so.
pub struct Lib {
    path: String,
    info_fn: unsafe extern "C" fn(*mut CInfo) -> i32,
    job_fn: unsafe extern "C" fn(*mut CJob) -> i32,
    last_error_fn: unsafe extern "C" fn() -> *const c_char,
    free_fn: unsafe extern "C" fn(*mut c_void),
}

// SAFETY: the library's functions are thread-safe (per-thread buffers and error text).
unsafe impl Send for Lib {}
unsafe impl Sync for Lib {}

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: a NUL-terminated string owned by the C side, copied at once.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Lib {
    /// Open and check a library: ABI and kernel version must be this build's.
    pub fn open(path: &str) -> Result<Lib, String> {
        let c = CString::new(path).map_err(|_| format!("bad library path {path:?}"))?;
        // SAFETY: dlopen/dlsym with valid C strings; symbols are cast to the signatures of
        // kernels/cuda/atc_cuda.h, whose ABI number is checked before anything else is called.
        unsafe {
            let h = dlopen(c.as_ptr(), RTLD_NOW);
            if h.is_null() {
                return Err(format!("cannot load the CUDA engine {path}: {}", text(dlerror())));
            }
            let sym = |name: &str| -> Result<*mut c_void, String> {
                let n = CString::new(name).expect("symbol names have no NUL");
                let p = dlsym(h, n.as_ptr());
                if p.is_null() {
                    Err(format!("{path} is not a CUDA engine of this project: no symbol {name}"))
                } else {
                    Ok(p)
                }
            };
            type Abi = unsafe extern "C" fn() -> i32;
            type Text = unsafe extern "C" fn() -> *const c_char;
            let abi = std::mem::transmute::<*mut c_void, Abi>(sym("atc_cuda_abi")?);
            if abi() != ABI {
                return Err(format!("{path} has C ABI {}, this build expects {ABI}; rebuild it (npm run build:native)", abi()));
            }
            let kv = std::mem::transmute::<*mut c_void, Text>(sym("atc_cuda_kernel_version")?);
            let v = text(kv());
            if v != atc_core::KERNEL_VERSION {
                return Err(format!("{path} is {v}, this build expects {}; rebuild it (npm run build:native)", atc_core::KERNEL_VERSION));
            }
            Ok(Lib {
                path: path.to_string(),
                info_fn: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut CInfo) -> i32>(sym("atc_cuda_info")?),
                job_fn: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut CJob) -> i32>(sym("atc_cuda_job")?),
                last_error_fn: std::mem::transmute::<*mut c_void, Text>(sym("atc_cuda_last_error")?),
                free_fn: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void)>(sym("atc_cuda_free")?),
            })
        }
    }

    /// What the library runs on, or why it cannot run (the driver's reason).
    pub fn info(&self) -> Result<Info, String> {
        // SAFETY: CInfo mirrors AtcCudaInfo; zeroed is a valid value of it.
        let mut ci: CInfo = unsafe { std::mem::zeroed() };
        let kind = unsafe { (self.info_fn)(&mut ci) };
        let kind = match kind {
            1 => Kind::Gpu,
            2 => Kind::Host,
            _ => return Err(format!("no usable GPU: {}", text(unsafe { (self.last_error_fn)() }))),
        };
        Ok(Info {
            kind,
            library: self.path.clone(),
            name: text(ci.name.as_ptr()),
            device_count: ci.device_count,
            total_memory: ci.total_memory,
            free_memory: ci.free_memory,
            driver_version: ci.driver_version,
            runtime_version: ci.runtime_version,
            compute_capability: (ci.cc_major, ci.cc_minor),
            sm_count: ci.sm_count,
        })
    }

    /// Run a job: the outputs `atc_core::job::run` writes, bit for bit (closed trades in
    /// series, set, time order instead of the SIMD lanes' order).
    pub fn run(&self, job: Job, opts: &Options) -> Result<Times, KernelError> {
        let checked = validate(&job)?;
        let Job { sets, closes, offsets, ts, states, accounts, last, alerts, planes, extra, portfolio, trades } = job;
        let csets: Vec<CSet> = sets
            .iter()
            .zip(&checked.rec_off)
            .map(|(s, &off)| c_set(&s.plan, s.acct.mode, s.acct.rate(), off))
            .collect();
        let (states_in, states_out): (*const u8, *mut u8) = match states {
            States::Fresh => (ptr::null(), ptr::null_mut()),
            States::In(i) => (i.as_ptr(), ptr::null_mut()),
            States::Out(o) => (ptr::null(), o.as_mut_ptr()),
            States::InOut(i, o) => (i.as_ptr(), o.as_mut_ptr()),
            States::InPlace(io) => (io.as_ptr(), io.as_mut_ptr()),
        };
        let mut_ptr = |o: Option<&mut [f64]>| o.map_or(ptr::null_mut(), |x| x.as_mut_ptr());
        let (values, direction, alert_plane, stride) = match planes {
            Some(o) => (o.values.as_mut_ptr(), o.direction.as_mut_ptr(), o.alerts.as_mut_ptr(), o.stride as u64),
            None => (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0),
        };
        let (u_index, n_u, sums, counts) = match portfolio {
            Some(p) => (p.u_index.as_ptr(), p.n_u as u64, p.sums.as_mut_ptr(), p.counts.as_mut_ptr()),
            None => (ptr::null(), 0, ptr::null_mut(), ptr::null_mut()),
        };
        let mut cj = CJob {
            sets: csets.as_ptr(),
            n_sets: sets.len() as u32,
            n_series: (offsets.len() - 1) as u32,
            closes: closes.as_ptr(),
            offsets: offsets.as_ptr(),
            bars: checked.bars.as_ptr(),
            ts: ts.map_or(ptr::null(), |t| t.as_ptr()),
            states_in,
            states_out,
            rec_stride: checked.rec_stride as u64,
            accounts: mut_ptr(accounts),
            last: mut_ptr(last),
            alerts: alerts.map_or(ptr::null_mut(), |a| a.as_mut_ptr()),
            values,
            direction,
            alert_plane,
            stride,
            extra: mut_ptr(extra),
            u_index,
            n_u,
            sums,
            counts,
            want_trades: trades.is_some() as i32,
            trades: ptr::null_mut(),
            n_trades: 0,
            chunk_bytes: opts.chunk_bytes,
            times: Times::default(),
            error_series: 0,
        };
        // SAFETY: every pointer comes from a live slice of the sizes `validate` checked (or is
        // null where the output is not asked for); the library writes only within them.
        let rc = unsafe { (self.job_fn)(&mut cj) };
        if rc != 0 {
            let msg = text(unsafe { (self.last_error_fn)() });
            return Err(match rc {
                1 => KernelError::InvalidArgument(msg),
                3 => KernelError::StateInvalid { record: cj.error_series as usize, message: msg },
                _ => KernelError::EngineUnavailable(format!("the CUDA engine failed: {msg}")),
            });
        }
        if !cj.trades.is_null() {
            if let Some(tv) = trades {
                // SAFETY: n_trades records of TRADE_FIELDS doubles, owned by the library until freed.
                tv.extend_from_slice(unsafe { std::slice::from_raw_parts(cj.trades, cj.n_trades as usize * TRADE_FIELDS) });
            }
            unsafe { (self.free_fn)(cj.trades as *mut c_void) };
        }
        Ok(cj.times)
    }
}

fn c_set(p: &Plan, mode: u8, rate: f64, rec_off: usize) -> CSet {
    let l: &Layout = &p.layout;
    CSet {
        la: p.la,
        d: p.d,
        cutout: p.cutout as f64,
        long_threshold: p.long_threshold,
        short_threshold: p.short_threshold,
        weights: p.weights,
        rate,
        fingerprint: p.fingerprint,
        state_bytes: p.state_bytes as u64,
        rec_off: rec_off as u64,
        switches: p.switches.0,
        mode: mode as u32,
        lens: p.lens.map(|ls| ls.map(|v| v as u32)),
        hull_q: p.hull_q.map(|v| v as u32),
        hist_len: p.hist_len as u32,
        layout: [
            l.hist, l.ema, l.dema_e1, l.dema_e2, l.dema_acc, l.kama, l.hull, l.ma_prev, l.sig, l.eq1, l.xsig_prev, l.eq2, l.a2,
            l.avg_prev, l.direction, l.size,
        ]
        .map(|v| v as u32),
    }
}

/// Where the library is looked for: $ATC_CUDA_LIB, else next to the binary this code is in.
pub fn default_path() -> Result<String, String> {
    if let Ok(p) = std::env::var("ATC_CUDA_LIB") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let mut info = DlInfo { dli_fname: ptr::null(), dli_fbase: ptr::null_mut(), dli_sname: ptr::null(), dli_saddr: ptr::null_mut() };
    // SAFETY: dladdr only reads the address of a function of this module.
    let ok = unsafe { dladdr(default_path as *const c_void, &mut info) };
    if ok == 0 || info.dli_fname.is_null() {
        return Err("cannot tell where this binary is; set ATC_CUDA_LIB".into());
    }
    let me = std::path::PathBuf::from(text(info.dli_fname));
    Ok(me.with_file_name("libatc_cuda.so").to_string_lossy().into_owned())
}

/// The library at the default path, opened once per process (the failure reason is cached).
pub fn lib() -> Result<&'static Lib, String> {
    static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        let path = default_path()?;
        if !std::path::Path::new(&path).exists() {
            return Err(format!("the CUDA engine is not built: {path} is missing (it is built when nvcc is present at install)"));
        }
        Lib::open(&path)
    })
    .as_ref()
    .map_err(|e| e.clone())
}

/// What the default library runs on, or why there is no usable CUDA engine.
pub fn info() -> Result<Info, String> {
    lib()?.info()
}

/// Run a job on the default library; without one, `ATC_ERR_ENGINE_UNAVAILABLE` with the reason.
pub fn run(job: Job, opts: &Options) -> Result<Times, KernelError> {
    let l = lib().map_err(KernelError::EngineUnavailable)?;
    l.info().map_err(KernelError::EngineUnavailable)?;
    l.run(job, opts)
}
