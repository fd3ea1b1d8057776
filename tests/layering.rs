//! The imports show the layering (docs/design.md, "Modules and their rooms"): every `crate::`
//! and `super::` path in src/**/*.rs is resolved to the file it names, and
//!
//! * a module may import only modules at or below its own layer in [`ORDER`];
//! * no two files import each other (a folder's `mod.rs` and the files it declares are one
//!   module: they may use each other, `super::X` being the usual way a part uses the whole);
//! * every top-level module is placed in [`ORDER`].
//!
//! Test code counts too: a test exercising a higher layer lives in that layer.
//!
//! The reading is lexical and small on purpose: comments and string literals are blanked,
//! then `crate::a::b::c` / `super::x::y` paths, `use` groups included, are matched against the
//! file tree (the longest prefix that is a module file wins). Paths written relative to the
//! current module (a `mod.rs` calling its part `md::assemble`) are parent-to-part and so
//! never a layering question.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import its own layer and those before it. Leaves come first:
/// `error`, `ids` (typed identifiers), `glob`, `json` (the output writer) and `config` (files
/// read from /etc) are used from the readers up; `unlock` (LUKS keys) reads keyslots
/// through `source` and `formats` and is used from `engine` up; `report` prints the graph
/// and the plan's reasons; `activate` is the run loop both `boot` and `cli` drive, `askpass`
/// beside it the order LUKS volumes are opened in and where passphrases come from.
const ORDER: &[&[&str]] = &[
    &["error", "ids", "glob", "json"],
    &["config"],
    &["source"],
    &["formats"],
    &["probe"],
    &["unlock"],
    &["engine"],
    &["plan"],
    &["report"],
    &["exec"],
    &["activate", "askpass"],
    &["boot"],
    &["cli"],
];

/// Files that are no module of the library's layers.
const OUTSIDE: &[&str] = &["lib.rs", "main.rs"];

fn layer(top: &str) -> Option<usize> {
    ORDER.iter().position(|l| l.contains(&top))
}

/// Module path of a file under src/: `exec/md.rs` → [exec, md]; `plan/lvm/mod.rs` → [plan, lvm].
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The text with comments, string and char literals blanked (same length, lines kept).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |c: u8| if c == b'\n' { b'\n' } else { b' ' };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") || rest.starts_with(b"br\"")
        {
            // Raw string: r"..." or r#"..."#.
            let start = i;
            while b[i] != b'"' {
                i += 1;
            }
            let hashes = b[start..i].iter().filter(|&&c| c == b'#').count();
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            i += 1;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i = (i + close.len()).min(b.len());
            out.extend(b[start..i].iter().map(|&c| blank(c)));
        } else if b[i] == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
                out.push(blank(b[i]));
                i += 1;
            }
            out.push(b' ');
            i += 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x', '\n', '\''); lifetimes ('a) are left alone.
            let end = b[i + 2..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(b.len(), |p| i + 3 + p);
            out.extend(b[i..end].iter().map(|&c| blank(c)));
            i = end;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that starts with `crate::` or `super::` (chains of `super::` included), with
/// `use` groups expanded one level deep per brace: `crate::a::{b, c::d}` gives `a::b` and
/// `a::c::d`. Returns (line, root, segments) with root "crate" or the number of `super`s.
fn paths(code: &str) -> Vec<(usize, usize, Vec<String>)> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    let line_at = |pos: usize| chars[..pos].iter().filter(|&&c| c == '\n').count() + 1;
    while i < chars.len() {
        let at_word = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':';
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        if !at_word || !(rest.starts_with("crate::") || rest.starts_with("super::")) {
            i += 1;
            continue;
        }
        let start = i;
        let mut supers = 0;
        if rest.starts_with("crate::") {
            i += 7;
        } else {
            while chars[i..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                supers += 1;
                i += 7;
            }
        }
        let mut prefix = Vec::new();
        expand(&chars, &mut i, &mut prefix, &mut |segs| {
            out.push((line_at(start), supers, segs))
        });
    }
    out
}

/// Reads `a::b::{c, d::e}` from `i` on, calling `emit` with every full path.
fn expand(
    chars: &[char],
    i: &mut usize,
    prefix: &mut Vec<String>,
    emit: &mut dyn FnMut(Vec<String>),
) {
    let depth = prefix.len();
    loop {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
        if *i < chars.len() && chars[*i] == '{' {
            *i += 1;
            loop {
                expand(chars, i, prefix, emit);
                while *i < chars.len() && chars[*i].is_whitespace() {
                    *i += 1;
                }
                match chars.get(*i) {
                    Some(',') => *i += 1,
                    Some('}') => {
                        *i += 1;
                        break;
                    }
                    _ => break,
                }
                while *i < chars.len() && chars[*i].is_whitespace() {
                    *i += 1;
                }
                if chars.get(*i) == Some(&'}') {
                    *i += 1;
                    break;
                }
            }
            prefix.truncate(depth);
            return;
        }
        let s = *i;
        while *i < chars.len() && is_ident(chars[*i]) {
            *i += 1;
        }
        if *i > s {
            prefix.push(chars[s..*i].iter().collect());
        }
        if chars[*i..].starts_with(&[':', ':']) {
            *i += 2;
            continue;
        }
        if prefix.len() > depth || depth > 0 {
            emit(prefix.clone());
        }
        prefix.truncate(depth);
        return;
    }
}

struct Tree {
    /// Module path → file (relative to src/).
    modules: BTreeMap<Vec<String>, String>,
}

impl Tree {
    fn load(src: &Path) -> (Tree, Vec<(String, String)>) {
        let mut files = Vec::new();
        walk(src, src, &mut files);
        let modules = files
            .iter()
            .map(|(rel, _)| (module_of(rel), rel.clone()))
            .collect();
        (Tree { modules }, files)
    }

    /// The file a path names: the longest prefix that is a module.
    fn resolve(&self, full: &[String]) -> Option<&String> {
        (1..=full.len())
            .rev()
            .find_map(|n| self.modules.get(&full[..n]))
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((rel, fs::read_to_string(&p).unwrap()));
        }
    }
}

/// One import of one file: (importing file, line, imported file, the path as written).
type Edge = (String, usize, String, String);

fn edges(tree: &Tree, files: &[(String, String)]) -> Vec<Edge> {
    let mut out = Vec::new();
    for (rel, text) in files {
        if OUTSIDE.contains(&rel.as_str()) {
            continue;
        }
        let me = module_of(rel);
        for (line, supers, segs) in paths(&code_only(text)) {
            let (full, written) = if supers == 0 {
                (segs.clone(), format!("crate::{}", segs.join("::")))
            } else {
                let Some(base) = me.len().checked_sub(supers) else {
                    continue;
                };
                let mut f = me[..base].to_vec();
                f.extend(segs.iter().cloned());
                (
                    f,
                    format!("{}{}", "super::".repeat(supers), segs.join("::")),
                )
            };
            if let Some(target) = tree.resolve(&full) {
                if target != rel {
                    out.push((rel.clone(), line, target.clone(), written));
                }
            }
        }
    }
    out
}

/// A folder's mod.rs and a file it declares (directly) are parts of one module.
fn parent_and_part(a: &str, b: &str) -> bool {
    let (ma, mb) = (module_of(a), module_of(b));
    let parent = |p: &[String], c: &[String]| c.len() == p.len() + 1 && c.starts_with(p);
    parent(&ma, &mb) || parent(&mb, &ma)
}

/// Every violation, one readable line each.
fn violations(src: &Path) -> Vec<String> {
    let (tree, files) = Tree::load(src);
    let mut bad = BTreeSet::new();
    for (rel, _) in &files {
        if OUTSIDE.contains(&rel.as_str()) {
            continue;
        }
        let top = &module_of(rel)[0];
        if layer(top).is_none() {
            bad.insert(format!(
                "src/{rel}: module `{top}` has no place in ORDER (tests/layering.rs): put it in a layer"
            ));
        }
    }
    let mut es = edges(&tree, &files);
    // One report per importing line and imported file (`a::{b, c}` names it twice).
    es.dedup_by(|a, b| (&a.0, a.1, &a.2) == (&b.0, b.1, &b.2));
    for (from, line, to, written) in &es {
        let (ft, tt) = (&module_of(from)[0], &module_of(to)[0]);
        if let (Some(lf), Some(lt)) = (layer(ft), layer(tt)) {
            if lt > lf {
                bad.insert(format!(
                    "src/{from}:{line}: `{written}` — {ft} imports {tt}, a layer above it"
                ));
            }
        }
    }
    let set: BTreeSet<(&str, &str)> = es
        .iter()
        .map(|(f, _, t, _)| (f.as_str(), t.as_str()))
        .collect();
    for (from, line, to, written) in &es {
        if from < to && set.contains(&(to.as_str(), from.as_str())) && !parent_and_part(from, to) {
            let back = es
                .iter()
                .find(|(f, _, t, _)| f == to && t == from)
                .map(|(_, l, _, w)| format!("src/{to}:{l}: `{w}`"))
                .unwrap_or_default();
            bad.insert(format!(
                "src/{from}:{line}: `{written}` and {back} — the two files import each other"
            ));
        }
    }
    bad.into_iter().collect()
}

#[test]
fn imports_follow_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    let order: Vec<String> = ORDER.iter().map(|l| l.join(" ")).collect();
    assert!(
        bad.is_empty(),
        "{} import(s) against the layering (bottom to top: {}):\n{}",
        bad.len(),
        order.join(" → "),
        bad.join("\n")
    );
}

/// The check itself: a tree with one upward import, one cycle, a module with no layer, and
/// imports it must not count (comments, strings, parent and part).
#[test]
fn the_check_finds_what_it_should() {
    let dir = std::env::temp_dir().join(format!("evms-layering-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let w = |rel: &str, text: &str| {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    w(
        "lib.rs",
        "pub mod source; pub mod engine; pub mod plan; pub mod extra;",
    );
    w("source/mod.rs", "pub mod a; pub mod b; use self::a::X;\n");
    w("source/a.rs", "use super::b::Y;\npub struct X;\n");
    w(
        "source/b.rs",
        "use super::a::X;\n// use crate::plan::Z;\nconst S: &str = \"crate::cli::x\";\n",
    );
    w(
        "engine/mod.rs",
        "pub mod part;\nfn f() { crate::plan::build::{go, stop}; }\n",
    );
    w(
        "engine/part.rs",
        "use super::f;\nuse crate::source::{a::X, b};\n",
    );
    w("plan/build.rs", "use crate::engine::part;\n");
    w("extra.rs", "\n");
    let got = violations(&dir);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got[0].starts_with(
            "src/engine/mod.rs:2: `crate::plan::build::go` — engine imports plan, a layer above it"
        ),
        "{}",
        got[0]
    );
    assert!(
        got[1].starts_with("src/extra.rs: module `extra` has no place in ORDER"),
        "{}",
        got[1]
    );
    assert_eq!(got[2], "src/source/a.rs:1: `super::b::Y` and src/source/b.rs:1: `super::a::X` — the two files import each other");
}
