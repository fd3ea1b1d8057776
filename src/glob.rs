//! Shell-style pattern matching (`*`, `?`, `[...]` with ranges and `!`/`^` negation), as
//! fnmatch(3) without flags: used for evms.conf include/exclude and `--include/--exclude`.
//! Iterative with one backtrack point, so time is O(len(pattern) × len(text)).

/// True when `text` matches `pat` entirely.
pub fn matches(pat: &str, text: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some('[') => {
                if let Some((ok, next)) = class(&p, pi, t[ti]) {
                    if ok {
                        pi = next;
                        ti += 1;
                        continue;
                    }
                } else if t[ti] == '[' {
                    // An unterminated '[' matches itself.
                    pi += 1;
                    ti += 1;
                    continue;
                }
            }
            Some('\\') if p.get(pi + 1) == Some(&t[ti]) => {
                pi += 2;
                ti += 1;
                continue;
            }
            Some(&c) if c == t[ti] && c != '\\' => {
                pi += 1;
                ti += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the bracket expression starting at `p[i] == '['`; returns
/// (matched, index after the closing ']') or None when there is no closing bracket.
fn class(p: &[char], i: usize, c: char) -> Option<(bool, usize)> {
    let mut j = i + 1;
    let neg = matches!(p.get(j), Some('!') | Some('^'));
    if neg {
        j += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let ch = *p.get(j)?;
        if ch == ']' && !first {
            return Some((hit != neg, j + 1));
        }
        first = false;
        if p.get(j + 1) == Some(&'-') && p.get(j + 2).is_some_and(|&e| e != ']') {
            let hi = p[j + 2];
            if ch <= c && c <= hi {
                hit = true;
            }
            j += 3;
        } else {
            if ch == c {
                hit = true;
            }
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn fnmatch_cases() {
        assert!(matches("*", ""));
        assert!(matches("/dev/evms/*", "/dev/evms/lvm2/vg0/root"));
        assert!(matches("sda[57]", "sda5"));
        assert!(!matches("sda[57]", "sda6"));
        assert!(matches("sd[!a]1", "sdb1"));
        assert!(!matches("sd[!a]1", "sda1"));
        assert!(matches("vg?/r*t", "vg0/root"));
        assert!(!matches("vg?/r*t", "vg0/rooter"));
        assert!(matches(
            "pci:v00001AF4d*sv*sd*bc*sc*i*",
            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
        ));
        assert!(matches("a[b", "a[b"));
        assert!(matches("[a-c]x", "bx"));
        assert!(matches("a\\*", "a*"));
        assert!(!matches("a\\*", "ab"));
        // Many stars stay linear-ish.
        assert!(!matches(&"*a".repeat(50), &"a".repeat(40)));
    }
}
