//! `--json` output: [`serde_json`] values whose object keys keep insertion order (the crate's
//! `preserve_order` feature), so the reports' key order is stable, written by serde_json's
//! pretty printer. [`JsonExt`] keeps the builder style the reports use.

pub use serde_json::Value as Json;

/// An empty object.
pub fn obj() -> Json {
    Json::Object(serde_json::Map::new())
}

/// Builder helpers on [`Json`] objects.
pub trait JsonExt {
    /// Adds a key to an object (no-op on other values); builder style.
    #[must_use]
    fn with(self, key: &str, v: impl Into<Json>) -> Json;
    /// Adds a key to an object in place (no-op on other values).
    fn push(&mut self, key: &str, v: impl Into<Json>);
    /// Pretty output (two-space indent) with a final newline.
    fn pretty(&self) -> String;
}

impl JsonExt for Json {
    fn with(mut self, key: &str, v: impl Into<Json>) -> Json {
        self.push(key, v);
        self
    }

    fn push(&mut self, key: &str, v: impl Into<Json>) {
        if let Json::Object(o) = self {
            o.insert(key.to_string(), v.into());
        }
    }

    fn pretty(&self) -> String {
        // Serializing a Value cannot fail (its keys are strings).
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout the README documents: two-space indent, keys in insertion order, empty
    /// containers on one line, control characters escaped.
    #[test]
    fn writes_stable_pretty_json() {
        let j = obj()
            .with("b", 1u32)
            .with("a", vec!["x\"y\n", "z"])
            .with("c", obj())
            .with("d", None::<u8>)
            .with("e", Vec::<u8>::new());
        assert_eq!(
            j.pretty(),
            "{\n  \"b\": 1,\n  \"a\": [\n    \"x\\\"y\\n\",\n    \"z\"\n  ],\n  \"c\": {},\n  \"d\": null,\n  \"e\": []\n}\n"
        );
        assert_eq!(
            obj().with("k", "\u{1}").pretty(),
            "{\n  \"k\": \"\\u0001\"\n}\n"
        );
    }
}
