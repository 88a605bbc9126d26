//! Node-API binding of atc-core: converts types and errors, nothing else (conventions 1 and 2).
//! Every export runs inside `catch_unwind`, checks the type and length of every argument, and
//! turns a kernel error into a thrown JS Error carrying `code` (ATC_ERR_*) and, where known,
//! `series`, `bar`, `column` and `param`: a TypeError for an argument of the wrong type, a
//! RangeError for buffers of the wrong size or shape (ATC_ERR_INVALID_ARGUMENT both). src/engine/native.ts is the only module that loads this file.

mod direct;
mod supertrend;
mod sys;

use atc_core::account::AcctParams;
use atc_core::batch::{check_state, Outputs, Path, States};
use atc_core::job::{Job, Portfolio, SetParams};
use atc_core::plan::wire;
use atc_core::{KernelError, Plan};
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use sys::*;

enum JsErr {
    Type(String),
    Kernel(KernelError),
}

impl From<KernelError> for JsErr {
    fn from(e: KernelError) -> Self {
        JsErr::Kernel(e)
    }
}

type R<T> = Result<T, JsErr>;

fn type_err<T>(m: impl Into<String>) -> R<T> {
    Err(JsErr::Type(m.into()))
}

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

unsafe fn js_string(env: napi_env, s: &str) -> napi_value {
    let mut v = ptr::null_mut();
    napi_create_string_utf8(env, s.as_ptr() as *const c_char, s.len(), &mut v);
    v
}

unsafe fn js_number(env: napi_env, x: f64) -> napi_value {
    let mut v = ptr::null_mut();
    napi_create_double(env, x, &mut v);
    v
}

unsafe fn set(env: napi_env, obj: napi_value, name: &str, v: napi_value) {
    if let Ok(c) = CString::new(name) {
        napi_set_named_property(env, obj, c.as_ptr(), v);
    }
}

unsafe fn throw(env: napi_env, e: JsErr) {
    let mut pending = false;
    napi_is_exception_pending(env, &mut pending);
    if pending {
        return;
    }
    let mut err = ptr::null_mut();
    match e {
        JsErr::Type(m) => {
            napi_create_type_error(env, js_string(env, "ATC_ERR_INVALID_ARGUMENT"), js_string(env, &m), &mut err);
        }
        JsErr::Kernel(k) => {
            let (code, msg) = (js_string(env, k.code()), js_string(env, &k.to_string()));
            if matches!(k, KernelError::InvalidArgument(_)) {
                napi_create_range_error(env, code, msg, &mut err);
            } else {
                napi_create_error(env, code, msg, &mut err);
            }
            match &k {
                KernelError::BadClose { series, bar, .. } => {
                    set(env, err, "series", js_number(env, *series as f64));
                    set(env, err, "bar", js_number(env, *bar as f64));
                }
                KernelError::BadValue { series, bar, column, .. } => {
                    set(env, err, "series", js_number(env, *series as f64));
                    set(env, err, "bar", js_number(env, *bar as f64));
                    set(env, err, "column", js_string(env, column));
                }
                KernelError::InvalidParam { param, .. } => set(env, err, "param", js_string(env, param)),
                KernelError::StateInvalid { record, .. } | KernelError::StateMismatch { record } => {
                    set(env, err, "series", js_number(env, *record as f64))
                }
                KernelError::InvalidArgument(_) | KernelError::EngineUnavailable(_) => {}
            }
        }
    }
    napi_throw(env, err);
}

/// The arguments of one call.
struct Cx {
    env: napi_env,
    args: [napi_value; 12],
    argc: usize,
}

/// A typed array's memory: (address, element count).
#[derive(Clone, Copy)]
struct Buf {
    ptr: *mut c_void,
    len: usize,
    bytes: usize,
}

impl Buf {
    fn range(&self) -> (usize, usize) {
        (self.ptr as usize, self.ptr as usize + self.bytes)
    }
    fn overlaps(&self, o: &Buf) -> bool {
        let (a0, a1) = self.range();
        let (b0, b1) = o.range();
        self.bytes > 0 && o.bytes > 0 && a0 < b1 && b0 < a1
    }
    /// A slice view; zero-length arrays may have a null data pointer, which slices must not.
    unsafe fn slice<'a, T>(&self) -> &'a [T] {
        if self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr as *const T, self.len)
        }
    }
    unsafe fn slice_mut<'a, T>(&self) -> &'a mut [T] {
        if self.len == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(self.ptr as *mut T, self.len)
        }
    }
}

/// Readers of single JS values (an argument or an object's property).
#[derive(Clone, Copy)]
struct Val {
    env: napi_env,
    v: napi_value,
}

impl Val {
    unsafe fn kind(&self) -> i32 {
        if self.v.is_null() {
            return T_UNDEFINED;
        }
        let mut t = T_UNDEFINED;
        napi_typeof(self.env, self.v, &mut t);
        t
    }

    unsafe fn typed(&self, name: &str, want: i32, elem: usize) -> R<Buf> {
        let mut is = false;
        if !self.v.is_null() {
            napi_is_typedarray(self.env, self.v, &mut is);
        }
        if !is {
            return type_err(format!("{name} must be a typed array"));
        }
        let (mut kind, mut len, mut data) = (0i32, 0usize, ptr::null_mut());
        let mut ab = ptr::null_mut();
        let mut off = 0usize;
        if napi_get_typedarray_info(self.env, self.v, &mut kind, &mut len, &mut data, &mut ab, &mut off) != NAPI_OK {
            return type_err(format!("{name}: cannot read the typed array"));
        }
        if kind != want {
            let wanted = match want {
                TA_FLOAT64 => "Float64Array",
                TA_UINT32 => "Uint32Array",
                TA_INT8 => "Int8Array",
                _ => "Uint8Array",
            };
            return type_err(format!("{name} must be a {wanted}"));
        }
        Ok(Buf { ptr: data, len, bytes: len * elem })
    }

    unsafe fn optional_typed(&self, name: &str, want: i32, elem: usize) -> R<Option<Buf>> {
        match self.kind() {
            T_UNDEFINED | T_NULL => Ok(None),
            _ => self.typed(name, want, elem).map(Some),
        }
    }

    unsafe fn number(&self, name: &str) -> R<f64> {
        if self.kind() != T_NUMBER {
            return type_err(format!("{name} must be a number"));
        }
        let mut x = 0.0;
        napi_get_value_double(self.env, self.v, &mut x);
        Ok(x)
    }

    /// A non-negative integer that indexes memory.
    unsafe fn count(&self, name: &str) -> R<usize> {
        let x = self.number(name)?;
        if !(x >= 0.0 && x.fract() == 0.0 && x <= 1e15) {
            return type_err(format!("{name} must be a non-negative integer"));
        }
        Ok(x as usize)
    }

    unsafe fn flag(&self, name: &str) -> R<bool> {
        match self.kind() {
            T_UNDEFINED | T_NULL => Ok(false),
            T_BOOLEAN => {
                let mut b = false;
                napi_get_value_bool(self.env, self.v, &mut b);
                Ok(b)
            }
            _ => type_err(format!("{name} must be a boolean")),
        }
    }

    unsafe fn optional_string(&self, name: &str) -> R<Option<String>> {
        match self.kind() {
            T_UNDEFINED | T_NULL => Ok(None),
            T_STRING => {
                let mut buf = [0u8; 64];
                let mut n = 0usize;
                napi_get_value_string_utf8(self.env, self.v, buf.as_mut_ptr() as *mut c_char, buf.len(), &mut n);
                Ok(Some(String::from_utf8_lossy(&buf[..n]).into_owned()))
            }
            _ => type_err(format!("{name} must be a string")),
        }
    }

    unsafe fn path(&self) -> R<Path> {
        match self.optional_string("path")? {
            None => Ok(Path::best()),
            Some(s) => match Path::parse(&s) {
                Some(p) => Ok(p),
                None => type_err(format!("path must be one of avx512|avx2|portable|scalar, got {s}")),
            },
        }
    }

    /// Property `name` of an object (undefined when absent).
    unsafe fn get(&self, name: &str) -> Val {
        let mut v = ptr::null_mut();
        if let Ok(c) = CString::new(name) {
            napi_get_named_property(self.env, self.v, c.as_ptr(), &mut v);
        }
        Val { env: self.env, v }
    }
}

impl Cx {
    unsafe fn new(env: napi_env, info: napi_callback_info) -> Cx {
        let mut cx = Cx { env, args: [ptr::null_mut(); 12], argc: 12 };
        napi_get_cb_info(env, info, &mut cx.argc, cx.args.as_mut_ptr(), ptr::null_mut(), ptr::null_mut());
        cx
    }

    fn arg(&self, i: usize) -> Val {
        Val { env: self.env, v: if i < self.argc { self.args[i] } else { ptr::null_mut() } }
    }

    unsafe fn typed(&self, i: usize, name: &str, want: i32, elem: usize) -> R<Buf> {
        if i >= self.argc {
            return type_err(format!("{name}: missing argument"));
        }
        self.arg(i).typed(name, want, elem)
    }

    unsafe fn optional_typed(&self, i: usize, name: &str, want: i32, elem: usize) -> R<Option<Buf>> {
        self.arg(i).optional_typed(name, want, elem)
    }

    unsafe fn number(&self, i: usize, name: &str) -> R<f64> {
        self.arg(i).number(name)
    }

    unsafe fn plan(&self, i: usize) -> R<Plan> {
        let w = self.typed(i, "params", TA_FLOAT64, 8)?;
        Ok(Plan::from_wire(w.slice::<f64>())?)
    }

    unsafe fn undefined(&self) -> napi_value {
        let mut v = ptr::null_mut();
        napi_get_undefined(self.env, &mut v);
        v
    }
}

/// Rust must never see two live views of the same memory where one is written.
fn check_overlaps(reads: &[Buf], writes: &[Buf]) -> R<()> {
    for (a, w) in writes.iter().enumerate() {
        for r in reads {
            if w.overlaps(r) {
                return type_err("an output buffer overlaps an input buffer");
            }
        }
        for w2 in &writes[a + 1..] {
            if w.overlaps(w2) {
                return type_err("two output buffers overlap");
            }
        }
    }
    Ok(())
}

/// Run an export body: catch panics, turn errors into JS exceptions.
unsafe fn guard(env: napi_env, info: napi_callback_info, body: unsafe fn(&Cx) -> R<napi_value>) -> napi_value {
    let cx = Cx::new(env, info);
    match catch_unwind(AssertUnwindSafe(|| body(&cx))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            throw(env, e);
            ptr::null_mut()
        }
        Err(_) => {
            let msg = LAST_PANIC.with(|m| m.borrow().clone());
            let mut err = ptr::null_mut();
            napi_create_error(env, js_string(env, "ATC_ERR_NATIVE_PANIC"), js_string(env, &format!("native kernel panic: {msg}")), &mut err);
            napi_throw(env, err);
            ptr::null_mut()
        }
    }
}

unsafe fn version(cx: &Cx) -> R<napi_value> {
    Ok(js_string(cx.env, option_env!("ATC_PACKAGE_VERSION").unwrap_or(env!("CARGO_PKG_VERSION"))))
}

unsafe fn kernel_version(cx: &Cx) -> R<napi_value> {
    Ok(js_string(cx.env, atc_core::KERNEL_VERSION))
}

/// "avx2,portable,scalar": the SIMD paths this CPU runs, widest first (the first is the default).
unsafe fn paths(cx: &Cx) -> R<napi_value> {
    let names: Vec<&str> = Path::available().into_iter().map(|p| p.name()).collect();
    Ok(js_string(cx.env, &names.join(",")))
}

/// layouts() -> the record layouts this build reads and writes, in f64 fields (and state bytes),
/// which src/engine/native.ts checks against its own before it uses the kernel.
unsafe fn layouts(cx: &Cx) -> R<napi_value> {
    let env = cx.env;
    let mut o = ptr::null_mut();
    napi_create_object(env, &mut o);
    let fields: [(&str, usize); 9] = [
        ("account.fields", atc_core::account::ACCT_SIZE),
        ("last.fields", atc_core::job::LAST_FIELDS),
        ("trade.fields", atc_core::account::TRADE_FIELDS),
        ("portfolio.fields", atc_core::account::PORT_FIELDS),
        ("planes.fields", atc_core::N_FLOAT_PLANES),
        ("extra.fields", atc_core::job::EXTRA_PLANES),
        ("params.fields", wire::SIZE),
        ("state.version", atc_core::plan::STATE_VERSION as usize),
        ("state.headerBytes", atc_core::plan::STATE_HEADER_BYTES),
    ];
    for (name, v) in fields {
        set(env, o, name, js_number(env, v as f64));
    }
    Ok(o)
}

/// plan(params) -> { stateBytes, payloadLength, fingerprint, maxLength, steadyBar }
unsafe fn plan_info(cx: &Cx) -> R<napi_value> {
    let p = cx.plan(0)?;
    let env = cx.env;
    let mut o = ptr::null_mut();
    napi_create_object(env, &mut o);
    set(env, o, "stateBytes", js_number(env, p.state_bytes as f64));
    set(env, o, "payloadLength", js_number(env, p.layout.size as f64));
    let mut fp = ptr::null_mut();
    napi_create_bigint_uint64(env, p.fingerprint, &mut fp);
    set(env, o, "fingerprint", fp);
    set(env, o, "maxLength", js_number(env, p.max_len as f64));
    set(env, o, "steadyBar", js_number(env, p.steady_bar as f64));
    Ok(o)
}

/// freshState(params, record: Uint8Array)
unsafe fn fresh_state(cx: &Cx) -> R<napi_value> {
    let p = cx.plan(0)?;
    let rec = cx.typed(1, "record", TA_UINT8, 1)?;
    atc_core::fresh_state(&p, rec.slice_mut::<u8>())?;
    Ok(cx.undefined())
}

/// stateBars(params, records: Uint8Array, record: number) -> bars seen (validates the header)
unsafe fn state_bars(cx: &Cx) -> R<napi_value> {
    let p = cx.plan(0)?;
    let recs = cx.typed(1, "records", TA_UINT8, 1)?;
    let r = cx.number(2, "record")?;
    let sb = p.state_bytes;
    if !(r >= 0.0 && r.fract() == 0.0 && (r as usize + 1) * sb <= recs.len) {
        return Err(JsErr::Kernel(KernelError::InvalidArgument(format!("record {r} is outside the buffer"))));
    }
    let all = recs.slice::<u8>();
    let r = r as usize;
    let bars = check_state(&p, &all[r * sb..(r + 1) * sb], r)?;
    Ok(js_number(cx.env, bars as f64))
}

/// step(params, closes, offsets, values, stride, direction, alerts, stateIn?, stateOut?, path?)
unsafe fn step(cx: &Cx) -> R<napi_value> {
    let plan = cx.plan(0)?;
    let closes = cx.typed(1, "closes", TA_FLOAT64, 8)?;
    let offsets = cx.typed(2, "offsets", TA_UINT32, 4)?;
    let values = cx.typed(3, "values", TA_FLOAT64, 8)?;
    let stride = cx.arg(4).count("stride")?;
    let direction = cx.typed(5, "direction", TA_INT8, 1)?;
    let alerts = cx.typed(6, "alerts", TA_INT8, 1)?;
    let st_in = cx.optional_typed(7, "stateIn", TA_UINT8, 1)?;
    let st_out = cx.optional_typed(8, "stateOut", TA_UINT8, 1)?;
    let path = cx.arg(9).path()?;
    let in_place = matches!((st_in, st_out), (Some(a), Some(b)) if a.ptr == b.ptr && a.len == b.len);
    let mut writes = vec![values, direction, alerts];
    if let Some(o) = st_out {
        writes.push(o);
    }
    let mut reads = vec![closes, offsets];
    if let (Some(i), false) = (st_in, in_place) {
        reads.push(i);
    }
    check_overlaps(&reads, &writes)?;
    let states = match (st_in, st_out) {
        (None, None) => States::Fresh,
        (Some(i), None) => States::In(i.slice::<u8>()),
        (None, Some(o)) => States::Out(o.slice_mut::<u8>()),
        (Some(_), Some(o)) if in_place => States::InPlace(o.slice_mut::<u8>()),
        (Some(i), Some(o)) => States::InOut(i.slice::<u8>(), o.slice_mut::<u8>()),
    };
    let out = Outputs {
        values: values.slice_mut::<f64>(),
        stride,
        direction: direction.slice_mut::<i8>(),
        alerts: alerts.slice_mut::<i8>(),
    };
    atc_core::step(&plan, closes.slice::<f64>(), offsets.slice::<u32>(), out, states, path)?;
    Ok(cx.undefined())
}


/// job({ params, acct, closes, offsets, ts?, states?, accounts?, last?, alerts?, values?,
/// stride?, direction?, alertPlane?, extra?, uIndex?, nU?, sums?, counts?, trades?, path?,
/// engine? })
/// -> the closed trades (Float64Array, TRADE_FIELDS each) when `trades`, else undefined.
/// Every parameter set's wire vector is `params[p * 19 ..]`, its trading rule `acct[p * 3 ..]`
/// (mode 0 long-short | 1 long-only | 2 short-only, fee bps, slippage bps). `states` and
/// `accounts` are read and advanced in place. `engine: 'cuda'` runs it on the CUDA engine
/// (crate atc-gpu; the same bits; ATC_ERR_ENGINE_UNAVAILABLE with the reason without one).
unsafe fn job(cx: &Cx) -> R<napi_value> {
    let o = cx.arg(0);
    if o.kind() != T_OBJECT {
        return type_err("job takes one object");
    }
    let params = o.get("params").typed("params", TA_FLOAT64, 8)?;
    let acct = o.get("acct").typed("acct", TA_FLOAT64, 8)?;
    let pw = params.slice::<f64>();
    let aw = acct.slice::<f64>();
    if pw.is_empty() || pw.len() % wire::SIZE != 0 || aw.len() != pw.len() / wire::SIZE * 3 {
        return type_err(format!("params must hold n x {} values and acct n x 3", wire::SIZE));
    }
    let mut sets = Vec::with_capacity(aw.len() / 3);
    for (w, a) in pw.chunks(wire::SIZE).zip(aw.chunks(3)) {
        let mode = a[0];
        if !(mode == 0.0 || mode == 1.0 || mode == 2.0) {
            return Err(JsErr::Kernel(KernelError::param("mode", format!("mode must be 0, 1 or 2, got {mode}"))));
        }
        for (name, v) in [("feeBps", a[1]), ("slippageBps", a[2])] {
            if !(v >= 0.0 && v <= 10000.0) {
                return Err(JsErr::Kernel(KernelError::param(name, format!("{name} must be in [0, 10000], got {v}"))));
            }
        }
        sets.push(SetParams { plan: Plan::from_wire(w)?, acct: AcctParams { mode: mode as u8, fee_bps: a[1], slippage_bps: a[2] } });
    }
    let closes = o.get("closes").typed("closes", TA_FLOAT64, 8)?;
    let offsets = o.get("offsets").typed("offsets", TA_UINT32, 4)?;
    let ts = o.get("ts").optional_typed("ts", TA_FLOAT64, 8)?;
    let states = o.get("states").optional_typed("states", TA_UINT8, 1)?;
    let accounts = o.get("accounts").optional_typed("accounts", TA_FLOAT64, 8)?;
    let last = o.get("last").optional_typed("last", TA_FLOAT64, 8)?;
    let alerts = o.get("alerts").optional_typed("alerts", TA_UINT32, 4)?;
    let values = o.get("values").optional_typed("values", TA_FLOAT64, 8)?;
    let planes = match values {
        None => None,
        Some(v) => Some((
            v,
            o.get("stride").count("stride")?,
            o.get("direction").typed("direction", TA_INT8, 1)?,
            o.get("alertPlane").typed("alertPlane", TA_INT8, 1)?,
        )),
    };
    let extra = o.get("extra").optional_typed("extra", TA_FLOAT64, 8)?;
    let u_index = o.get("uIndex").optional_typed("uIndex", TA_UINT32, 4)?;
    let portfolio = match u_index {
        None => None,
        Some(u) => Some((
            u,
            o.get("nU").count("nU")?,
            o.get("sums").typed("sums", TA_FLOAT64, 8)?,
            o.get("counts").typed("counts", TA_FLOAT64, 8)?,
        )),
    };
    let want_trades = o.get("trades").flag("trades")?;
    let path = o.get("path").path()?;
    let cuda = match o.get("engine").optional_string("engine")?.as_deref() {
        None | Some("rust") => false,
        Some("cuda") => true,
        Some(e) => return type_err(format!("engine must be rust|cuda, got {e}")),
    };

    let mut reads = vec![params, acct, closes, offsets];
    reads.extend(ts);
    reads.extend(u_index);
    let mut writes: Vec<Buf> = [states, accounts, last, alerts, extra].into_iter().flatten().collect();
    if let Some((v, _, d, a)) = planes {
        writes.extend([v, d, a]);
    }
    if let Some((_, _, s, c)) = portfolio {
        writes.extend([s, c]);
    }
    check_overlaps(&reads, &writes)?;

    let mut trades = Vec::new();
    let job = Job {
        sets: &sets,
        closes: closes.slice::<f64>(),
        offsets: offsets.slice::<u32>(),
        ts: ts.map(|t| t.slice::<f64>()),
        states: match states {
            None => States::Fresh,
            Some(s) => States::InPlace(s.slice_mut::<u8>()),
        },
        accounts: accounts.map(|a| a.slice_mut::<f64>()),
        last: last.map(|l| l.slice_mut::<f64>()),
        alerts: alerts.map(|a| a.slice_mut::<u32>()),
        planes: planes.map(|(v, stride, d, a)| Outputs { values: v.slice_mut::<f64>(), stride, direction: d.slice_mut::<i8>(), alerts: a.slice_mut::<i8>() }),
        extra: extra.map(|x| x.slice_mut::<f64>()),
        portfolio: portfolio.map(|(u, n_u, s, c)| Portfolio { u_index: u.slice::<u32>(), n_u, sums: s.slice_mut::<f64>(), counts: c.slice_mut::<f64>() }),
        trades: if want_trades { Some(&mut trades) } else { None },
    };
    if cuda {
        atc_gpu::run(job, &atc_gpu::Options::default())?;
    } else {
        atc_core::job::run(job, path)?;
    }
    if !want_trades {
        return Ok(cx.undefined());
    }
    f64_array(cx.env, &trades)
}

/// A new Float64Array holding `v`.
unsafe fn f64_array(env: napi_env, v: &[f64]) -> R<napi_value> {
    let (mut data, mut ab, mut arr) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    if napi_create_arraybuffer(env, v.len() * 8, &mut data, &mut ab) != NAPI_OK || napi_create_typedarray(env, TA_FLOAT64, v.len(), ab, 0, &mut arr) != NAPI_OK {
        return type_err("cannot allocate a Float64Array");
    }
    if !v.is_empty() {
        ptr::copy_nonoverlapping(v.as_ptr(), data as *mut f64, v.len());
    }
    Ok(arr)
}

/// gpuInfo() -> { ok: true, kind: 'gpu' | 'host', library, name, deviceCount, totalMemory,
/// freeMemory, driverVersion, runtimeVersion, computeCapability, smCount } | { ok: false, reason }
unsafe fn gpu_info(cx: &Cx) -> R<napi_value> {
    let env = cx.env;
    let mut o = ptr::null_mut();
    napi_create_object(env, &mut o);
    let mut flag = ptr::null_mut();
    match atc_gpu::info() {
        Err(reason) => {
            napi_get_boolean(env, false, &mut flag);
            set(env, o, "ok", flag);
            set(env, o, "reason", js_string(env, &reason));
        }
        Ok(i) => {
            napi_get_boolean(env, true, &mut flag);
            set(env, o, "ok", flag);
            set(env, o, "kind", js_string(env, if i.kind == atc_gpu::Kind::Gpu { "gpu" } else { "host" }));
            set(env, o, "library", js_string(env, &i.library));
            set(env, o, "name", js_string(env, &i.name));
            set(env, o, "deviceCount", js_number(env, i.device_count as f64));
            set(env, o, "totalMemory", js_number(env, i.total_memory as f64));
            set(env, o, "freeMemory", js_number(env, i.free_memory as f64));
            set(env, o, "driverVersion", js_number(env, i.driver_version as f64));
            set(env, o, "runtimeVersion", js_number(env, i.runtime_version as f64));
            set(env, o, "computeCapability", js_string(env, &format!("{}.{}", i.compute_capability.0, i.compute_capability.1)));
            set(env, o, "smCount", js_number(env, i.sm_count as f64));
        }
    }
    Ok(o)
}

macro_rules! export {
    ($wrapper:ident, $body:path) => {
        unsafe extern "C" fn $wrapper(env: napi_env, info: napi_callback_info) -> napi_value {
            guard(env, info, $body)
        }
    };
}

export!(js_version, version);
export!(js_kernel_version, kernel_version);
export!(js_paths, paths);
export!(js_plan, plan_info);
export!(js_fresh_state, fresh_state);
export!(js_state_bars, state_bars);
export!(js_step, step);
export!(js_job, job);
export!(js_layouts, layouts);
export!(js_supertrend, supertrend::supertrend);
export!(js_account, direct::account);
export!(js_gpu_info, gpu_info);

/// # Safety
/// Called by Node when the addon is loaded.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    // Panics are caught and rethrown as JS errors; keep their text, print nothing.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        LAST_PANIC.with(|m| *m.borrow_mut() = msg);
    }));
    let fns: [(&str, napi_callback); 12] = [
        ("version", js_version),
        ("kernelVersion", js_kernel_version),
        ("paths", js_paths),
        ("plan", js_plan),
        ("freshState", js_fresh_state),
        ("stateBars", js_state_bars),
        ("step", js_step),
        ("job", js_job),
        ("layouts", js_layouts),
        ("supertrend", js_supertrend),
        ("account", js_account),
        ("gpuInfo", js_gpu_info),
    ];
    for (name, f) in fns {
        let mut v = ptr::null_mut();
        napi_create_function(env, name.as_ptr() as *const c_char, name.len(), f, ptr::null_mut(), &mut v);
        set(env, exports, name, v);
    }
    exports
}

#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    8
}
