//! `/etc/evms.conf`: the `activate` section as EVMS 2.4 defined it (EVMS User Guide §18.1):
//!
//! ```text
//! activate {
//!     include = [/dev/evms/*]
//!     exclude = [ sda[57] ]
//! }
//! ```
//!
//! Names are globs (`*`, `?`, `[...]`). The include list is built first, then the exclude list
//! removes names. Without an `activate` section everything is activated (EVMS before 2.4).
//! Other sections (engine, plug-in settings) are skipped. `#` starts a comment.

use crate::glob;
use std::path::Path;

/// The activation filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivateFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Default for ActivateFilter {
    fn default() -> Self {
        ActivateFilter {
            include: vec!["*".to_string()],
            exclude: Vec::new(),
        }
    }
}

impl ActivateFilter {
    /// True when any of `names` (a volume's several names: "vg0/root", "/dev/evms/lvm2/vg0/root",
    /// "vg0-root", ...) is included and none is excluded.
    pub fn allows(&self, names: &[String]) -> bool {
        let any = |pats: &[String]| {
            names
                .iter()
                .any(|n| pats.iter().any(|p| glob::matches(p, n)))
        };
        any(&self.include) && !any(&self.exclude)
    }
}

/// The filter from `path` (evms.conf; a file that cannot be read counts as absent) with the
/// command line's `--include`/`--exclude` on top: an include list replaces the file's, excludes
/// add to its. `None`: no filter at all (everything is allowed).
pub fn activate_filter(
    path: &Path,
    include: &[String],
    exclude: &[String],
) -> Result<Option<ActivateFilter>, String> {
    let mut f = match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(_) => None,
    };
    if !include.is_empty() || !exclude.is_empty() {
        let base = f.get_or_insert_with(ActivateFilter::default);
        if !include.is_empty() {
            base.include = include.to_vec();
        }
        base.exclude.extend(exclude.iter().cloned());
    }
    Ok(f)
}

/// Bounds for a configuration file: it is small and written by people.
const MAX_DEPTH: usize = 16;
const MAX_TOKENS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Eq,
    Open,
    Close,
    LBracket,
    RBracket,
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, String> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut it = text.chars().peekable();
    let mut in_list = false;
    while let Some(c) = it.next() {
        if out.len() > MAX_TOKENS {
            return Err("too many tokens".into());
        }
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() || c == ',' => {}
            '#' => {
                for d in it.by_ref() {
                    if d == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '=' => out.push((Tok::Eq, line)),
            '{' => out.push((Tok::Open, line)),
            '}' => out.push((Tok::Close, line)),
            '[' if !in_list => {
                in_list = true;
                out.push((Tok::LBracket, line));
            }
            ']' if in_list => {
                in_list = false;
                out.push((Tok::RBracket, line));
            }
            '"' => {
                let mut w = String::new();
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some('\\') => w.extend(it.next()),
                        Some('\n') => return Err(format!("line {line}: unterminated string")),
                        Some(d) => w.push(d),
                        None => return Err(format!("line {line}: unterminated string")),
                    }
                }
                out.push((Tok::Word(w), line));
            }
            _ => {
                // A word; inside a list a glob may hold brackets (`sda[57]`): a '[' opens a
                // class that runs to its ']' and belongs to the word.
                let mut w = String::from(c);
                let mut depth = usize::from(c == '[' && in_list);
                while let Some(&d) = it.peek() {
                    let ends = d.is_whitespace() || matches!(d, ',' | '#' | '=' | '{' | '}' | '"');
                    if ends || (d == ']' && depth == 0 && in_list) {
                        break;
                    }
                    if in_list && d == '[' {
                        depth += 1;
                    } else if in_list && d == ']' {
                        depth -= 1;
                    }
                    w.push(d);
                    it.next();
                }
                out.push((Tok::Word(w), line));
            }
        }
    }
    Ok(out)
}

/// Parses the file text. Errors name the line.
pub fn parse(text: &str) -> Result<Option<ActivateFilter>, String> {
    let toks = tokenize(text)?;
    let mut i = 0usize;
    let mut depth = 0usize;
    let mut path: Vec<String> = Vec::new();
    let mut filter: Option<ActivateFilter> = None;
    while i < toks.len() {
        let (t, line) = &toks[i];
        match t {
            Tok::Word(w) => match toks.get(i + 1).map(|x| &x.0) {
                Some(Tok::Open) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(format!("line {line}: sections nested too deeply"));
                    }
                    path.push(w.clone());
                    i += 2;
                }
                Some(Tok::Eq) => {
                    let (vals, next) = value(&toks, i + 2, *line)?;
                    if path.len() == 1 && path[0] == "activate" {
                        let f = filter.get_or_insert(ActivateFilter {
                            include: vec![],
                            exclude: vec![],
                        });
                        match w.as_str() {
                            "include" => f.include = vals,
                            "exclude" => f.exclude = vals,
                            other => {
                                return Err(format!(
                                    "line {line}: unknown key '{other}' in activate"
                                ))
                            }
                        }
                    }
                    i = next;
                }
                _ => return Err(format!("line {line}: expected '=' or '{{' after '{w}'")),
            },
            Tok::Close => {
                if path.pop().is_none() {
                    return Err(format!("line {line}: unbalanced '}}'"));
                }
                depth -= 1;
                i += 1;
            }
            _ => return Err(format!("line {line}: unexpected token")),
        }
    }
    if !path.is_empty() {
        return Err(format!("section '{}' is not closed", path.join("/")));
    }
    Ok(filter)
}

fn value(toks: &[(Tok, usize)], i: usize, line: usize) -> Result<(Vec<String>, usize), String> {
    match toks.get(i).map(|x| &x.0) {
        Some(Tok::Word(w)) => Ok((vec![w.clone()], i + 1)),
        Some(Tok::LBracket) => {
            let mut v = Vec::new();
            let mut j = i + 1;
            loop {
                match toks.get(j).map(|x| &x.0) {
                    Some(Tok::Word(w)) => v.push(w.clone()),
                    Some(Tok::RBracket) => return Ok((v, j + 1)),
                    _ => return Err(format!("line {line}: unterminated list")),
                }
                j += 1;
            }
        }
        _ => Err(format!("line {line}: expected a value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_user_guide_examples() {
        let f = parse("# evms.conf\nengine {\n mode = readwrite\n}\nactivate {\n\tinclude = [/dev/evms/*]\n\texclude = [ sda[57] ]\n}\n")
            .unwrap()
            .unwrap();
        assert_eq!(f.include, ["/dev/evms/*"]);
        assert_eq!(f.exclude, ["sda[57]"]);
        assert!(f.allows(&["/dev/evms/lvm2/vg0/root".into()]));
        assert!(!f.allows(&["sda5".into(), "/dev/evms/sda5".into()]));
        let g = parse("activate { include = [/dev/evms/*] exclude = [/dev/evms/temp] }")
            .unwrap()
            .unwrap();
        assert!(!g.allows(&["/dev/evms/temp".into()]));
        assert_eq!(parse("engine { a = b }").unwrap(), None);
        let h = parse("activate { include = [ \"vg0/*\", md/* ] }")
            .unwrap()
            .unwrap();
        assert_eq!(h.include, ["vg0/*", "md/*"]);
        assert!(h.exclude.is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("activate {\n include = [ a\n").unwrap_err(),
            "line 2: unterminated list"
        );
        assert!(parse("activate {\n bogus = 1\n}")
            .unwrap_err()
            .contains("line 2"));
        assert!(parse("}").is_err());
        assert!(parse("activate {").is_err());
        assert!(parse(&"a {".repeat(20)).unwrap_err().contains("nested"));
    }

    #[test]
    fn command_line_on_top_of_the_file() {
        let p = std::env::temp_dir().join(format!("evms-conf-{}", std::process::id()));
        let none = Path::new("/nonexistent/evms.conf");
        assert_eq!(activate_filter(none, &[], &[]), Ok(None));
        let f = activate_filter(none, &[], &["vg0/*".into()])
            .unwrap()
            .unwrap();
        assert_eq!(
            (f.include, f.exclude),
            (vec!["*".into()], vec!["vg0/*".into()])
        );
        std::fs::write(&p, "activate { include = [a*] exclude = [ab] }").unwrap();
        let f = activate_filter(&p, &[], &["ac".into()]).unwrap().unwrap();
        assert_eq!(
            (f.include, f.exclude),
            (vec!["a*".into()], vec!["ab".into(), "ac".into()])
        );
        let f = activate_filter(&p, &["b*".into()], &[]).unwrap().unwrap();
        assert_eq!(f.include, ["b*"]);
        std::fs::write(&p, "activate {\n bogus = 1\n}").unwrap();
        let e = activate_filter(&p, &[], &[]).unwrap_err();
        assert_eq!(
            e,
            format!("{}: line 2: unknown key 'bogus' in activate", p.display())
        );
        std::fs::remove_file(&p).unwrap();
    }
}
