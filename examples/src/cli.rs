//! The command lines of the example programs, each declared once.
//!
//! A program states its command line as a [`Program`]: its name, a paragraph on what it does,
//! its flags ([`Flag`]: value name, default, help) and example command lines. That one
//! declaration gives both the `-h`/`--help` text ([`Program::help`]) and the parsing (with
//! `lexopt`) into [`Args`], which the program reads by flag name with typed getters, so the
//! help cannot drift from what the program accepts. [`Program::main`] runs a program under the
//! conventions all of them share:
//!
//! - `-h` or `--help` anywhere prints the help on stdout and exits 0;
//! - the exit status is 0 on success, 1 on failure ([`Error::Failed`]) and 2 on bad usage
//!   ([`Error::Usage`]: an unknown flag, a missing or malformed value, flags that exclude each
//!   other);
//! - an error is one line on stderr after the program's name; a usage error names the flag
//!   and ends with `(try --help)`;
//! - the log (connection starts and ends, at `info` or `debug`) goes to stderr through
//!   `env_logger`, filtered by `RUST_LOG`, `info` unless set.
//!
//! The flags several programs share (`--addr` of a server, `--threads`, `--cert`/`--key`,
//! ...) are declared once, in [`flags`].
//!
//! ```
//! use pipebuf_examples::cli::{Flag, Parsed, Program};
//!
//! static CLI: Program = Program {
//!     name: "demo",
//!     about: "Shows how a program declares its command line.",
//!     operand: None,
//!     flags: &[
//!         Flag::value("threads", "N", "event loops").default("1"),
//!         Flag::switch("tls", "speak TLS"),
//!     ],
//!     examples: &["demo --threads 2 --tls"],
//! };
//!
//! let Ok(Parsed::Run(args)) = CLI.parse(["--tls"]) else { panic!() };
//! assert_eq!(args.get::<usize>("threads").unwrap(), 1);
//! assert!(args.is_set("tls"));
//! assert!(CLI.help().contains("--threads N"));
//! ```

use std::ffi::OsString;
use std::fmt::{self, Display};
use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use lexopt::Arg;

pub mod flags;

/// Width the help text is wrapped to.
const WIDTH: usize = 80;
/// Indentation of a flag's help under its name.
const INDENT: usize = 6;

/// One program's command line: what it does, its flags, examples.
#[derive(Debug)]
pub struct Program {
    /// The program's name, as in `cargo run --bin NAME`; it starts every error line.
    pub name: &'static str,
    /// One paragraph: what the program does and what it prints.
    pub about: &'static str,
    /// The one argument that is not a flag, if the program takes one.
    pub operand: Option<Operand>,
    /// Every flag the program accepts (`-h`/`--help` comes on top).
    pub flags: &'static [Flag],
    /// Whole command lines that work as shown (at least one).
    pub examples: &'static [&'static str],
}

/// An argument given without a flag name, such as `wss_client`'s URL.
#[derive(Debug)]
pub struct Operand {
    /// Its name in the usage line, e.g. `URL`.
    pub name: &'static str,
    /// What it is.
    pub help: &'static str,
}

/// A flag: `--name VALUE`, or `--name` alone (a switch).
#[derive(Debug)]
pub struct Flag {
    name: &'static str,
    /// The value's name in the help (`HOST:PORT`); `None` for a switch.
    value: Option<&'static str>,
    default: DefaultValue,
    help: &'static str,
}

/// What a value flag is when not given.
#[derive(Debug)]
enum DefaultValue {
    /// Absent: the program reads it with [`Args::opt`].
    Unset,
    /// Must be given.
    Required,
    /// This text, parsed like a given value.
    Value(&'static str),
    /// Computed by the program; this text describes it in the help.
    Described(&'static str),
}

impl Flag {
    /// A flag without a value, off unless given.
    pub const fn switch(name: &'static str, help: &'static str) -> Flag {
        Flag {
            name,
            value: None,
            default: DefaultValue::Unset,
            help,
        }
    }

    /// A flag taking one value, called `value_name` in the help; absent unless given a
    /// default with [`default`](Flag::default) or [`default_text`](Flag::default_text), or
    /// made [`required`](Flag::required).
    pub const fn value(name: &'static str, value_name: &'static str, help: &'static str) -> Flag {
        Flag {
            name,
            value: Some(value_name),
            default: DefaultValue::Unset,
            help,
        }
    }

    /// The value when the flag is not given, written as a user would give it: the help
    /// shows it and [`Args::get`] parses it.
    pub const fn default(self, value: &'static str) -> Flag {
        Flag {
            default: DefaultValue::Value(value),
            ..self
        }
    }

    /// A default the program computes (read with [`Args::opt`]), described for the help.
    pub const fn default_text(self, text: &'static str) -> Flag {
        Flag {
            default: DefaultValue::Described(text),
            ..self
        }
    }

    /// The flag must be given.
    pub const fn required(self) -> Flag {
        Flag {
            default: DefaultValue::Required,
            ..self
        }
    }

    /// The flag's name without the leading `--`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `--name VALUE`, or `--name` for a switch.
    fn synopsis(&self) -> String {
        match self.value {
            Some(value) => format!("--{} {value}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

/// Why a program stopped with an error, and so its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The command line is wrong: exit status 2, and a hint to try `--help`.
    Usage(String),
    /// The program could not do its work: exit status 1.
    Failed(String),
}

impl Error {
    /// A usage error (exit status 2); the message should name the flag.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// A failure (exit status 1).
    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed(message.into())
    }

    /// The exit status this error stands for.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::from(2),
            Error::Failed(_) => ExitCode::FAILURE,
        }
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => write!(f, "{message} (try --help)"),
            Error::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Most errors of a running program are failures; usage errors are made on purpose with
/// [`Error::usage`].
impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Failed(message)
    }
}

/// What a command line asks for.
#[derive(Debug)]
pub enum Parsed<'p> {
    /// `-h` or `--help`: print [`Program::help`].
    Help,
    /// Run with these arguments.
    Run(Args<'p>),
}

impl Program {
    /// Parses the process's arguments and runs the program with `run`: prints the help for
    /// `-h`/`--help`, starts the log, and turns the outcome into the exit status (see the
    /// module docs).
    pub fn main(&self, run: impl FnOnce(&Args<'_>) -> Result<(), Error>) -> ExitCode {
        let outcome = match self.parse(std::env::args_os().skip(1)) {
            Ok(Parsed::Help) => {
                // A closed stdout (`--help | head -1`) is no reason to fail.
                let _ = std::io::stdout().write_all(self.help().as_bytes());
                return ExitCode::SUCCESS;
            }
            Ok(Parsed::Run(args)) => {
                init_logging();
                run(&args)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}: {e}", self.name);
                e.exit_code()
            }
        }
    }

    /// Parses `args` (without the program's name).
    pub fn parse<I>(&self, args: I) -> Result<Parsed<'_>, Error>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut parser = lexopt::Parser::from_args(args);
        let mut given: Vec<(&'static str, Option<String>)> = Vec::new();
        let mut operand = None;
        while let Some(arg) = parser.next().map_err(lexopt_error)? {
            match arg {
                Arg::Short('h') | Arg::Long("help") => return Ok(Parsed::Help),
                Arg::Short(c) => return Err(Error::usage(format!("unknown flag -{c}"))),
                Arg::Long(name) => {
                    let flag = self
                        .flag(name)
                        .ok_or_else(|| Error::usage(format!("unknown flag --{name}")))?;
                    if given.iter().any(|(n, _)| *n == flag.name) {
                        return Err(Error::usage(format!("--{} given twice", flag.name)));
                    }
                    let value = match flag.value {
                        None => None,
                        Some(value_name) => {
                            let raw = parser.value().map_err(|_| {
                                Error::usage(format!("--{} needs {value_name}", flag.name))
                            })?;
                            Some(utf8(raw, &format!("--{}", flag.name))?)
                        }
                    };
                    given.push((flag.name, value));
                }
                Arg::Value(raw) => match &self.operand {
                    Some(op) if operand.is_none() => operand = Some(utf8(raw, op.name)?),
                    _ => return Err(Error::usage(format!("unexpected argument {raw:?}"))),
                },
            }
        }
        Ok(Parsed::Run(Args {
            program: self,
            given,
            operand,
        }))
    }

    /// The `--help` text: what the program does, usage, every flag with its default, exit
    /// status, logging, examples.
    pub fn help(&self) -> String {
        let mut out = String::new();
        out.push_str(&wrap(&format!("{}: {}", self.name, self.about), 0, 0));
        out.push('\n');
        let operand = match &self.operand {
            Some(op) => format!(" {}", op.name),
            None => String::new(),
        };
        out.push_str(&format!("Usage: {}{operand} [FLAGS]\n\n", self.name));
        if let Some(op) = &self.operand {
            out.push_str(&format!("  {}\n", op.name));
            out.push_str(&wrap(op.help, INDENT, INDENT));
            out.push('\n');
        }
        out.push_str("Flags:\n");
        for flag in self.flags {
            out.push_str(&format!("  {}\n", flag.synopsis()));
            let default = match (flag.value, &flag.default) {
                (None, _) => String::new(),
                (Some(_), DefaultValue::Unset) => " [default: not set]".into(),
                (Some(_), DefaultValue::Required) => " [required]".into(),
                (Some(_), DefaultValue::Value(v) | DefaultValue::Described(v)) => {
                    format!(" [default: {v}]")
                }
            };
            out.push_str(&wrap(&format!("{}{default}", flag.help), INDENT, INDENT));
        }
        out.push_str("  -h, --help\n");
        out.push_str(&wrap("Print this help and exit.", INDENT, INDENT));
        out.push_str("\nExit status: 0 success, 1 failure, 2 bad usage.\n");
        out.push_str(&wrap(
            "Log: on stderr, filtered by RUST_LOG (default: info; RUST_LOG=debug for more, \
             such as every connection of the echo servers; RUST_LOG=warn for less).",
            0,
            2,
        ));
        out.push_str("\nExamples:\n");
        for example in self.examples {
            out.push_str(&format!("  {example}\n"));
        }
        out
    }

    fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }
}

/// The parsed arguments of a program, read by flag name (without `--`).
///
/// Reading a flag the program did not declare is a bug in the program: a getter returns an
/// [`Error::Failed`] saying so (and [`is_set`](Args::is_set) panics in debug builds).
#[derive(Debug)]
pub struct Args<'p> {
    program: &'p Program,
    given: Vec<(&'static str, Option<String>)>,
    operand: Option<String>,
}

impl Args<'_> {
    /// Whether `--name` was given (a switch, or a value flag with any value).
    pub fn is_set(&self, name: &str) -> bool {
        debug_assert!(
            self.program.flag(name).is_some(),
            "--{name} is not declared"
        );
        self.given.iter().any(|(n, _)| *n == name)
    }

    /// The value of `--name` as given, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        debug_assert!(
            self.program.flag(name).is_some(),
            "--{name} is not declared"
        );
        self.given
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The operand, if given.
    pub fn operand(&self) -> Option<&str> {
        self.operand.as_deref()
    }

    /// The value of `--name` parsed as `T`: the given one, else the declared default. A
    /// value that does not parse, or a required flag not given, is a usage error naming
    /// the flag.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T, Error>
    where
        T::Err: Display,
    {
        let flag = self.declared(name)?;
        let text = match (self.text(name), &flag.default) {
            (Some(text), _) => text,
            (None, DefaultValue::Value(text)) => *text,
            (None, DefaultValue::Required) => {
                return Err(Error::usage(format!("{} is required", flag.synopsis())));
            }
            (None, DefaultValue::Unset | DefaultValue::Described(_)) => {
                return Err(Error::failed(format!(
                    "--{name} has no default value to read (a bug: read it with opt)"
                )));
            }
        };
        parse_value(flag, text)
    }

    /// The value of `--name` parsed as `T` if given, else `None` (whatever the default).
    pub fn opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, Error>
    where
        T::Err: Display,
    {
        let flag = self.declared(name)?;
        self.text(name)
            .map(|text| parse_value(flag, text))
            .transpose()
    }

    /// The value of `--name` (like [`get`](Args::get)) as the one of `choices` it names; any
    /// other value is a usage error listing them.
    pub fn choice<T: Copy>(&self, name: &str, choices: &[(&str, T)]) -> Result<T, Error> {
        let given: String = self.get(name)?;
        if let Some((_, value)) = choices.iter().find(|(word, _)| *word == given) {
            return Ok(*value);
        }
        let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
        let needs = match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.concat(),
        };
        Err(Error::usage(format!(
            "--{name} needs {needs}, got {given:?}"
        )))
    }

    /// The value of `--name` in seconds (fractions allowed), like [`get`](Args::get).
    pub fn secs(&self, name: &str) -> Result<Duration, Error> {
        let secs: f64 = self.get(name)?;
        self.duration(name, secs)
    }

    /// The value of `--name` in seconds if given, like [`opt`](Args::opt).
    pub fn opt_secs(&self, name: &str) -> Result<Option<Duration>, Error> {
        self.opt::<f64>(name)?
            .map(|secs| self.duration(name, secs))
            .transpose()
    }

    fn duration(&self, name: &str, secs: f64) -> Result<Duration, Error> {
        Duration::try_from_secs_f64(secs)
            .map_err(|e| Error::usage(format!("--{name} needs seconds, got {secs}: {e}")))
    }

    fn declared(&self, name: &str) -> Result<&Flag, Error> {
        self.program
            .flag(name)
            .ok_or_else(|| Error::failed(format!("--{name} is read but not declared (a bug)")))
    }
}

/// `text` parsed as the value of `flag`; the error names the flag and what it needs.
fn parse_value<T: FromStr>(flag: &Flag, text: &str) -> Result<T, Error>
where
    T::Err: Display,
{
    text.parse().map_err(|e| {
        let needs = flag.value.unwrap_or("a value");
        Error::usage(format!("--{} needs {needs}, got {text:?}: {e}", flag.name))
    })
}

/// `raw` as UTF-8; the error names `what` (the flag or operand).
fn utf8(raw: OsString, what: &str) -> Result<String, Error> {
    raw.into_string()
        .map_err(|raw| Error::usage(format!("{what}: {raw:?} is not UTF-8")))
}

/// lexopt's errors from `next`, named the way ours are.
fn lexopt_error(e: lexopt::Error) -> Error {
    match e {
        lexopt::Error::UnexpectedValue { option, value } => {
            Error::usage(format!("{option} takes no value, got {value:?}"))
        }
        other => Error::usage(other.to_string()),
    }
}

/// `text` wrapped at [`WIDTH`], the first line indented by `first`, the others by `rest`;
/// ends with a newline.
fn wrap(text: &str, first: usize, rest: usize) -> String {
    let mut out = String::new();
    let mut line = " ".repeat(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Starts the log: `env_logger` on stderr, `RUST_LOG` as the filter, `info` unless set.
/// A second call does nothing.
pub fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    static CLI: Program = Program {
        name: "demo",
        about: "A program for the parser's tests.",
        operand: None,
        flags: &[
            Flag::value("addr", "HOST:PORT", "where to listen").default("127.0.0.1:7007"),
            Flag::value("threads", "N", "event loops").default("1"),
            Flag::value("peer", "HOST:PORT", "where to connect").required(),
            Flag::value("ca", "PEM", "trust this CA").default_text("any certificate"),
            Flag::value("hold", "SECS", "how long to hold"),
            Flag::switch("tls", "speak TLS"),
            Flag::switch("handshakes", "measure handshakes"),
        ],
        examples: &["demo --peer 127.0.0.1:1 --tls"],
    };

    static WITH_OPERAND: Program = Program {
        name: "client",
        about: "A program with an operand.",
        operand: Some(Operand {
            name: "URL",
            help: "where to connect",
        }),
        flags: &[Flag::switch("insecure", "trust anyone")],
        examples: &["client ws://127.0.0.1:1/"],
    };

    fn run<'p>(program: &'p Program, args: &[&str]) -> Result<Args<'p>, Error> {
        match program.parse(args)? {
            Parsed::Run(args) => Ok(args),
            Parsed::Help => panic!("help asked for in {args:?}"),
        }
    }

    fn usage_message(result: Result<Args<'_>, Error>) -> String {
        match result {
            Err(Error::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn flags_with_values_are_read_by_name_and_parsed() {
        let args = run(&CLI, &["--addr", "127.0.0.1:0", "--threads", "2"]).unwrap();
        assert_eq!(args.text("addr"), Some("127.0.0.1:0"));
        assert_eq!(args.get::<usize>("threads"), Ok(2));
        assert_eq!(args.get::<std::net::SocketAddr>("addr").unwrap().port(), 0);
    }

    #[test]
    fn a_flag_not_given_has_its_declared_default() {
        let args = run(&CLI, &[]).unwrap();
        assert_eq!(args.get::<usize>("threads"), Ok(1));
        assert_eq!(args.text("threads"), None);
        assert!(!args.is_set("threads"));
        assert_eq!(args.opt::<String>("ca"), Ok(None));
    }

    #[test]
    fn an_equals_sign_joins_a_flag_and_its_value() {
        let args = run(&CLI, &["--threads=3"]).unwrap();
        assert_eq!(args.get::<usize>("threads"), Ok(3));
    }

    #[test]
    fn switches_take_no_value() {
        let args = run(&CLI, &["--tls", "--addr", "a", "--handshakes"]).unwrap();
        assert!(args.is_set("tls") && args.is_set("handshakes") && args.is_set("addr"));
        assert_eq!(args.text("addr"), Some("a"));
        assert!(!run(&CLI, &[]).unwrap().is_set("tls"));
        let message = usage_message(run(&CLI, &["--tls=yes"]));
        assert!(message.contains("--tls takes no value"), "{message}");
    }

    #[test]
    fn a_flag_given_twice_is_a_usage_error() {
        let message = usage_message(run(&CLI, &["--addr", "a", "--addr", "b"]));
        assert_eq!(message, "--addr given twice");
        let message = usage_message(run(&CLI, &["--tls", "--tls"]));
        assert_eq!(message, "--tls given twice");
    }

    #[test]
    fn an_unknown_flag_is_a_usage_error_that_names_it() {
        let message = usage_message(run(&CLI, &["--nope", "1"]));
        assert_eq!(message, "unknown flag --nope");
        let message = usage_message(run(&CLI, &["-x"]));
        assert_eq!(message, "unknown flag -x");
    }

    #[test]
    fn a_flag_without_its_value_is_a_usage_error_that_says_what_it_needs() {
        let message = usage_message(run(&CLI, &["--addr"]));
        assert_eq!(message, "--addr needs HOST:PORT");
    }

    #[test]
    fn a_malformed_value_is_a_usage_error_that_names_the_flag_and_the_value() {
        let args = run(&CLI, &["--addr", "x", "--threads", "lots"]).unwrap();
        let Err(Error::Usage(message)) = args.get::<std::net::SocketAddr>("addr") else {
            panic!("--addr x parsed");
        };
        assert!(
            message.starts_with("--addr needs HOST:PORT, got \"x\""),
            "{message}"
        );
        let Err(Error::Usage(message)) = args.get::<usize>("threads") else {
            panic!("--threads lots parsed");
        };
        assert!(
            message.starts_with("--threads needs N, got \"lots\""),
            "{message}"
        );
    }

    #[test]
    fn a_required_flag_not_given_is_a_usage_error_when_read() {
        let args = run(&CLI, &[]).unwrap();
        assert_eq!(
            args.get::<String>("peer"),
            Err(Error::usage("--peer HOST:PORT is required"))
        );
    }

    #[test]
    fn reading_an_undeclared_flag_is_a_failure_not_a_usage_error() {
        let args = run(&CLI, &[]).unwrap();
        assert!(matches!(args.get::<usize>("thread"), Err(Error::Failed(_))));
        assert!(matches!(args.get::<String>("ca"), Err(Error::Failed(_))));
    }

    #[test]
    fn a_choice_is_one_of_its_words_and_anything_else_is_a_usage_error() {
        let choices = [("one", 1), ("two", 2), ("three", 3)];
        let args = run(&CLI, &["--addr", "two"]).unwrap();
        assert_eq!(args.choice("addr", &choices), Ok(2));
        let args = run(&CLI, &["--addr", "four"]).unwrap();
        assert_eq!(
            args.choice("addr", &choices),
            Err(Error::usage("--addr needs one, two or three, got \"four\""))
        );
    }

    #[test]
    fn seconds_take_fractions_and_refuse_negative_values() {
        let args = run(&CLI, &["--hold", "0.25"]).unwrap();
        assert_eq!(args.opt_secs("hold"), Ok(Some(Duration::from_millis(250))));
        let args = run(&CLI, &["--hold", "-1"]).unwrap();
        assert!(matches!(args.opt_secs("hold"), Err(Error::Usage(_))));
    }

    #[test]
    fn a_stray_argument_is_a_usage_error_unless_the_program_takes_an_operand() {
        let message = usage_message(run(&CLI, &["stray"]));
        assert_eq!(message, "unexpected argument \"stray\"");
        let args = run(&WITH_OPERAND, &["ws://a/", "--insecure"]).unwrap();
        assert_eq!(args.operand(), Some("ws://a/"));
        assert!(args.is_set("insecure"));
        let message = usage_message(run(&WITH_OPERAND, &["ws://a/", "ws://b/"]));
        assert_eq!(message, "unexpected argument \"ws://b/\"");
    }

    #[test]
    fn help_is_asked_for_with_h_or_help_anywhere() {
        for args in [
            &["-h"][..],
            &["--help"],
            &["--tls", "--help"],
            &["--threads", "2", "-h"],
        ] {
            assert!(matches!(CLI.parse(args), Ok(Parsed::Help)), "{args:?}");
        }
    }

    #[test]
    fn help_shows_each_flag_with_its_default_and_the_examples() {
        let help = CLI.help();
        assert!(
            help.starts_with("demo: A program for the parser's tests.\n"),
            "{help}"
        );
        assert!(help.contains("Usage: demo [FLAGS]"), "{help}");
        assert!(help.contains("  --addr HOST:PORT\n"), "{help}");
        assert!(help.contains("[default: 127.0.0.1:7007]"), "{help}");
        assert!(help.contains("[default: any certificate]"), "{help}");
        assert!(help.contains("where to connect [required]"), "{help}");
        assert!(help.contains("  --tls\n"), "{help}");
        assert!(help.contains("  -h, --help\n"), "{help}");
        assert!(
            help.contains("Examples:\n  demo --peer 127.0.0.1:1 --tls\n"),
            "{help}"
        );
        assert!(help.lines().all(|l| l.len() <= WIDTH), "{help}");
        let help = WITH_OPERAND.help();
        assert!(help.contains("Usage: client URL [FLAGS]"), "{help}");
    }

    #[test]
    fn usage_errors_exit_2_with_a_hint_and_failures_exit_1() {
        let usage = Error::usage("unknown flag --x");
        assert_eq!(usage.to_string(), "unknown flag --x (try --help)");
        assert_eq!(usage.exit_code(), ExitCode::from(2));
        let failed = Error::from(String::from("cannot listen"));
        assert_eq!(failed.to_string(), "cannot listen");
        assert_eq!(failed.exit_code(), ExitCode::FAILURE);
    }

    #[test]
    fn long_help_text_is_wrapped_with_its_indentation() {
        let text = "word ".repeat(40);
        let wrapped = wrap(&text, 6, 6);
        assert!(wrapped.lines().count() > 1);
        assert!(
            wrapped
                .lines()
                .all(|l| l.starts_with("      word") && l.len() <= WIDTH)
        );
    }
}
