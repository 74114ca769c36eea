//! SIGTERM and SIGINT while a query runs: the first asks the run to stop gracefully (the
//! driver polls [`requested`]); a second ends the process at once with the signal's exit code
//! (128 plus its number), as an impatient user expects. Handlers are installed when a run
//! starts ([`install`]), so a signal during planning or compiling ends the process as usual.

use darwin_runtime::StopRequest;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The signals a run stops on.
const STOP_SIGNALS: [(i32, &str); 2] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")];

struct Flags {
    /// The number of the last stop signal received (0: none).
    signo: Arc<AtomicUsize>,
    /// Set by the first signal: arms the immediate exit on the next one.
    armed: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Option<Flags>> = OnceLock::new();

/// Installs the handlers (once per process; later calls do nothing). If the system refuses,
/// signals keep their default action (the process ends at once), which is what it did before.
pub fn install() {
    FLAGS.get_or_init(|| {
        let flags = Flags { signo: Arc::default(), armed: Arc::default() };
        for (sig, _) in STOP_SIGNALS {
            // The immediate exit must be registered first: it runs before the flag is set, so
            // the first signal finds it disarmed.
            let code = 128 + sig;
            signal_hook::flag::register_conditional_shutdown(sig, code, flags.armed.clone()).ok()?;
            signal_hook::flag::register_usize(sig, flags.signo.clone(), sig as usize).ok()?;
            signal_hook::flag::register(sig, flags.armed.clone()).ok()?;
        }
        Some(flags)
    });
}

/// The stop signal received since [`install`], if any.
pub fn requested() -> Option<StopRequest> {
    let flags = FLAGS.get()?.as_ref()?;
    let signo = flags.signo.load(Ordering::SeqCst) as i32;
    STOP_SIGNALS.iter().find(|(s, _)| *s == signo).map(|(s, name)| StopRequest { signo: *s, name: (*name).to_string() })
}
