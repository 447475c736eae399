//! Seeded mutation of text inputs for the fuzz test: a file is split into tokens (numbers, words, strings,
//! punctuation, spaces) and changed by deleting, duplicating or swapping tokens, setting numbers to
//! extremes, emptying or inflating strings, swapping words, cutting the file, repeating or dropping lines,
//! or inserting a byte that is not UTF-8. Everything follows from one `u64` seed (SplitMix64), so a case
//! is reproduced by its seed alone.

/// SplitMix64: small, fast and stable across versions (the cases must not change with a dependency).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed of case `i` of a run seeded `seed`.
pub fn case_seed(seed: u64, i: u64) -> u64 {
    Rng::new(seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Space,
    Number,
    Word,
    Str,
    Punct,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    text: String,
}

fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let kind = if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            Kind::Space
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            Kind::Str
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || matches!(chars[i], '.' | '_' | '-' | '+' | ':'))
            {
                i += 1;
            }
            Kind::Number
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Kind::Word
        } else {
            i += 1;
            Kind::Punct
        };
        out.push(Token {
            kind,
            text: chars[start..i].iter().collect(),
        });
    }
    out
}

/// Numbers a mutation may write: the extremes the brief names and a few more that break ranges.
pub const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "-0.0",
    "1e19",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "-inf",
    "1e-9",
    "4294967296",
    "18446744073709551616",
    "0.5",
];

/// Characters a mutation may insert.
const PUNCT: &[&str] = &["(", ")", ",", "[", "]", ":", "\"", "{", "}", "/", "\\"];

/// Length of an inflated string.
const HUGE_STRING: usize = 100_000;

fn indices(toks: &[Token], f: impl Fn(&Token) -> bool) -> Vec<usize> {
    toks.iter()
        .enumerate()
        .filter(|(_, t)| f(t))
        .map(|(i, _)| i)
        .collect()
}

/// One token-level mutation; a description of it, or `None` when the text has nothing it applies to.
/// `values_only`: only numbers, strings and words change (the syntax mostly survives, so the checks
/// behind the parser are reached).
fn mutate_tokens(toks: &mut Vec<Token>, rng: &mut Rng, values_only: bool) -> Option<String> {
    let solid = indices(toks, |t| t.kind != Kind::Space);
    if solid.is_empty() {
        return None;
    }
    let kind = if values_only {
        3 + rng.below(4)
    } else {
        rng.below(8)
    };
    match kind {
        0 => {
            let i = *rng.pick(&solid);
            let t = toks.remove(i);
            Some(format!("deleted `{}`", short(&t.text)))
        }
        1 => {
            let i = *rng.pick(&solid);
            let t = toks[i].clone();
            toks.insert(i, t.clone());
            Some(format!("duplicated `{}`", short(&t.text)))
        }
        2 => {
            let (a, b) = (*rng.pick(&solid), *rng.pick(&solid));
            toks.swap(a, b);
            Some(format!(
                "swapped `{}` and `{}`",
                short(&toks[b].text),
                short(&toks[a].text)
            ))
        }
        3 | 4 => {
            let numbers = indices(toks, |t| t.kind == Kind::Number);
            let i = *rng.pick(if numbers.is_empty() { &solid } else { &numbers });
            let v = rng.pick(EXTREMES);
            let old = std::mem::replace(&mut toks[i].text, v.to_string());
            Some(format!("number `{}` → {v}", short(&old)))
        }
        5 => {
            let strings = indices(toks, |t| t.kind == Kind::Str);
            let i = *rng.pick(if strings.is_empty() { &solid } else { &strings });
            let new = if rng.below(2) == 0 {
                "\"\"".to_string()
            } else {
                format!("\"{}\"", "x".repeat(HUGE_STRING))
            };
            let old = std::mem::replace(&mut toks[i].text, new);
            Some(format!("string `{}` emptied or inflated", short(&old)))
        }
        6 => {
            let words = indices(toks, |t| t.kind == Kind::Word);
            if words.len() < 2 {
                return None;
            }
            let (a, b) = (*rng.pick(&words), *rng.pick(&words));
            let w = toks[b].text.clone();
            let old = std::mem::replace(&mut toks[a].text, w.clone());
            Some(format!("word `{}` → `{}`", short(&old), short(&w)))
        }
        _ => {
            let i = rng.below(toks.len() + 1);
            let p = rng.pick(PUNCT);
            toks.insert(
                i,
                Token {
                    kind: Kind::Punct,
                    text: p.to_string(),
                },
            );
            Some(format!("inserted `{p}`"))
        }
    }
}

fn short(s: &str) -> String {
    let e: String = s.chars().take(40).collect();
    if e.len() < s.len() { e + "…" } else { e }
}

/// One line- or byte-level mutation of `bytes`.
fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    let lines: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i < bytes.len())
        .collect();
    let line_span = |rng: &mut Rng| {
        let k = rng.below(lines.len().max(1));
        let start = lines.get(k).copied().unwrap_or(0);
        let end = lines.get(k + 1).copied().unwrap_or(bytes.len());
        (start, end)
    };
    match rng.below(4) {
        0 => {
            let at = rng.below(bytes.len() + 1);
            bytes.truncate(at);
            format!("cut at byte {at}")
        }
        1 => {
            let (s, e) = line_span(rng);
            let line = bytes[s..e].to_vec();
            bytes.splice(s..s, line);
            format!("repeated the line at byte {s}")
        }
        2 => {
            let (s, e) = line_span(rng);
            bytes.drain(s..e);
            format!("dropped the line at byte {s}")
        }
        _ => {
            let at = rng.below(bytes.len() + 1);
            let b = *rng.pick(&[0xFF, 0xC3, 0xE2, 0x80, 0x00]);
            bytes.insert(at, b);
            format!("inserted byte 0x{b:02X} at {at}")
        }
    }
}

/// `text` with 1 to 3 mutations drawn from `seed`; the mutated bytes and what was done. Half the cases
/// change values only (numbers, strings, words); the others also change the structure, lines and bytes.
pub fn mutate(text: &str, seed: u64) -> (Vec<u8>, Vec<String>) {
    let mut rng = Rng::new(seed);
    let n = 1 + rng.below(3);
    let values_only = rng.below(2) == 0;
    let mut toks = tokens(text);
    let mut done = Vec::new();
    let mut byte_level = Vec::new();
    for _ in 0..n {
        if !values_only && rng.below(5) == 0 {
            byte_level.push(rng.next_u64());
        } else if let Some(d) = mutate_tokens(&mut toks, &mut rng, values_only) {
            done.push(d);
        }
    }
    let mut bytes: Vec<u8> = toks.iter().flat_map(|t| t.text.bytes()).collect();
    for s in byte_level {
        done.push(mutate_bytes(&mut bytes, &mut Rng::new(s)));
    }
    (bytes, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_mutations_repeat() {
        let text = "Scenario(name: \"a b\", x: -1.5e3, t: 2023-11-16 18:17:03, k: Fifo)\n1,2\n";
        let toks = tokens(text);
        assert_eq!(
            toks.iter().map(|t| t.text.as_str()).collect::<String>(),
            text
        );
        assert!(
            toks.iter()
                .any(|t| t.kind == Kind::Str && t.text == "\"a b\"")
        );
        assert!(
            toks.iter()
                .any(|t| t.kind == Kind::Number && t.text == "-1.5e3")
        );
        for seed in 0..200 {
            assert_eq!(mutate(text, seed), mutate(text, seed));
        }
        assert_ne!(mutate(text, 1).0, mutate(text, 2).0);
    }
}
