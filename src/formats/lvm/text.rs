//! The libdm config grammar that LVM2 metadata text is written in (`libdm/libdm-config.c`,
//! formats.md §1.7): a tree of `key = value` items and `key { ... }` sections.
//!
//! The tokenizer follows libdm's `_get_token` token by token, because the grammar is defined by
//! it rather than by a spec: a token is read as a value (integer, float, bare word) only right
//! after `=`, `[` or `,`; elsewhere the same characters form an identifier. One consequence:
//! commas between array elements are only optional before quoted strings (`[1 2]` is an error
//! in libdm too, `["a" "b"]` is fine). Where libdm silently accepts nonsense, this parser
//! refuses it instead, and says so in the error: an unterminated quoted string (libdm drops the
//! last character and carries on), an integer that overflows or has no digits (libdm's
//! `strtoll` clamps or returns 0).
//!
//! Bounded: nesting depth ([`MAX_DEPTH`]) and the total number of keys and values
//! ([`MAX_NODES`]) are capped, so hostile text cannot exhaust the stack or memory. A NUL byte
//! ends the input, as in libdm (on-disk metadata is NUL-terminated, formats.md §1.6 step 5).
//!
//! Duplicate keys are kept in file order: on-disk metadata is parsed by lvm2 without the
//! duplicate check (`dm_config_parse_without_dup_node_check`), and its lookups take the first
//! match, which [`Section::get`] does too.

use std::fmt;

/// Deepest nesting accepted. LVM2 metadata nests at most 6 levels
/// (root, VG, `logical_volumes`, LV, segment, thin message or cache policy settings).
pub const MAX_DEPTH: usize = 16;

/// Most keys plus scalar values accepted in one text (about 30 per LV: ~8000 LVs).
pub const MAX_NODES: usize = 1 << 18;

/// A scalar or an array, as libdm types them (`DM_CFG_INT`, `DM_CFG_FLOAT`, `DM_CFG_STRING`,
/// `DM_CFG_EMPTY_ARRAY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `strtoll(.., 0)` of the token: decimal, or octal with a leading `0`.
    Int(i64),
    /// Kept as written; LVM2 metadata has none.
    Float(String),
    /// Double-quoted (with `\"` and `\\` unescaped), single-quoted or bare.
    Str(String),
    /// `[ ... ]`; an empty vector is libdm's distinct empty array (`[]`).
    Array(Vec<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as libdm's value list: libdm does not tell `x = "a"` from `x = ["a"]`
    /// (both are one value node), so lvm2 accepts either wherever it reads a list.
    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::Array(v) => v,
            other => std::slice::from_ref(other),
        }
    }
}

/// An item of a section: a value or a nested section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Value(Value),
    Section(Section),
}

/// A section (the whole text is the root section). `items` keep file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub items: Vec<(String, Item)>,
    /// Byte offset in the text of each item's key, parallel to `items` (for error positions).
    pub item_offsets: Vec<usize>,
}

impl Section {
    /// The first item with this key, and its byte offset in the text (libdm's lookup order).
    pub fn get(&self, key: &str) -> Option<(&Item, usize)> {
        self.items
            .iter()
            .zip(&self.item_offsets)
            .find(|((k, _), _)| k == key)
            .map(|((_, item), off)| (item, *off))
    }

    /// The first value with this key (a section with that key does not count).
    pub fn value(&self, key: &str) -> Option<(&Value, usize)> {
        match self.get(key)? {
            (Item::Value(v), off) => Some((v, off)),
            (Item::Section(_), _) => None,
        }
    }

    /// The first subsection with this key (`dm_config_get_section`).
    pub fn section(&self, key: &str) -> Option<(&Section, usize)> {
        match self.get(key)? {
            (Item::Section(s), off) => Some((s, off)),
            (Item::Value(_), _) => None,
        }
    }

    /// Subsections in file order, with their keys and offsets.
    pub fn sections(&self) -> impl Iterator<Item = (&str, &Section, usize)> {
        self.items
            .iter()
            .zip(&self.item_offsets)
            .filter_map(|((k, item), off)| match item {
                Item::Section(s) => Some((k.as_str(), s, *off)),
                Item::Value(_) => None,
            })
    }

    /// Values in file order, with their keys and offsets.
    pub fn values(&self) -> impl Iterator<Item = (&str, &Value, usize)> {
        self.items
            .iter()
            .zip(&self.item_offsets)
            .filter_map(|((k, item), off)| match item {
                Item::Value(v) => Some((k.as_str(), v, *off)),
                Item::Section(_) => None,
            })
    }
}

/// What went wrong in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextErrorKind {
    /// A token that the grammar does not allow here.
    Unexpected {
        found: String,
        expected: &'static str,
    },
    /// A quoted string that runs to the end of the text.
    UnterminatedString,
    /// A section or value with an empty key (`"" = 1`).
    EmptyKey,
    /// An integer token that `strtoll` would overflow or that has no digits.
    BadInteger(String),
    /// Sections nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_NODES`] keys and values.
    TooManyNodes,
}

/// A grammar error with its position: `offset` is the byte index in the text, `line` and
/// `column` count from 1 (columns in bytes). The caller maps `offset` to a device offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub kind: TextErrorKind,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}: ", self.line, self.column)?;
        match &self.kind {
            TextErrorKind::Unexpected { found, expected } => {
                write!(f, "found {found}, expected {expected}")
            }
            TextErrorKind::UnterminatedString => write!(f, "unterminated quoted string"),
            TextErrorKind::EmptyKey => write!(f, "empty key"),
            TextErrorKind::BadInteger(t) => write!(f, "invalid integer {t:?}"),
            TextErrorKind::TooDeep => write!(f, "sections nested deeper than {MAX_DEPTH}"),
            TextErrorKind::TooManyNodes => write!(f, "more than {MAX_NODES} keys and values"),
        }
    }
}

impl std::error::Error for TextError {}

/// Parses metadata text (up to the first NUL byte) into the root section.
pub fn parse(text: &[u8]) -> Result<Section, TextError> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let src = text.get(..end).unwrap_or(text);
    let mut p = Parser {
        src,
        pos: 0,
        tok: Tok::Eof,
        tok_start: 0,
        nodes: 0,
    };
    p.advance(Tok::SectionE)?;
    let mut root = Section::default();
    while p.tok != Tok::Eof {
        p.item(&mut root, 1)?;
    }
    Ok(root)
}

/// libdm's token types (`TOK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Int,
    Float,
    /// Single quotes.
    Str,
    /// Double quotes.
    StrEscaped,
    StrBare,
    Eq,
    SectionB,
    SectionE,
    ArrayB,
    ArrayE,
    Identifier,
    Comma,
    Eof,
}

struct Parser<'a> {
    src: &'a [u8],
    /// End of the current token (libdm `te`).
    pos: usize,
    tok: Tok,
    /// Start of the current token (libdm `tb`).
    tok_start: usize,
    nodes: usize,
}

/// C `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl<'a> Parser<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    fn err(&self, offset: usize, kind: TextErrorKind) -> TextError {
        let before = self.src.get(..offset).unwrap_or(self.src);
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        TextError {
            offset,
            line,
            column: offset - line_start + 1,
            kind,
        }
    }

    fn token_text(&self) -> &'a [u8] {
        self.src.get(self.tok_start..self.pos).unwrap_or(&[])
    }

    fn describe_token(&self) -> String {
        match self.tok {
            Tok::Eof => "end of text".to_string(),
            _ => {
                let t = self.token_text();
                let shown: String = String::from_utf8_lossy(t.get(..t.len().min(40)).unwrap_or(t))
                    .escape_debug()
                    .collect();
                format!("\"{shown}\"")
            }
        }
    }

    fn unexpected(&self, expected: &'static str) -> TextError {
        self.err(
            self.tok_start,
            TextErrorKind::Unexpected {
                found: self.describe_token(),
                expected,
            },
        )
    }

    fn count_node(&mut self) -> Result<(), TextError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.err(self.tok_start, TextErrorKind::TooManyNodes));
        }
        Ok(())
    }

    /// Skips whitespace and `#` comments (libdm `_eat_space`).
    fn eat_space(&mut self) {
        while let Some(c) = self.at(self.pos) {
            if c == b'#' {
                while self.at(self.pos).is_some_and(|c| c != b'\n') {
                    self.pos += 1;
                }
            } else if is_space(c) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Reads the next token; `prev` is the token just consumed (libdm `_get_token`).
    fn advance(&mut self, prev: Tok) -> Result<(), TextError> {
        self.eat_space();
        self.tok_start = self.pos;
        let Some(c) = self.at(self.pos) else {
            self.tok = Tok::Eof;
            return Ok(());
        };
        let values_allowed = matches!(prev, Tok::Eq | Tok::ArrayB | Tok::Comma);
        let single = |t| (t, 1usize);
        let (tok, len) = match c {
            b'{' => single(Tok::SectionB),
            b'}' => single(Tok::SectionE),
            b'[' => single(Tok::ArrayB),
            b']' => single(Tok::ArrayE),
            b',' => single(Tok::Comma),
            b'=' => single(Tok::Eq),
            b'"' => {
                let mut i = self.pos + 1;
                loop {
                    match self.at(i) {
                        None => return Err(self.err(self.pos, TextErrorKind::UnterminatedString)),
                        Some(b'"') => break,
                        Some(b'\\') if self.at(i + 1).is_some() => i += 2,
                        Some(_) => i += 1,
                    }
                }
                (Tok::StrEscaped, i + 1 - self.pos)
            }
            b'\'' => {
                let mut i = self.pos + 1;
                loop {
                    match self.at(i) {
                        None => return Err(self.err(self.pos, TextErrorKind::UnterminatedString)),
                        Some(b'\'') => break,
                        Some(_) => i += 1,
                    }
                }
                (Tok::Str, i + 1 - self.pos)
            }
            b'.' | b'0'..=b'9' | b'+' | b'-' if values_allowed => {
                let mut t = if c == b'.' { Tok::Float } else { Tok::Int };
                let mut i = self.pos + 1;
                while let Some(d) = self.at(i) {
                    if d.is_ascii_digit() {
                        i += 1;
                    } else if d == b'.' && t != Tok::Float {
                        t = Tok::Float;
                        i += 1;
                    } else {
                        break;
                    }
                }
                (t, i - self.pos)
            }
            _ => {
                let mut i = self.pos;
                while let Some(d) = self.at(i) {
                    if is_space(d) || matches!(d, b'#' | b'=' | b'{' | b'}') {
                        break;
                    }
                    i += 1;
                }
                let t = if values_allowed {
                    Tok::StrBare
                } else {
                    Tok::Identifier
                };
                (t, i - self.pos)
            }
        };
        self.tok = tok;
        self.pos += len;
        Ok(())
    }

    fn expect(&mut self, t: Tok, what: &'static str) -> Result<(), TextError> {
        if self.tok != t {
            return Err(self.unexpected(what));
        }
        self.advance(t)
    }

    /// The text of a quoted token without its quotes.
    fn quoted_inner(&self) -> &'a [u8] {
        let t = self.token_text();
        t.get(1..t.len().saturating_sub(1)).unwrap_or(&[])
    }

    /// `key = value` or `key { items }` (libdm `_section`), appended to `parent`.
    fn item(&mut self, parent: &mut Section, depth: usize) -> Result<(), TextError> {
        let key_offset = self.tok_start;
        let key = match self.tok {
            Tok::StrEscaped => unescape(self.quoted_inner()),
            Tok::Str => lossy(self.quoted_inner()),
            Tok::Identifier => lossy(self.token_text()),
            _ => return Err(self.unexpected("a key")),
        };
        if key.is_empty() {
            return Err(self.err(key_offset, TextErrorKind::EmptyKey));
        }
        self.count_node()?;
        let prev = self.tok;
        self.advance(prev)?;
        let item = if self.tok == Tok::SectionB {
            if depth >= MAX_DEPTH {
                return Err(self.err(key_offset, TextErrorKind::TooDeep));
            }
            self.advance(Tok::SectionB)?;
            let mut section = Section::default();
            while self.tok != Tok::SectionE {
                if self.tok == Tok::Eof {
                    return Err(self.unexpected("an item or \"}\""));
                }
                self.item(&mut section, depth + 1)?;
            }
            self.advance(Tok::SectionE)?;
            Item::Section(section)
        } else {
            self.expect(Tok::Eq, "\"=\" or \"{\"")?;
            Item::Value(self.value()?)
        };
        parent.items.push((key, item));
        parent.item_offsets.push(key_offset);
        Ok(())
    }

    /// `[ scalar (,? scalar)* ]` or a scalar (libdm `_value`).
    fn value(&mut self) -> Result<Value, TextError> {
        if self.tok != Tok::ArrayB {
            return self.scalar();
        }
        self.advance(Tok::ArrayB)?;
        let mut items = Vec::new();
        while self.tok != Tok::ArrayE {
            items.push(self.scalar()?);
            if self.tok == Tok::Comma {
                self.advance(Tok::Comma)?;
            }
        }
        self.advance(Tok::ArrayE)?;
        Ok(Value::Array(items))
    }

    /// One scalar token (libdm `_type`).
    fn scalar(&mut self) -> Result<Value, TextError> {
        self.count_node()?;
        let v = match self.tok {
            Tok::Int => Value::Int(self.strtoll()?),
            Tok::Float => Value::Float(lossy(self.token_text())),
            Tok::Str => Value::Str(lossy(self.quoted_inner())),
            Tok::StrEscaped => Value::Str(unescape(self.quoted_inner())),
            Tok::StrBare => Value::Str(lossy(self.token_text())),
            _ => return Err(self.unexpected("a value")),
        };
        let t = self.tok;
        self.advance(t)?;
        Ok(v)
    }

    /// `strtoll(tb, NULL, 0)` as libdm calls it: it reads from the token start and may run
    /// past the token (`0x1f` converts as hex although the token is `0`; the rest then fails
    /// to parse as the next token). Overflow and a missing digit are errors here.
    fn strtoll(&self) -> Result<i64, TextError> {
        let rest = self.src.get(self.tok_start..).unwrap_or(&[]);
        let bad = || {
            self.err(
                self.tok_start,
                TextErrorKind::BadInteger(lossy(self.token_text())),
            )
        };
        let (neg, digits) = match rest.first() {
            Some(b'-') => (true, rest.get(1..).unwrap_or(&[])),
            Some(b'+') => (false, rest.get(1..).unwrap_or(&[])),
            _ => (false, rest),
        };
        let (radix, body) = match digits {
            [b'0', b'x' | b'X', h, ..] if h.is_ascii_hexdigit() => {
                (16u32, digits.get(2..).unwrap_or(&[]))
            }
            [b'0', ..] => (8, digits),
            _ => (10, digits),
        };
        let mut mag: i128 = 0;
        let mut any = false;
        for &c in body {
            let Some(d) = char::from(c).to_digit(radix) else {
                break;
            };
            any = true;
            mag = mag * i128::from(radix) + i128::from(d);
            if mag > i128::from(i64::MAX) + 1 {
                return Err(bad());
            }
        }
        if !any {
            return Err(bad());
        }
        let v = if neg { -mag } else { mag };
        i64::try_from(v).map_err(|_| bad())
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// libdm `dm_unescape_double_quotes`: `\"` → `"` and `\\` → `\`; any other backslash stays.
fn unescape(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' && matches!(b.get(i + 1), Some(b'"' | b'\\')) {
            i += 1;
        }
        if let Some(&d) = b.get(i) {
            out.push(d);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Section {
        parse(s.as_bytes()).unwrap()
    }

    fn perr(s: &str) -> TextError {
        parse(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn metadata_shape() {
        let root = p(
            "vg0 {\nid = \"abc\"\nseqno = 7\nstatus = [\"READ\", \"WRITE\"]\nflags = []\n\
                       physical_volumes {\n\npv0 {\npe_start = 2048\n}\n}\n}\n\
                       # Generated by LVM2\ncontents = \"Text Format Volume Group\"\nversion = 1\n\
                       creation_host = \"h\"\t# Linux h\n",
        );
        let (name, vg, off) = root.sections().next().unwrap();
        assert_eq!(name, "vg0");
        assert_eq!(off, 0);
        assert_eq!(vg.value("seqno").unwrap().0, &Value::Int(7));
        assert_eq!(
            vg.value("status").unwrap().0,
            &Value::Array(vec![Value::Str("READ".into()), Value::Str("WRITE".into())])
        );
        assert_eq!(vg.value("flags").unwrap().0, &Value::Array(vec![]));
        let pvs = vg.section("physical_volumes").unwrap().0;
        assert_eq!(
            pvs.section("pv0").unwrap().0.value("pe_start").unwrap().0,
            &Value::Int(2048)
        );
        assert_eq!(root.value("version").unwrap().0, &Value::Int(1));
        assert_eq!(root.value("creation_host").unwrap().0.as_str(), Some("h"));
        // The key offset of `seqno` is the byte index of its first character.
        let text = "vg0 {\nid = \"abc\"\nseqno = 7\n";
        assert_eq!(vg.value("seqno").unwrap().1, text.find("seqno").unwrap());
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        let root = p(r#"a = "x\"y\\z\n\q""#);
        assert_eq!(root.value("a").unwrap().0.as_str(), Some(r#"x"y\z\n\q"#));
        // Single quotes have no escapes at all.
        let root = p(r#"a = 'x\y\'"#);
        assert_eq!(root.value("a").unwrap().0.as_str(), Some(r#"x\y\"#));
    }

    #[test]
    fn integers_follow_strtoll_base_0() {
        let root = p("a = 10\nb = -5\nc = 010\nd = +7\ne = 9223372036854775807\nf = -9223372036854775808\ng = 08");
        let get = |k| root.value(k).unwrap().0.as_int().unwrap();
        assert_eq!(get("a"), 10);
        assert_eq!(get("b"), -5);
        assert_eq!(get("c"), 8);
        assert_eq!(get("d"), 7);
        assert_eq!(get("e"), i64::MAX);
        assert_eq!(get("f"), i64::MIN);
        // strtoll stops at the first non-octal digit.
        assert_eq!(get("g"), 0);
        assert!(matches!(
            perr("a = 9223372036854775808").kind,
            TextErrorKind::BadInteger(_)
        ));
        assert!(matches!(perr("a = -").kind, TextErrorKind::BadInteger(_)));
        // The token stops at 'x'; what follows cannot start an item.
        let e = perr("a = 0x10\n");
        assert!(matches!(e.kind, TextErrorKind::Unexpected { .. }), "{e}");
    }

    #[test]
    fn floats_bare_words_and_arrays() {
        let root =
            p("f = 1.5\ng = .5\nb = bare,word]\ne = []\ns = [\"a\" \"b\"]\nm = [1, \"x\", 2]");
        assert_eq!(root.value("f").unwrap().0, &Value::Float("1.5".into()));
        assert_eq!(root.value("g").unwrap().0, &Value::Float(".5".into()));
        // A bare word swallows ',' and ']' (libdm only stops it at space # = { }).
        assert_eq!(root.value("b").unwrap().0.as_str(), Some("bare,word]"));
        assert_eq!(root.value("e").unwrap().0.as_list(), &[]);
        assert_eq!(root.value("s").unwrap().0.as_list().len(), 2);
        assert_eq!(
            root.value("m").unwrap().0.as_list(),
            &[Value::Int(1), Value::Str("x".into()), Value::Int(2)]
        );
        // Without a comma, the second integer is read as an identifier, as in libdm.
        let e = perr("a = [1 2]");
        assert_eq!(
            e.kind,
            TextErrorKind::Unexpected {
                // The identifier runs on through ']'.
                found: "\"2]\"".into(),
                expected: "a value"
            }
        );
        // A scalar reads as a one-element list.
        assert_eq!(p("a = \"x\"").value("a").unwrap().0.as_list().len(), 1);
    }

    #[test]
    fn comments_and_nul() {
        let root = p("a = 1 # one\n# b = 2\nc = 3\0d = 4");
        assert!(root.value("a").is_some());
        assert!(root.value("b").is_none());
        assert!(root.value("c").is_some());
        assert!(root.value("d").is_none(), "NUL ends the input");
        assert_eq!(p("").items.len(), 0);
    }

    #[test]
    fn duplicate_keys_first_wins() {
        let root = p("a = 1\na = 2\ns { x = 1 }\ns { x = 2 }");
        assert_eq!(root.value("a").unwrap().0, &Value::Int(1));
        assert_eq!(root.items.len(), 4);
        assert_eq!(root.sections().count(), 2);
    }

    #[test]
    fn quoted_keys() {
        let root = p("\"a#b\" = 1\n'c' { }");
        assert!(root.value("a#b").is_some());
        assert!(root.section("c").is_some());
        assert_eq!(perr("\"\" = 1").kind, TextErrorKind::EmptyKey);
    }

    #[test]
    fn errors_carry_positions() {
        let e = perr("vg {\nname = \"abc\n}\n");
        assert_eq!(e.kind, TextErrorKind::UnterminatedString);
        assert_eq!((e.line, e.column, e.offset), (2, 8, 12));
        let e = perr("vg {\na = 1\n");
        assert_eq!((e.line, e.column), (3, 1));
        assert!(matches!(
            e.kind,
            TextErrorKind::Unexpected {
                expected: "an item or \"}\"",
                ..
            }
        ));
        let e = perr("a 1");
        assert!(matches!(
            e.kind,
            TextErrorKind::Unexpected {
                expected: "\"=\" or \"{\"",
                ..
            }
        ));
        let e = perr("a = }");
        assert!(matches!(
            e.kind,
            TextErrorKind::Unexpected {
                expected: "a value",
                ..
            }
        ));
        let e = perr("= 1");
        assert!(matches!(
            e.kind,
            TextErrorKind::Unexpected {
                expected: "a key",
                ..
            }
        ));
        assert_eq!(perr("a = 'x").kind, TextErrorKind::UnterminatedString);
        assert!(matches!(
            perr("a = [1,").kind,
            TextErrorKind::Unexpected { .. }
        ));
    }

    #[test]
    fn depth_and_node_limits() {
        let ok = "a {".repeat(MAX_DEPTH - 1) + &"}".repeat(MAX_DEPTH - 1);
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = "a {".repeat(MAX_DEPTH) + &"}".repeat(MAX_DEPTH);
        let e = parse(deep.as_bytes()).unwrap_err();
        assert_eq!(e.kind, TextErrorKind::TooDeep);
        assert_eq!(e.offset, (MAX_DEPTH - 1) * 3);
        // Hostile nesting far beyond the limit fails the same way, without deep recursion.
        let hostile = "a {".repeat(100_000);
        assert_eq!(
            parse(hostile.as_bytes()).unwrap_err().kind,
            TextErrorKind::TooDeep
        );
        let many = format!("a = [{}]", "1,".repeat(MAX_NODES));
        assert_eq!(
            parse(many.as_bytes()).unwrap_err().kind,
            TextErrorKind::TooManyNodes
        );
    }

    #[test]
    fn never_panics_on_truncations() {
        let text = "vg {\nid = \"a\\\"b\"\nn = [1, 'x', \"y\"]\ns { t = -3 }\n}\nv = 1.5\n";
        for end in 0..=text.len() {
            let _ = parse(&text.as_bytes()[..end]);
        }
        for b in 0..=255u8 {
            let _ = parse(&[b]);
            let _ = parse(&[b'a', b' ', b'=', b' ', b]);
            let _ = parse(&[b'[', b]);
        }
    }
}
