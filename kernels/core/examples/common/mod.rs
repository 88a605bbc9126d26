// Shared by the examples: the symbol count and the seeded synthetic market (atc_core::testing).
pub use atc_core::testing::synthetic;

/// Symbols from $NSYM (default 1000).
pub fn symbols() -> usize {
    std::env::var("NSYM").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
}
