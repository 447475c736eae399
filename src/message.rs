//! How the CLI prints input errors: `--message-format human` (the default: `error: file:line:col: …`)
//! or `json` (one object per line, `{"file":…,"line":…,"column":…,"field":…,"message":…}`, `null` where
//! unknown; docs/scenarios.md §Errors). Every message is bounded ([`scenario::echo::bound_message`]).

use clap::ValueEnum;
use scenario::InputError;
use scenario::echo::bound_message;
use scenario::error::json_line;

/// `--message-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// `error: file:line:col: message` (one line).
    #[default]
    Human,
    /// One JSON object per error line: file, line, column, field, message.
    Json,
}

/// An input error as the CLI has it: placed in a file, or only a message (a bad flag or option).
pub enum InputProblem {
    At(InputError),
    Text(String),
}

/// Prints an input error to stderr in `format`.
pub fn print_input(format: MessageFormat, problem: &InputProblem) {
    match (format, problem) {
        (MessageFormat::Human, InputProblem::At(e)) => eprintln!("error: {e}"),
        (MessageFormat::Human, InputProblem::Text(m)) => eprintln!("error: {}", bound_message(m)),
        (MessageFormat::Json, InputProblem::At(e)) => eprintln!("{}", e.to_json()),
        (MessageFormat::Json, InputProblem::Text(m)) => {
            eprintln!("{}", json_line(None, None, None, None, m))
        }
    }
}

/// Whether the raw arguments ask for JSON messages (used when clap itself rejects the command line).
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.iter().any(|a| a == "--message-format=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--message-format" && w[1] == "json")
}

/// Parses the command line. A usage error is printed by clap as usual (bounded when a huge value would
/// be echoed), or as one JSON line when `--message-format json` was given; help and version print as
/// usual.
pub fn parse<P: clap::Parser>() -> P {
    let e = match P::try_parse() {
        Ok(p) => return p,
        Err(e) => e,
    };
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    if json_requested() {
        eprintln!("{}", json_line(None, None, None, None, first));
        std::process::exit(e.exit_code());
    }
    if bound_message(&text).len() == text.len() {
        e.exit();
    }
    for line in text.lines() {
        eprintln!("{}", bound_message(line));
    }
    std::process::exit(e.exit_code());
}
