//! Darwin's columns and Arrow arrays, both ways: what the Parquet and Arrow IPC files and the
//! Arrow TCP source read becomes Darwin columns with one copy per buffer (no per-row work for
//! numbers and plain strings), and what the sinks write becomes Arrow arrays the same way.

mod from_columns;
mod to_columns;

pub use from_columns::{arrow_schema, record_batch};
pub use to_columns::{column_of, fits, locate, ConvertError};

/// Runs a step of a third-party decoder (arrow-rs, parquet): a panic in it, which some corrupt
/// inputs still cause behind the checks Darwin makes first, becomes an error message instead
/// of taking the worker down (and is not printed as a crash).
pub fn guarded<T>(step: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    quiet_panics_in_guard();
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(step));
    GUARDED.with(|g| g.set(g.get() - 1));
    result.unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(format!("the decoder failed on this input: {text}"))
    })
}

thread_local! {
    /// How many `guarded` steps this thread is inside.
    static GUARDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Wraps the panic hook once so that a panic inside `guarded` is left to its `catch_unwind`
/// (no message, and no abort by a hook that aborts); every other panic goes to the hook as before.
fn quiet_panics_in_guard() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) == 0 {
                previous(info);
            }
        }));
    });
}
