//! Bounded echoes of user input in error messages. A message that quotes a value, a cell or a line of
//! the input shows at most [`ECHO_CHARS`] characters of it, cut on a character boundary, followed by an
//! ellipsis and the original length: a 4 MB field gives a short error line.
//!
//! [`excerpt`] and [`quoted`] are for the places that build messages; [`bound_message`] is the net under
//! all of them, applied to every [`InputError`](crate::error::InputError) and to every message the CLI
//! prints: any quoted span (between backticks or double quotes) or unbroken word longer than
//! [`SPAN_CHARS`] is cut to [`ECHO_CHARS`], a number longer than [`NUMBER_CHARS`] (Rust prints `1e308` as
//! 309 digits) is written in scientific notation, and a message longer than [`MESSAGE_CHARS`] keeps its
//! head and tail. Short messages are returned unchanged, and bounding a bounded message changes nothing.

use std::borrow::Cow;

/// Most characters of an input value a message quotes.
pub const ECHO_CHARS: usize = 80;
/// A quoted span or an unbroken word longer than this (in characters) is cut to [`ECHO_CHARS`].
pub const SPAN_CHARS: usize = 100;
/// A number written with more characters than this is shown in scientific notation.
pub const NUMBER_CHARS: usize = 24;
/// Longest message, in characters: a longer one keeps [`HEAD_CHARS`] and [`TAIL_CHARS`] of it.
pub const MESSAGE_CHARS: usize = 2000;
const HEAD_CHARS: usize = 1500;
const TAIL_CHARS: usize = 300;
/// Longest file path shown, in characters: a longer one keeps its end (the file name).
pub const PATH_CHARS: usize = 200;

/// The first `n` characters of `text` (all of it when shorter), cut on a character boundary.
fn head(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// The last `n` characters of `text` (all of it when shorter).
fn tail(text: &str, n: usize) -> &str {
    match n
        .checked_sub(1)
        .and_then(|k| text.char_indices().rev().nth(k))
    {
        Some((i, _)) => &text[i..],
        None if n == 0 => "",
        None => text,
    }
}

/// ` (N chars)`: the original length of a cut echo.
fn length_note(chars: usize) -> String {
    format!(" ({chars} chars)")
}

/// `text` as it may be echoed: unchanged when at most [`ECHO_CHARS`] characters, else its first
/// [`ECHO_CHARS`] characters, `…` and the original length: `aaaa… (4194304 chars)`.
pub fn excerpt(text: &str) -> Cow<'_, str> {
    let cut = head(text, ECHO_CHARS);
    if cut.len() == text.len() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{cut}…{}", length_note(text.chars().count())))
    }
}

/// `text` in backticks, cut like [`excerpt`] with the length note outside them: `` `aaaa…` (4194304 chars) ``.
pub fn quoted(text: &str) -> String {
    let cut = head(text, ECHO_CHARS);
    if cut.len() == text.len() {
        format!("`{text}`")
    } else {
        format!("`{cut}…`{}", length_note(text.chars().count()))
    }
}

/// `text` with control and non-printing characters escaped (`\n`, `\u{feff}`) in backticks, at most
/// [`ECHO_CHARS`] characters of escaped text, then `…` and the original length when cut.
pub fn quoted_escaped(text: &str) -> String {
    let mut out = String::from("`");
    let mut shown = 0;
    let mut cut = false;
    for c in text.chars() {
        let e = c.escape_debug();
        let n = e.len();
        if shown + n > ECHO_CHARS {
            cut = true;
            break;
        }
        shown += n;
        out.extend(e);
    }
    if cut {
        out.push_str("…`");
        out.push_str(&length_note(text.chars().count()));
    } else {
        out.push('`');
    }
    out
}

/// A file path as shown in messages: at most [`PATH_CHARS`] characters, keeping the end (`…` and the
/// last characters, so it still ends with the file name).
pub fn bound_path(path: &str) -> Cow<'_, str> {
    if path.len() <= PATH_CHARS || path.chars().count() <= PATH_CHARS {
        return Cow::Borrowed(path);
    }
    Cow::Owned(format!("…{}", tail(path, PATH_CHARS - 1)))
}

fn is_quote(c: char) -> bool {
    c == '`' || c == '"'
}

/// A long word that is a number (possibly followed by punctuation), in scientific notation.
fn as_scientific(word: &str) -> Option<String> {
    let body = word.trim_end_matches([',', '.', ';', ':', ')', ']']);
    let rest = &word[body.len()..];
    let body_trim = body.trim_start_matches(['(', '[']);
    let lead = &body[..body.len() - body_trim.len()];
    let v: f64 = body_trim.parse().ok()?;
    Some(format!("{lead}{v:e}{rest}"))
}

/// Appends `word` (no whitespace, no quote) to `out`, shortened when long.
fn push_word(out: &mut String, word: &str) {
    if word.len() <= NUMBER_CHARS {
        out.push_str(word);
        return;
    }
    let chars = word.chars().count();
    if chars > NUMBER_CHARS
        && let Some(s) = as_scientific(word)
    {
        out.push_str(&s);
    } else if chars > SPAN_CHARS {
        out.push_str(head(word, ECHO_CHARS));
        out.push('…');
        out.push_str(&length_note(chars));
    } else {
        out.push_str(word);
    }
}

/// Every long quoted span and word of `msg` cut, long numbers in scientific notation (see the module
/// docs); at most [`MESSAGE_CHARS`] characters in all. Unchanged when nothing is long.
pub fn bound_message(msg: &str) -> Cow<'_, str> {
    // Fast path: nothing can be long.
    if msg.len() <= NUMBER_CHARS {
        return Cow::Borrowed(msg);
    }
    let mut out = String::with_capacity(msg.len().min(MESSAGE_CHARS * 4));
    let mut rest = msg;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if is_quote(c)
            && let Some(end) = rest[1..].find(c)
        {
            let span = &rest[1..1 + end];
            let chars = span.chars().count();
            out.push(c);
            if chars > SPAN_CHARS {
                out.push_str(head(span, ECHO_CHARS));
                out.push('…');
                out.push(c);
                out.push_str(&length_note(chars));
            } else {
                out.push_str(span);
                out.push(c);
            }
            rest = &rest[2 + end..];
            continue;
        }
        // A word: up to the next whitespace or quote (a lone quote char is part of the word).
        let first = c.len_utf8();
        let len = rest[first..]
            .find(|ch: char| ch.is_whitespace() || is_quote(ch))
            .map_or(rest.len(), |i| first + i);
        push_word(&mut out, &rest[..len]);
        rest = &rest[len..];
    }
    let total = out.chars().count();
    if total > MESSAGE_CHARS {
        out = format!(
            "{} … {} ({total} chars in all)",
            head(&out, HEAD_CHARS),
            tail(&out, TAIL_CHARS)
        );
    }
    if out == msg {
        Cow::Borrowed(msg)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        for m in [
            "",
            "must be ≥ 1, found 0",
            "unknown column `queue` in the header; accepted columns: `a`, `b`",
            "cannot read `1.2.3` as a value (x); give numbers as `3600`, e.g. {\"Exponential\":{\"mean_s\":60.0}}",
            "a lone ` backtick and a \" quote",
            "seed 18446744073709551615 and -1.5e-300",
        ] {
            assert_eq!(bound_message(m), m);
        }
        assert_eq!(excerpt("abc"), "abc");
        assert_eq!(quoted("abc"), "`abc`");
        assert_eq!(quoted_escaped("a\nb"), "`a\\nb`");
        assert_eq!(bound_path("/a/b.ron"), "/a/b.ron");
    }

    #[test]
    fn long_echoes_are_cut_with_their_length() {
        let big = "é".repeat(4 << 20);
        let e = excerpt(&big);
        assert_eq!(e, format!("{}… ({} chars)", "é".repeat(80), 4 << 20));
        assert_eq!(
            quoted(&big),
            format!("`{}…` ({} chars)", "é".repeat(80), 4 << 20)
        );
        let q = quoted_escaped(&"\n".repeat(100));
        assert_eq!(q, format!("`{}…` (100 chars)", "\\n".repeat(40)));
        let m = format!("found `{big}` in the cell");
        let b = bound_message(&m);
        assert_eq!(
            b,
            format!(
                "found `{}…` ({} chars) in the cell",
                "é".repeat(80),
                4 << 20
            )
        );
        // Bounding twice changes nothing.
        assert_eq!(bound_message(&b), b);
        let m = format!(
            "invalid type: string \"{}\", expected u64",
            "x y ".repeat(1000)
        );
        let b = bound_message(&m);
        assert!(b.ends_with("(4000 chars), expected u64"), "{b}");
        let m = format!("catalog has: {}, H100", "Z".repeat(500));
        let b = bound_message(&m);
        assert_eq!(
            b,
            format!("catalog has: {}… (501 chars) H100", "Z".repeat(80))
        );
        assert_eq!(bound_message(&b), b);
    }

    #[test]
    fn long_numbers_become_scientific() {
        let m = format!("found {}", 1e308);
        assert_eq!(bound_message(&m), "found 1e308");
        let m = format!("(0, {}]", 1e30);
        assert_eq!(bound_message(&m), "(0, 1e30]");
        assert_eq!(bound_message(&format!("x {}.", -1e40)), "x -1e40.");
    }

    #[test]
    fn long_messages_keep_head_and_tail() {
        let m = "word ".repeat(2000);
        let b = bound_message(&m);
        assert!(b.chars().count() < MESSAGE_CHARS, "{}", b.len());
        assert!(b.ends_with("(10000 chars in all)"), "{b}");
        assert_eq!(bound_message(&b), b);
        let p = format!("/{}/x.csv", "d".repeat(5000));
        let s = bound_path(&p);
        assert!(s.starts_with('…') && s.ends_with("ddd/x.csv"), "{s}");
        assert_eq!(s.chars().count(), PATH_CHARS);
    }
}
