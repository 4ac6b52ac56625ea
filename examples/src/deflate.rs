//! The permessage-deflate flags (RFC 7692) of the WebSocket programs, declared once.
//!
//! A program that compresses only when asked declares [`DEFLATE`] and [`DEFLATE_CONTEXT`]
//! and reads them with [`deflate_config`]; one that compresses unless told not to (the chat:
//! browsers always offer it) declares [`NO_DEFLATE`] and [`DEFLATE_CONTEXT`] and reads them
//! with [`deflate_config_on_by_default`]. Either gives the
//! [`WsConfig::deflate`](pipebuf_websocket::WsConfig::deflate) to use: `None` declines
//! (server) or does not offer (client) compression.
//!
//! ```
//! use pipebuf_examples::cli::{Parsed, Program};
//! use pipebuf_examples::deflate::{DEFLATE, DEFLATE_CONTEXT, deflate_config};
//! use pipebuf_websocket::deflate::ContextTakeover;
//!
//! static CLI: Program = Program {
//!     name: "demo",
//!     about: "Shows the deflate flags.",
//!     operand: None,
//!     flags: &[DEFLATE, DEFLATE_CONTEXT],
//!     examples: &["demo --deflate --deflate-context reset"],
//! };
//!
//! let Ok(Parsed::Run(args)) = CLI.parse(["--deflate", "--deflate-context", "reset"]) else {
//!     panic!()
//! };
//! let config = deflate_config(&args).unwrap().expect("asked for");
//! assert_eq!(config.own_context, ContextTakeover::Reset);
//! assert_eq!(config.peer_context, ContextTakeover::Reset);
//! ```

use pipebuf_websocket::deflate::{ContextTakeover, DeflateConfig};

use crate::cli::{Args, Error, Flag};

/// `--deflate`: offer (client) or accept (server) permessage-deflate.
pub const DEFLATE: Flag = Flag::switch(
    "deflate",
    "Compress messages with permessage-deflate (RFC 7692) when the peer agrees: a client \
     offers it, a server accepts offers.",
);

/// `--no-deflate`: for a program that compresses by default, decline permessage-deflate.
pub const NO_DEFLATE: Flag = Flag::switch(
    "no-deflate",
    "Decline permessage-deflate (RFC 7692), which is accepted by default: every message \
     goes uncompressed.",
);

/// `--deflate-context keep|reset`: whether both compressors keep their window between
/// messages.
pub const DEFLATE_CONTEXT: Flag = Flag::value(
    "deflate-context",
    "keep|reset",
    "With compression: `keep` keeps each side's window from one message to the next (better \
     ratio, about 354 KiB per connection); `reset` asks for no context takeover both ways \
     (memory only while a message is compressed).",
)
.default("keep");

/// The permessage-deflate settings from [`DEFLATE`] and [`DEFLATE_CONTEXT`]: `None` without
/// `--deflate`. `--deflate-context` without `--deflate`, or with a value other than `keep`
/// or `reset`, is a usage error naming the flag.
pub fn deflate_config(args: &Args<'_>) -> Result<Option<DeflateConfig>, Error> {
    if !args.is_set(DEFLATE.name()) {
        return match args.text(DEFLATE_CONTEXT.name()) {
            // Silently ignoring it would let a user believe a setting is in force.
            Some(_) => Err(Error::usage("--deflate-context needs --deflate")),
            None => Ok(None),
        };
    }
    config_with_context(args).map(Some)
}

/// The permessage-deflate settings from [`NO_DEFLATE`] and [`DEFLATE_CONTEXT`]: compression
/// unless `--no-deflate`. `--deflate-context` with `--no-deflate`, or with a value other
/// than `keep` or `reset`, is a usage error naming the flag.
pub fn deflate_config_on_by_default(args: &Args<'_>) -> Result<Option<DeflateConfig>, Error> {
    if args.is_set(NO_DEFLATE.name()) {
        return match args.text(DEFLATE_CONTEXT.name()) {
            Some(_) => Err(Error::usage(
                "--deflate-context and --no-deflate exclude each other",
            )),
            None => Ok(None),
        };
    }
    config_with_context(args).map(Some)
}

/// The library's defaults with the context takeover of `--deflate-context`, both ways.
fn config_with_context(args: &Args<'_>) -> Result<DeflateConfig, Error> {
    let context = args.choice(
        DEFLATE_CONTEXT.name(),
        &[
            ("keep", ContextTakeover::Keep),
            ("reset", ContextTakeover::Reset),
        ],
    )?;
    Ok(DeflateConfig {
        own_context: context,
        peer_context: context,
        ..DeflateConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Parsed, Program};

    /// A program declaring only `flags`, for these tests.
    const fn program(
        name: &'static str,
        flags: &'static [Flag],
        example: &'static [&'static str],
    ) -> Program {
        Program {
            name,
            about: "Declares deflate flags.",
            operand: None,
            flags,
            examples: example,
        }
    }

    /// Compresses when asked.
    static OPT_IN: Program = program("opt_in", &[DEFLATE, DEFLATE_CONTEXT], &["opt_in --deflate"]);

    /// Compresses unless told not to.
    static OPT_OUT: Program = program(
        "opt_out",
        &[NO_DEFLATE, DEFLATE_CONTEXT],
        &["opt_out --no-deflate"],
    );

    fn args<'p>(program: &'p Program, given: &[&str]) -> Args<'p> {
        match program.parse(given) {
            Ok(Parsed::Run(args)) => args,
            other => panic!("{given:?} did not parse to a run: {other:?}"),
        }
    }

    fn usage(result: Result<Option<DeflateConfig>, Error>) -> String {
        match result {
            Err(Error::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn without_the_switch_a_program_does_not_compress() {
        assert_eq!(deflate_config(&args(&OPT_IN, &[])), Ok(None));
    }

    #[test]
    fn the_switch_alone_keeps_the_context_both_ways_as_browsers_do() {
        let config = deflate_config(&args(&OPT_IN, &["--deflate"])).unwrap();
        assert_eq!(config, Some(DeflateConfig::default()));
    }

    #[test]
    fn reset_asks_for_no_context_takeover_both_ways() {
        let given = ["--deflate", "--deflate-context", "reset"];
        let config = deflate_config(&args(&OPT_IN, &given)).unwrap().unwrap();
        assert_eq!(config.own_context, ContextTakeover::Reset);
        assert_eq!(config.peer_context, ContextTakeover::Reset);
    }

    #[test]
    fn a_bad_context_is_a_usage_error_that_names_the_flag() {
        let given = ["--deflate", "--deflate-context", "sometimes"];
        let message = usage(deflate_config(&args(&OPT_IN, &given)));
        assert_eq!(
            message,
            "--deflate-context needs keep or reset, got \"sometimes\""
        );
    }

    #[test]
    fn a_context_without_compression_is_a_usage_error() {
        let message = usage(deflate_config(&args(
            &OPT_IN,
            &["--deflate-context", "reset"],
        )));
        assert_eq!(message, "--deflate-context needs --deflate");
        let given = ["--no-deflate", "--deflate-context", "keep"];
        let message = usage(deflate_config_on_by_default(&args(&OPT_OUT, &given)));
        assert!(message.contains("exclude each other"), "{message}");
    }

    #[test]
    fn a_program_that_compresses_by_default_stops_only_when_told() {
        let on = deflate_config_on_by_default(&args(&OPT_OUT, &[])).unwrap();
        assert_eq!(on, Some(DeflateConfig::default()));
        let reset = deflate_config_on_by_default(&args(&OPT_OUT, &["--deflate-context=reset"]))
            .unwrap()
            .unwrap();
        assert_eq!(reset.own_context, ContextTakeover::Reset);
        let off = deflate_config_on_by_default(&args(&OPT_OUT, &["--no-deflate"])).unwrap();
        assert_eq!(off, None);
    }

    #[test]
    fn the_help_names_the_flags_and_the_default_context() {
        let help = OPT_IN.help();
        assert!(help.contains("  --deflate\n"), "{help}");
        assert!(help.contains("  --deflate-context keep|reset\n"), "{help}");
        assert!(help.contains("[default: keep]"), "{help}");
        assert!(OPT_OUT.help().contains("  --no-deflate\n"));
    }
}
