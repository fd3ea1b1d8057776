//! docs/evms-activate.8 against the binary's own --help texts: the commands of `--help` are
//! the `.SS` sections under COMMANDS, each command's options (`CMD --help`) are the options of
//! that section's `.TP` items, the global options are those of OPTIONS, and a command that
//! takes VOLUME arguments says so in its section. A new option without documentation (or a
//! documented one that went away) fails here.

use std::collections::BTreeSet;
use std::process::Command;

const MAN: &str = include_str!("../docs/evms-activate.8");

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_evms-activate"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run evms-activate --help");
    assert!(out.status.success(), "{args:?} --help: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

/// The lines of a `Heading:` block of argh's help (until the next blank line).
fn block<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// Entries of a block: lines indented by exactly two spaces (wrapped descriptions are
/// indented further).
fn entries<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .collect()
}

/// Option names in --help's "Options:" block: `-K, --ignore-activation-skip  text` gives -K
/// and --ignore-activation-skip. argh's own `--help` is left out (checked once, globally).
fn help_options(text: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for e in entries(&block(text, "Options:")) {
        for w in e.split_whitespace() {
            let w = w.trim_end_matches(',');
            if !w.starts_with('-') {
                break;
            }
            set.insert(w.to_string());
        }
    }
    set.remove("--help");
    set
}

fn help_commands(text: &str) -> BTreeSet<String> {
    entries(&block(text, "Commands:"))
        .iter()
        .filter_map(|e| e.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Roff text without font escapes and with `\-` as `-`.
fn plain(line: &str) -> String {
    let mut s = line.replace("\\-", "-");
    for f in ["\\fB", "\\fI", "\\fR", "\\fP"] {
        s = s.replace(f, " ");
    }
    s.replace('"', " ")
}

/// The lines of the man page from `.SH TITLE` (or `.SS TITLE`) to the next heading of the
/// same or a higher level.
fn section(level: &str, title: &str) -> Vec<&'static str> {
    let head = format!("{level} {title}");
    let lines: Vec<&str> = MAN.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == head)
        .unwrap_or_else(|| panic!("man page has no `{head}`"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with(".SH") && (level == ".SH" || !l.starts_with(".SS")))
        .copied()
        .collect()
}

/// Options named by the tag lines of `.TP`/`.TQ` items: the words starting with `-`.
fn man_options(lines: &[&str]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for (i, l) in lines.iter().enumerate() {
        if *l != ".TP" && *l != ".TQ" {
            continue;
        }
        let Some(tag) = lines.get(i + 1) else {
            continue;
        };
        let tag = tag
            .strip_prefix(".BR ")
            .or_else(|| tag.strip_prefix(".BI "))
            .or_else(|| tag.strip_prefix(".B "))
            .unwrap_or(tag);
        for w in plain(tag).split([' ', ',']) {
            if w.starts_with('-') && w.len() > 1 {
                set.insert(w.to_string());
            }
        }
    }
    set
}

fn man_commands() -> BTreeSet<String> {
    section(".SH", "COMMANDS")
        .iter()
        .filter_map(|l| l.strip_prefix(".SS "))
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn man_page_commands_match_help() {
    let top = help(&[]);
    let cmds = help_commands(&top);
    assert!(
        cmds.contains("activate"),
        "no commands parsed from --help:\n{top}"
    );
    assert_eq!(
        cmds,
        man_commands(),
        "commands: --help vs the man page's COMMANDS sections"
    );
}

#[test]
fn man_page_global_options_match_help() {
    let top = help(&[]);
    let opts = help_options(&top);
    assert!(
        opts.contains("--verbose"),
        "no options parsed from --help:\n{top}"
    );
    let mut man = man_options(&section(".SH", "OPTIONS"));
    assert!(man.remove("--help"), "OPTIONS does not document --help");
    assert_eq!(
        opts, man,
        "global options: --help vs the man page's OPTIONS"
    );
}

#[test]
fn man_page_options_match_each_commands_help() {
    let top = help(&[]);
    for cmd in help_commands(&top) {
        let text = help(&[&cmd]);
        let sec = section(".SS", &cmd);
        assert_eq!(
            help_options(&text),
            man_options(&sec),
            "options of `{cmd}`: --help vs the man page's `.SS {cmd}`"
        );
        // Positional arguments (argh prints `volumes`; the page writes VOLUME).
        for p in entries(&block(&text, "Positional Arguments:")) {
            let name = p.split_whitespace().next().unwrap_or_default();
            let meta = name.trim_end_matches('s').to_uppercase();
            assert!(
                sec.iter().any(|l| l.contains(&format!("[ {meta} ...]"))),
                "`{cmd}` takes {name} but its synopsis has no [{meta}...]"
            );
        }
    }
}

/// The parsers above must see what they are meant to see (or the tests above prove nothing).
#[test]
fn man_page_parsers_find_known_entries() {
    let plan = man_options(&section(".SS", "plan"));
    for o in [
        "--image",
        "--json",
        "-K",
        "--ignore-activation-skip",
        "--system-id",
    ] {
        assert!(plan.contains(o), "{o} not parsed from `.SS plan`: {plan:?}");
    }
    let h = "Options:\n  -K, --ignore-activation-skip\n                    ignore\n  --dry-run         print\n  --help, help      display\n\nX";
    let got: Vec<String> = help_options(h).into_iter().collect();
    assert_eq!(got, ["--dry-run", "--ignore-activation-skip", "-K"]);
}
