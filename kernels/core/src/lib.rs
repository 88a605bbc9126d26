//! Adaptive Trend Classification kernel (../shared/spec/atc.md): a per-symbol state machine
//! over closes, batched over many symbols per call, with W symbols side by side in SIMD lanes.
//! Pure numeric code: no Node-API here (that is the `atc-node` crate), no I/O, no panics on
//! any input that passes `batch::step`'s validation. `supertrend` is the Supertrend kernel
//! (../shared/spec/supertrend.md) over high, low and close, with the same lanes and state records.

pub mod account;
mod back;
pub mod batch;
pub mod direct;
pub mod error;
pub mod exp;
mod front;
pub mod job;
mod lanes;
pub mod plan;
pub mod supertrend;
pub mod testing;

pub use batch::{fresh_state, step, Outputs, Path, States, N_FLOAT_PLANES};
pub use error::KernelError;
pub use plan::{Plan, Switches};

/// Bumped whenever outputs or the state format change meaning.
pub const KERNEL_VERSION: &str = "atc-kernel/2";

#[cfg(test)]
mod tests;
