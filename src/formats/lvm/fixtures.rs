//! Test access to the lvm2-written fixtures in `tests/fixtures/lvm/` (made by its `gen.sh`):
//! the sparse images and the tools' own reports (`pvck --dump headers`, `pvs`/`vgs`/`lvs`).

use crate::source::sparse::SparseDev;
use std::collections::BTreeMap;

macro_rules! dir {
    ($d:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lvm/", $d, "/")
    };
}

macro_rules! fixture {
    ($name:literal, [$($disk:literal),+], $($meta:literal)?) => {
        Fixture {
            name: $name,
            disks: vec![$(($disk, include_bytes!(concat!(dir!($name), $disk, ".spr")) as &[u8],
                include_str!(concat!(dir!($name), "expected.headers.", $disk)))),+],
            pvs: include_str!(concat!(dir!($name), "expected.pvs")),
            vgs: include_str!(concat!(dir!($name), "expected.vgs")),
            lvs: include_str!(concat!(dir!($name), "expected.lvs")),
            metadata: fixture!(@meta $name $($meta)?),
        }
    };
    (@meta $name:literal $meta:literal) => {
        Some(include_str!(concat!(dir!($name), "expected.metadata.", $meta)))
    };
    (@meta $name:literal) => { None };
}

/// One scenario directory.
pub struct Fixture {
    pub name: &'static str,
    /// (disk name, sparse image, `pvck --dump headers`)
    disks: Vec<(&'static str, &'static [u8], &'static str)>,
    pvs: &'static str,
    vgs: &'static str,
    lvs: &'static str,
    /// `pvck --dump metadata` of the first disk, where recorded.
    metadata: Option<&'static str>,
}

pub fn all() -> Vec<Fixture> {
    vec![
        fixture!("whole-disk", ["disk"], "disk"),
        fixture!("two-mdas", ["disk"],),
        fixture!("multi", ["pv1", "pv2"],),
        fixture!("wrap", ["disk"], "disk"),
        fixture!("segtypes", ["vda", "vdb", "vdc", "vdd", "vde"],),
    ]
}

pub fn load(name: &str) -> Fixture {
    all()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

impl Fixture {
    pub fn disks(&self) -> Vec<String> {
        self.disks.iter().map(|d| d.0.to_string()).collect()
    }

    fn entry(&self, disk: &str) -> &(&'static str, &'static [u8], &'static str) {
        self.disks
            .iter()
            .find(|d| d.0 == disk)
            .unwrap_or_else(|| panic!("{}: no disk {disk}", self.name))
    }

    pub fn disk(&self, disk: &str) -> SparseDev {
        SparseDev::parse(self.entry(disk).1).unwrap()
    }

    pub fn headers(&self, disk: &str) -> Headers {
        Headers::parse(self.entry(disk).2)
    }

    pub fn pvs(&self) -> Vec<Row> {
        rows(self.pvs)
    }

    pub fn pv_row(&self, disk: &str) -> Row {
        self.pvs()
            .into_iter()
            .find(|r| r.get("pv_name") == disk)
            .unwrap_or_else(|| panic!("{}: no pvs row for {disk}", self.name))
    }

    pub fn vg_row(&self) -> Row {
        let mut r = rows(self.vgs);
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    pub fn lv_rows(&self) -> Vec<Row> {
        rows(self.lvs)
    }

    /// The metadata text body of `pvck --dump metadata` (between its `---` lines).
    pub fn metadata_text(&self) -> Option<&'static str> {
        let m = self.metadata?;
        let start = m.find("  ---\n")? + 6;
        let end = m.rfind("\n  ---")?;
        m.get(start..end)
    }
}

/// `pvck --dump headers` lines: `name value` or `name at offset`, comments after ` # `.
pub struct Headers(BTreeMap<String, String>);

impl Headers {
    fn parse(text: &str) -> Headers {
        let mut m = BTreeMap::new();
        for line in text.lines() {
            let line = line.split(" # ").next().unwrap_or("").trim();
            if let Some((k, v)) = line.split_once(" at ") {
                m.insert(format!("{k} at"), v.trim().to_string());
            } else if let Some((k, v)) = line.split_once(' ') {
                m.insert(k.to_string(), v.trim().to_string());
            }
        }
        Headers(m)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("pvck output has no {key}"))
    }

    /// A decimal or 0x-prefixed hex number.
    pub fn num(&self, key: &str) -> u64 {
        let v = self.get(key);
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).unwrap(),
            None => v
                .parse()
                .unwrap_or_else(|_| panic!("{key} = {v} is not a number")),
        }
    }
}

/// One report line: tab-separated `key=value` (empty values were left out by gen.sh).
#[derive(Debug, Clone)]
pub struct Row(BTreeMap<String, String>);

impl Row {
    /// The value, or "" when the report left it empty.
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map_or("", String::as_str)
    }

    pub fn num(&self, key: &str) -> u64 {
        let v = self.get(key);
        v.parse()
            .unwrap_or_else(|_| panic!("{key}={v} is not a number"))
    }
}

fn rows(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            Row(l
                .split('\t')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect())
        })
        .collect()
}
