//! A minimal JSON value and writer for `--json` output (no serde_json: a few dozen lines keep
//! the binary small and the output order stable).

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(i128),
    Str(String),
    Arr(Vec<Json>),
    /// Keys keep insertion order, so output is stable.
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn obj() -> Json {
        Json::Obj(Vec::new())
    }

    /// Adds a key to an object (no-op on other variants); builder style.
    #[must_use]
    pub fn with(mut self, key: &str, v: impl Into<Json>) -> Json {
        if let Json::Obj(o) = &mut self {
            o.push((key.to_string(), v.into()));
        }
        self
    }

    pub fn push(&mut self, key: &str, v: impl Into<Json>) {
        if let Json::Obj(o) = self {
            o.push((key.to_string(), v.into()));
        }
    }

    /// Pretty output, two-space indent.
    pub fn pretty(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }

    fn write(&self, s: &mut String, ind: usize) {
        match self {
            Json::Null => s.push_str("null"),
            Json::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => {
                let _ = write!(s, "{n}");
            }
            Json::Str(t) => write_str(s, t),
            Json::Arr(a) if a.is_empty() => s.push_str("[]"),
            Json::Obj(o) if o.is_empty() => s.push_str("{}"),
            Json::Arr(a) => {
                s.push_str("[\n");
                for (i, v) in a.iter().enumerate() {
                    indent(s, ind + 1);
                    v.write(s, ind + 1);
                    if i + 1 < a.len() {
                        s.push(',');
                    }
                    s.push('\n');
                }
                indent(s, ind);
                s.push(']');
            }
            Json::Obj(o) => {
                s.push_str("{\n");
                for (i, (k, v)) in o.iter().enumerate() {
                    indent(s, ind + 1);
                    write_str(s, k);
                    s.push_str(": ");
                    v.write(s, ind + 1);
                    if i + 1 < o.len() {
                        s.push(',');
                    }
                    s.push('\n');
                }
                indent(s, ind);
                s.push('}');
            }
        }
    }
}

fn indent(s: &mut String, n: usize) {
    for _ in 0..n {
        s.push_str("  ");
    }
}

fn write_str(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}
impl From<&String> for Json {
    fn from(s: &String) -> Json {
        Json::Str(s.clone())
    }
}
macro_rules! num {
    ($($t:ty),*) => {$(impl From<$t> for Json { fn from(n: $t) -> Json { Json::Num(i128::from(n)) } })*};
}
num!(u8, u16, u32, u64, i32, i64);
impl From<usize> for Json {
    fn from(n: usize) -> Json {
        Json::Num(i128::try_from(n).unwrap_or(i128::MAX))
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(o: Option<T>) -> Json {
        o.map_or(Json::Null, Into::into)
    }
}
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Json {
        Json::Arr(v.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_stable_pretty_json() {
        let j = Json::obj()
            .with("a", 1u32)
            .with("b", vec!["x\"y", "z"])
            .with("c", Json::obj())
            .with("d", None::<u8>);
        assert_eq!(j.pretty(), "{\n  \"a\": 1,\n  \"b\": [\n    \"x\\\"y\",\n    \"z\"\n  ],\n  \"c\": {},\n  \"d\": null\n}\n");
    }
}
