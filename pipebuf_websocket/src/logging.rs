//! Records through the `log` facade when the crate's `log` feature is on. Without it the
//! macros expand to code that type-checks their arguments and is never run, so call sites
//! need no `cfg` of their own and no variable goes unused.

/// A record at `$level` (a `log` macro name: `debug`, `info`, `warn`, `error`, `trace`).
macro_rules! log_at {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "log")]
        ::log::$level!($($arg)+);
        #[cfg(not(feature = "log"))]
        if false {
            let _ = ::core::format_args!($($arg)+);
        }
    }};
}
