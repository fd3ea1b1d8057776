//! LUKS volumes as one more layer of the graph: a region with one member (the device holding
//! the header), named as the volume will be opened, and locked, unlocked or not handled, with
//! the reason.
//!
//! * The header is read whole (`probe::luks::read_header`); what this program does not open
//!   (integrity, reencryption, OPAL: `LuksHeader::unsupported`) is said and left alone.
//! * The name: the crypttab entry whose device is this volume (UUID=, PARTUUID=, LABEL=,
//!   PARTLABEL=, or a /dev path of the header device), else `luks-<UUID>` as systemd's and
//!   dracut's generators name a volume without one.
//! * A volume open in the kernel (DM UUID `CRYPT-LUKS<n>-<UUID without dashes>-<name>`, as
//!   cryptsetup sets it) is that node: its kernel device is read, whatever its name.
//! * A volume whose key is in [`Settings::keys`](super::Settings) (opened earlier in this run)
//!   is read through in user space ([`CryptReader`]): what it holds is discovered as on any
//!   other layer, before the kernel device exists (image files, and the whole chain planned at
//!   once at boot).
//! * Otherwise it is locked: a node without bytes, so planning can say it needs a passphrase.

use super::{Graph, NodeId, NodeKind};
use crate::config::crypttab::{DeviceSpec, Entry};
use crate::formats::luks::LuksHeader;
use crate::probe::Content;
use crate::source::layout::Layout;
use crate::unlock::reader::CryptReader;
use crate::unlock::Unlocked;
use std::sync::Arc;

/// What became of a LUKS volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptState {
    /// No key yet: a passphrase is needed.
    Locked,
    /// The key is known (this run); `readable`: what it holds is read in user space (false
    /// when its cipher is one the user-space reader does not carry: the kernel still can).
    Unlocked { readable: Option<String> },
    /// Open in the kernel.
    Active,
    /// Not opened by this program: why (integrity, reencryption, OPAL; a crypttab entry with
    /// `keyscript=` or a non-LUKS type), and what is needed.
    Unsupported(String),
    /// The header or its data area is unusable.
    Broken(String),
}

/// One LUKS volume.
#[derive(Debug, Clone)]
pub struct CryptVol {
    /// Stable identity: `luks:<UUID without dashes, lower case>` (also the node's key).
    pub key: String,
    /// The header's UUID as stored.
    pub uuid: String,
    /// The device holding the header (and the data).
    pub header_node: NodeId,
    pub header: Arc<LuksHeader>,
    /// The DM name it is (to be) opened under.
    pub name: String,
    /// The crypttab line that names it, if any.
    pub entry: Option<Entry>,
    pub state: CryptState,
    /// The decrypted volume's node (kernel or user-space; locked: a node without bytes).
    pub node: Option<NodeId>,
    /// The volume key, once opened in this run.
    pub unlocked: Option<Arc<Unlocked>>,
    /// Data area: start and length in 512-byte sectors on the header device.
    pub data_offset: u64,
    pub data_sectors: u64,
}

impl CryptVol {
    /// `LUKS2 aes-xts-plain64 512-bit key; keyslots 0 argon2id, 1 pbkdf2-sha256`: what `scan` and
    /// `plan` say about the volume.
    pub fn summary(&self) -> String {
        let h = &self.header;
        let slots: Vec<String> = h
            .keyslots_in_use()
            .into_iter()
            .map(|(i, k)| format!("{i} {k}"))
            .collect();
        let mut s = format!(
            "LUKS{} {}",
            h.version(),
            h.cipher_spec().unwrap_or_else(|| "(no cipher)".into())
        );
        if let Some(k) = h.volume_key_size() {
            s.push_str(&format!(" {}-bit key", k * 8));
        }
        if h.sector_size() != 512 {
            s.push_str(&format!(", {}-byte sectors", h.sector_size()));
        }
        if slots.is_empty() {
            s.push_str("; no keyslot");
        } else {
            s.push_str(&format!(
                "; keyslot{} {}",
                if slots.len() > 1 { "s" } else { "" },
                slots.join(", ")
            ));
        }
        s
    }

    /// One phrase for the state.
    pub fn state_text(&self) -> String {
        match &self.state {
            CryptState::Locked => "locked: needs a passphrase".into(),
            CryptState::Unlocked { readable: None } => match &self.unlocked {
                Some(u) => format!("unlocked (keyslot {})", u.keyslot),
                None => "unlocked".into(),
            },
            CryptState::Unlocked {
                readable: Some(why),
            } => {
                format!("unlocked; not readable in user space: {why}")
            }
            CryptState::Active => "open".into(),
            CryptState::Unsupported(why) => format!("not opened: {why}"),
            CryptState::Broken(why) => format!("broken: {why}"),
        }
    }
}

/// `luks:<UUID without dashes>` for a header UUID.
pub fn vol_key(uuid: &str) -> String {
    format!("luks:{}", uuid.replace('-', "").to_ascii_lowercase())
}

/// The node key a kernel device with this DM UUID realises: cryptsetup's
/// `CRYPT-LUKS1-<32 hex>-<name>` / `CRYPT-LUKS2-...` (`dm_prepare_uuid`).
pub fn key_from_dm_uuid(uuid: &str) -> Option<String> {
    let rest = uuid
        .strip_prefix("CRYPT-LUKS1-")
        .or_else(|| uuid.strip_prefix("CRYPT-LUKS2-"))?;
    let hex = rest.get(..32)?;
    if !hex.bytes().all(|c| c.is_ascii_hexdigit()) || rest.as_bytes().get(32) != Some(&b'-') {
        return None;
    }
    Some(vol_key(hex))
}

/// The crypttab entry that names the volume on node `id` with header `hdr`.
fn crypttab_entry<'a>(g: &'a Graph, id: NodeId, hdr: &LuksHeader) -> Option<&'a Entry> {
    let n = &g.nodes[id];
    let part = n.part_entry.as_ref();
    g.settings.crypttab.iter().find(|e| match &e.device {
        DeviceSpec::Uuid(u) => u.eq_ignore_ascii_case(hdr.uuid()),
        DeviceSpec::Label(l) => !l.is_empty() && l == hdr.label(),
        DeviceSpec::PartUuid(u) => part.is_some_and(|p| p.uuid.eq_ignore_ascii_case(u)),
        DeviceSpec::PartLabel(l) => part.is_some_and(|p| p.name.as_deref() == Some(l)),
        DeviceSpec::Path(p) => path_names(g, id).iter().any(|x| x == p),
    })
}

/// The /dev paths a node answers to: kernel and DM names, `/dev/VG/LV`, `/dev/md/NAME`.
fn path_names(g: &Graph, id: NodeId) -> Vec<String> {
    let n = &g.nodes[id];
    let mut v = super::device_names(n);
    match &n.kind {
        NodeKind::Lv { vg, lv } => {
            let vgn = &g.vgs[*vg].name;
            v.push(format!("/dev/{vgn}/{lv}"));
            v.push(format!("/dev/mapper/{}", super::names::dm_name(vgn, lv)));
        }
        NodeKind::Md { array } => {
            let a = &g.arrays[*array];
            v.push(format!("/dev/{}", a.devnm));
            if let Some(l) = &a.link {
                v.push(format!("/dev/md/{l}"));
            }
        }
        _ => {}
    }
    v
}

/// Finds LUKS headers among the probed nodes and gives each volume its node (once per volume;
/// called every discovery round).
pub fn group(g: &mut Graph) {
    for id in 0..g.nodes.len() {
        let n = &g.nodes[id];
        let is_luks = matches!(&n.content, Content::Fs(f) if f.fstype == "crypto_LUKS");
        if !is_luks || n.excluded || g.cryptvols.iter().any(|v| v.header_node == id) {
            continue;
        }
        let Some(reader) = n.reader.clone() else {
            continue;
        };
        let name = n.name.clone();
        let read = match crate::probe::luks::read_header(&name, &*reader) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                g.nodes[id].warnings.push(e);
                continue;
            }
        };
        for w in read.warnings {
            g.nodes[id]
                .warnings
                .push(crate::probe::format_err(&name, w));
        }
        add_volume(g, id, read.header);
    }
}

fn add_volume(g: &mut Graph, id: NodeId, header: LuksHeader) {
    let uuid = header.uuid().to_string();
    let key = vol_key(&uuid);
    if let Some(other) = g.cryptvols.iter().find(|v| v.key == key) {
        let first = g.nodes[other.header_node].name.clone();
        g.problems.push(format!(
            "LUKS UUID {uuid} is on both {first} and {} (a cloned volume?): only {first} is used; exclude one of them",
            g.nodes[id].name
        ));
        return;
    }
    let entry = crypttab_entry(g, id, &header).cloned();
    let name = entry
        .as_ref()
        .map_or_else(|| format!("luks-{uuid}"), |e| e.name.clone());
    let dev_size = g.nodes[id].size;
    let data_offset = header.data_offset_sectors();
    let ss = u64::from(header.sector_size() / 512).max(1);
    let dev_sectors = dev_size / 512;
    let data = match header.fixed_data_sectors() {
        Some(s) if data_offset.checked_add(s).is_some_and(|e| e <= dev_sectors) => Ok(s),
        Some(s) => Err(format!(
            "the header's data segment ({s} sectors at {data_offset}) is larger than the device ({dev_sectors} sectors)"
        )),
        None => dev_sectors
            .checked_sub(data_offset)
            .filter(|&l| l > 0)
            .ok_or_else(|| {
                format!("no data area: the data offset ({data_offset} sectors) is at or past the end of the device ({dev_sectors} sectors)")
            }),
    }
    .and_then(|l| {
        if l % ss == 0 {
            Ok(l)
        } else {
            Err(format!(
                "the data area ({l} sectors) is not whole {}-byte encryption sectors",
                header.sector_size()
            ))
        }
    });
    let header = Arc::new(header);
    let mut vol = CryptVol {
        key: key.clone(),
        uuid,
        header_node: id,
        header: header.clone(),
        name,
        entry,
        state: CryptState::Locked,
        node: None,
        unlocked: None,
        data_offset,
        data_sectors: *data.as_ref().unwrap_or(&0),
    };
    let idx = g.cryptvols.len();
    // Open in the kernel already (keyed by its DM UUID): that device is this volume.
    if let Some(k) = g.by_key(&key) {
        let n = &mut g.nodes[k];
        n.kind = NodeKind::Crypt { vol: idx };
        if n.parents.is_empty() {
            n.parents = vec![id];
        }
        vol.state = CryptState::Active;
        vol.node = Some(k);
        vol.unlocked = g.settings.keys.get(&header);
        g.cryptvols.push(vol);
        return;
    }
    let why_not = header
        .unsupported()
        .map(|e| e.to_string())
        .or_else(|| vol.entry.as_ref().and_then(|e| e.options.refused.clone()));
    if let Some(why) = why_not {
        vol.state = CryptState::Unsupported(why);
        g.cryptvols.push(vol);
        return;
    }
    let sectors = match data {
        Ok(s) => s,
        Err(why) => {
            vol.state = CryptState::Broken(why);
            g.cryptvols.push(vol);
            return;
        }
    };
    let name = vol.name.clone();
    let kind = NodeKind::Crypt { vol: idx };
    let size = sectors.saturating_mul(512);
    vol.unlocked = g.settings.keys.get(&header);
    let Some(unlocked) = vol.unlocked.clone() else {
        vol.node = g
            .add_unreadable(key, name, kind, vec![id], size)
            .map(|(n, _)| n);
        g.cryptvols.push(vol);
        return;
    };
    let reader = g.nodes[id].reader.clone().and_then(|src| {
        let spec = header.cipher_spec()?;
        Some(CryptReader::new(
            src,
            data_offset.saturating_mul(512),
            size,
            header.sector_size(),
            &spec,
            unlocked,
        ))
    });
    match reader {
        Some(Ok(r)) => {
            vol.state = CryptState::Unlocked { readable: None };
            let layout = Layout::Slice {
                src: Arc::new(r),
                offset: 0,
                len: size,
            };
            vol.node = g
                .add_mapped(key, name, kind, vec![id], layout)
                .map(|(n, _)| n);
            // dm-crypt's logical block size is the encryption sector size.
            if let Some(n) = vol.node {
                g.nodes[n].lbs = g.nodes[n].lbs.max(header.sector_size());
            }
        }
        Some(Err(why)) => {
            vol.state = CryptState::Unlocked {
                readable: Some(why),
            };
            vol.node = g
                .add_unreadable(key, name, kind, vec![id], size)
                .map(|(n, _)| n);
        }
        None => {
            vol.state = CryptState::Broken("no crypt segment".into());
        }
    }
    g.cryptvols.push(vol);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::crypttab::Crypttab;
    use crate::engine::fixtures::{read, TempDir};
    use crate::engine::{discover, Inputs, Settings};
    use crate::source::layout::Src;
    use crate::source::sparse::SparseDev;

    /// The committed cut of a volume cryptsetup made (headers only: no keyslot areas, so it
    /// cannot be opened here; tests/luks_data.rs opens the whole volumes).
    fn disk(name: &str) -> Src {
        Arc::new(SparseDev::parse(&read(&format!("luks/{name}/disk.spr"))).unwrap())
    }

    fn graph(disks: Vec<(&str, Src)>, crypttab: &str) -> Graph {
        let settings = Settings {
            crypttab: Crypttab::parse(crypttab, "crypttab").entries,
            ..Settings::default()
        };
        discover(
            &Inputs::Mem(disks.into_iter().map(|(n, d)| (n.to_string(), d)).collect()),
            settings,
        )
    }

    /// Without a key a volume is a locked node under its header device, named `luks-UUID`
    /// (systemd's and dracut's default) or as crypttab names it, by UUID=, LABEL= or path.
    #[test]
    fn locked_volumes_and_their_names() {
        let g = graph(
            vec![("vda", disk("luks2-sha256")), ("vdb", disk("luks1-sha256"))],
            "",
        );
        assert_eq!(g.cryptvols.len(), 2);
        let v = &g.cryptvols[0];
        assert_eq!(v.name, "luks-a8fdec22-c2a3-4a02-810f-9817b0c94152");
        assert_eq!(v.state, CryptState::Locked);
        assert_eq!(v.key, "luks:a8fdec22c2a34a02810f9817b0c94152");
        let n = v.node.unwrap();
        assert_eq!(g.node(n).name, v.name);
        assert_eq!(g.node(n).parents, vec![g.by_name("vda").unwrap()]);
        assert!(g.node(n).reader().is_none());
        // 4 MiB less the data offset (LUKS2 here: 16 KiB metadata x2 + 1 MiB keyslots, 1 MiB
        // aligned = 2 MiB, cryptsetup's luksDump "offset: 2097152 [bytes]").
        assert_eq!(v.data_offset, 4096);
        assert_eq!(g.node(n).size, (4 << 20) - (2 << 20));
        assert_eq!(
            v.summary(),
            "LUKS2 aes-xts-plain64 256-bit key; keyslot 0 pbkdf2-sha256"
        );
        assert_eq!(v.state_text(), "locked: needs a passphrase");
        for (tab, name) in [
            (
                "root UUID=A8FDEC22-c2a3-4a02-810f-9817b0c94152 none luks",
                "root",
            ),
            ("lab LABEL=fixture-label", "lab"),
            ("path /dev/vda - discard", "path"),
            (
                "other UUID=00000000-0000-4000-8000-000000000000",
                "luks-a8fdec22-c2a3-4a02-810f-9817b0c94152",
            ),
        ] {
            let g = graph(vec![("vda", disk("luks2-sha256"))], tab);
            assert_eq!(g.cryptvols[0].name, name, "{tab}");
            assert_eq!(
                g.cryptvols[0].entry.is_some(),
                !name.starts_with("luks-"),
                "{tab}"
            );
        }
    }

    /// What this program does not open is said, with what is needed; so is a crypttab entry
    /// with a key script; a cloned volume (same UUID twice) is used once.
    #[test]
    fn refusals() {
        let g = graph(vec![("vda", disk("luks2-integrity"))], "");
        assert!(
            matches!(&g.cryptvols[0].state, CryptState::Unsupported(w) if w.contains("authenticated encryption"))
        );
        assert!(g.cryptvols[0].node.is_none());
        let g = graph(
            vec![("vda", disk("luks1-sha256"))],
            "c UUID=82133138-c746-4c09-843e-5980693f68e5 none keyscript=/bin/cat",
        );
        assert!(
            matches!(&g.cryptvols[0].state, CryptState::Unsupported(w) if w.contains("key scripts are not run"))
        );
        let g = graph(
            vec![("vda", disk("luks1-sha256")), ("vdb", disk("luks1-sha256"))],
            "",
        );
        assert_eq!(g.cryptvols.len(), 1);
        assert!(
            g.problems[0].contains("is on both vda and vdb"),
            "{:?}",
            g.problems
        );
    }

    /// A volume cryptsetup opened (DM UUID CRYPT-LUKS2-<uuid>-<name>) is that device, under
    /// whatever name it was opened.
    #[test]
    fn an_open_volume_is_its_kernel_device() {
        use std::fs;
        use std::os::unix::fs::symlink;
        let t = TempDir::new();
        let (sys, dev) = (t.path().join("sys"), t.path().join("dev"));
        let w = |p: std::path::PathBuf, s: &str| {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, s).unwrap();
        };
        let d = sys.join("devices/pci0000:00/virtio1/block/vda");
        w(d.join("dev"), "254:0\n");
        w(d.join("size"), "8192\n");
        let m = sys.join("devices/virtual/block/dm-0");
        w(m.join("dev"), "253:0\n");
        w(m.join("size"), "4096\n");
        w(m.join("dm/name"), "cryptsetup-name\n");
        w(
            m.join("dm/uuid"),
            "CRYPT-LUKS2-a8fdec22c2a34a02810f9817b0c94152-cryptsetup-name\n",
        );
        fs::create_dir_all(sys.join("class/block")).unwrap();
        symlink(&d, sys.join("class/block/vda")).unwrap();
        symlink(&m, sys.join("class/block/dm-0")).unwrap();
        let mut b = vec![0u8; 4 << 20];
        crate::source::ReadAt::read_exact_at(&*disk("luks2-sha256"), 0, &mut b).unwrap();
        fs::create_dir_all(&dev).unwrap();
        fs::write(dev.join("vda"), &b).unwrap();
        fs::write(dev.join("dm-0"), vec![0u8; 2 << 20]).unwrap();
        let g = discover(&Inputs::Live { sys, dev }, Settings::default());
        let v = &g.cryptvols[0];
        assert_eq!(v.state, CryptState::Active);
        let n = g.node(v.node.unwrap());
        assert_eq!(n.name, "cryptsetup-name");
        assert!(matches!(n.kind, NodeKind::Crypt { vol: 0 }));
        assert_eq!(n.parents, vec![g.by_name("vda").unwrap()]);
    }

    #[test]
    fn dm_uuids_as_cryptsetup_sets_them() {
        assert_eq!(
            key_from_dm_uuid("CRYPT-LUKS2-5E0C000000004000800000000000000a-cryptroot"),
            Some("luks:5e0c000000004000800000000000000a".into())
        );
        assert_eq!(
            vol_key("5E0C0000-0000-4000-8000-00000000000a"),
            "luks:5e0c000000004000800000000000000a"
        );
        for bad in [
            "CRYPT-PLAIN-swap",
            "CRYPT-LUKS2-5e0c-x",
            "CRYPT-LUKS2-5e0c000000004000800000000000000aXname",
            "LVM-abc",
            "CRYPT-BITLK-x",
        ] {
            assert_eq!(key_from_dm_uuid(bad), None, "{bad}");
        }
    }
}
