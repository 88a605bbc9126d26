//! Kernel errors. Each maps to one stable `ATC_ERR_*` code shared with the TypeScript layer.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum KernelError {
    /// A parameter outside its domain; `param` is the user-facing name.
    InvalidParam { param: String, message: String },
    /// Buffers of the wrong size or shape (a caller bug, not bad data).
    InvalidArgument(String),
    /// A close that is not finite and > 0; `bar` is the absolute bar index in its series.
    BadClose { series: usize, bar: u64, value: f64 },
    /// An input value that is not finite (NaN or infinite) in the named column.
    BadValue { series: usize, bar: u64, column: &'static str, value: f64 },
    /// A state record that is not a state of this kernel version.
    StateInvalid { record: usize, message: String },
    /// A state record made with other parameters or another profile.
    StateMismatch { record: usize },
    /// An engine that cannot run here (the CUDA engine without a usable GPU), with the reason.
    EngineUnavailable(String),
}

impl KernelError {
    pub fn code(&self) -> &'static str {
        match self {
            KernelError::InvalidParam { .. } => "ATC_ERR_INVALID_PARAM",
            KernelError::InvalidArgument(_) => "ATC_ERR_INVALID_ARGUMENT",
            KernelError::BadClose { .. } => "ATC_ERR_BAD_CLOSE",
            KernelError::BadValue { .. } => "ATC_ERR_BAD_VALUE",
            KernelError::StateInvalid { .. } => "ATC_ERR_STATE_INVALID",
            KernelError::StateMismatch { .. } => "ATC_ERR_STATE_MISMATCH",
            KernelError::EngineUnavailable(_) => "ATC_ERR_ENGINE_UNAVAILABLE",
        }
    }

    pub fn param(param: &str, message: String) -> Self {
        KernelError::InvalidParam { param: param.to_string(), message }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::InvalidParam { message, .. } => write!(f, "{message}"),
            KernelError::InvalidArgument(m) | KernelError::EngineUnavailable(m) => write!(f, "{m}"),
            KernelError::BadClose { series, bar, value } => {
                write!(f, "series {series}, bar {bar}: close must be finite and > 0, got {value}")
            }
            KernelError::BadValue { series, bar, column, value } => {
                write!(f, "series {series}, bar {bar}: {column} must be finite, got {value}")
            }
            KernelError::StateInvalid { record, message } => write!(f, "state record {record}: {message}"),
            KernelError::StateMismatch { record } => {
                write!(f, "state record {record} was made with other parameters or another profile")
            }
        }
    }
}

impl std::error::Error for KernelError {}
