#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, cut from the real-tool fixtures under tests/fixtures.

Usage: fuzz/seeds.py OUTDIR      (writes OUTDIR/<target>/<seed>; `make fuzz` uses fuzz/corpus)

Every seed is the bytes a real tool wrote (sfdisk, sgdisk, mdadm, lvm2, mkfs.*, cryptsetup),
only re-encoded in the input form of its target (see fuzz/src/lib.rs):
  disk     flags:u8 (bit 0: 4096-byte blocks) size:u64, then chunks off:u64 len:u16 bytes
  discover flags:u8, then up to 4 times len:u32 disk
The exceptions are the kernel command lines and evms.conf texts below (typical lines as
written by hand, as users write them) and the EVMS feature header: no EVMS tool runs today,
so its seed is a header built from the EVMS 2.x layout (src/formats/evms.rs) with the
checksum disabled by the magic value EVMS itself uses.
"""
import glob
import hashlib
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
MD_MAGIC = 0xA92B4EFC


def spr(path):
    b = open(path, "rb").read()
    assert b[:8] == b"EVMSSPR1", path
    size, ss, cnt = struct.unpack_from("<QII", b, 8)
    assert ss == 512
    secs, off = {}, 24
    for _ in range(cnt):
        (idx,) = struct.unpack_from("<Q", b, off)
        secs[idx] = b[off + 8 : off + 520]
        off += 520
    return size, secs


def get(secs, off, n):
    out = bytearray()
    while len(out) < n:
        pos = off + len(out)
        s = secs.get(pos // 512, bytes(512))
        within = pos % 512
        out += s[within : within + min(512 - within, n - len(out))]
    return bytes(out)


def disk(size, secs, lbs=512):
    """The chunk encoding: runs of consecutive stored sectors, at most 127 sectors a chunk."""
    out = bytearray([1 if lbs == 4096 else 0]) + struct.pack("<Q", size)
    run = []
    for idx in sorted(secs) + [None]:
        if run and (idx is None or idx != run[-1] + 1 or len(run) == 127):
            data = b"".join(secs[i] for i in run)
            out += struct.pack("<QH", run[0] * 512, len(data)) + data
            run = []
        if idx is not None:
            run.append(idx)
    return bytes(out)


def multi(flags, disks):
    out = bytearray([flags])
    for d in disks[:4]:
        out += struct.pack("<I", len(d)) + d
    return bytes(out)


class Out:
    def __init__(self, root):
        self.root = root
        self.n = 0

    def put(self, target, name, data):
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        h = hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(d, f"{name}-{h}"), "wb") as f:
            f.write(data)
        self.n += 1


def rel(p):
    return os.path.relpath(os.path.dirname(p), FIX).replace("/", "_").strip("_")


def lvm_text(secs, mda_off):
    """The committed metadata text of the mda at mda_off (raw_locn[0], with wrap-around)."""
    h = get(secs, mda_off, 512)
    if h[4:20] != b" LVM2 x[5A%r0N*>":
        return None
    size = struct.unpack_from("<Q", h, 0x20)[0]
    off, tsize = struct.unpack_from("<QQ", h, 0x28)
    if off == 0 or tsize == 0:
        return None
    first = min(tsize, size - off)
    t = get(secs, mda_off + off, first) + get(secs, mda_off + 512, tsize - first)
    return t


def main(outdir):
    o = Out(outdir)
    # Partition tables: mbr and gpt targets over whole disks.
    for p in sorted(glob.glob(os.path.join(FIX, "part", "*", "disk.spr"))):
        size, secs = spr(p)
        lbs = 4096 if "4k" in p else 512
        d = disk(size, secs, lbs)
        o.put("mbr", rel(p), d)
        o.put("gpt", rel(p), d)
        o.put("gpt", rel(p) + "-fix", bytes([d[0] | 2]) + d[1:])
        o.put("discover", rel(p), multi(0, [d]))
    # Filesystems and LUKS.
    for p in sorted(glob.glob(os.path.join(FIX, "fs", "*", "disk.spr"))):
        size, secs = spr(p)
        o.put("fs", rel(p), disk(size, secs))
        if "luks" in p:
            o.put("luks", rel(p), b"\x00" + get(secs, 0, 512))
            sec = get(secs, 0x4000, 512)
            if sec[:6] == b"SKUL\xba\xbe":
                o.put("luks", rel(p) + "-secondary", b"\x01" + sec)
    # LUKS headers written by cryptsetup (tests/fixtures/luks): the LUKS1 header on its
    # device size, both LUKS2 copies as a disk (also with checksums recomputed), the JSON area.
    for p in sorted(glob.glob(os.path.join(FIX, "luks", "*", "disk.spr"))):
        size, secs = spr(p)
        head = get(secs, 0, 4096)
        if struct.unpack_from(">H", head, 6)[0] == 1:
            o.put("luks1", rel(p), struct.pack("<Q", size) + head[:1024])
        else:
            d = disk(size, secs)
            o.put("luks2_pair", rel(p), d)
            o.put("luks2_pair", rel(p) + "-fix", bytes([d[0] | 2]) + d[1:])
            hs = struct.unpack_from(">Q", head, 8)[0]
            o.put("luks2_json", rel(p), get(secs, 4096, hs - 4096).rstrip(b"\0"))
    # MD superblocks, and whole member sets for discovery.
    for sc in sorted(glob.glob(os.path.join(FIX, "md", "scenarios", "*", ""))):
        members = []
        for p in sorted(glob.glob(os.path.join(sc, "*.spr"))):
            size, secs = spr(p)
            members.append(disk(size, secs))
            s = size // 512
            if s >= 128:
                at = (s & ~127) - 128
                b = get(secs, at * 512, 4096)
                le, be = struct.unpack_from("<I", b)[0], struct.unpack_from(">I", b)[0]
                if MD_MAGIC in (le, be):
                    o.put("md_v090", rel(p) + os.path.basename(p),
                          b"\x00" + struct.pack("<I", at) + b)
            for minor, at in ((0, (s - 16) & ~7), (1, 0), (2, 8)):
                b = get(secs, at * 512, 4096)
                if struct.unpack_from("<I", b)[0] == MD_MAGIC:
                    o.put("md_v1", rel(p) + os.path.basename(p),
                          bytes([minor << 1]) + struct.pack("<Q", at) + b)
        o.put("discover", rel(sc + "x"), multi(0, members))
    # LVM2: labels, metadata areas, texts, whole PV sets.
    for sc in sorted(glob.glob(os.path.join(FIX, "lvm", "*", ""))):
        pvs = []
        for p in sorted(glob.glob(os.path.join(sc, "*.spr"))):
            size, secs = spr(p)
            pvs.append(disk(size, secs))
            name = rel(p) + "-" + os.path.basename(p)
            head = get(secs, 0, 2048)
            o.put("lvm_label", name, b"\x00" + head)
            # Metadata areas named by the label (pv_header: data areas, then mdas).
            for s in range(4):
                sec = head[s * 512 : (s + 1) * 512]
                if sec[:8] != b"LABELONE":
                    continue
                pvh = s * 512 + struct.unpack_from("<I", sec, 0x14)[0]
                off = pvh + 40
                lists, cur = [], []
                while off + 16 <= 2048 and len(lists) < 2:
                    a, n = struct.unpack_from("<QQ", head, off)
                    off += 16
                    if a == 0:
                        lists.append(cur)
                        cur = []
                    else:
                        cur.append((a, n))
                for a, n in lists[1] if len(lists) > 1 else []:
                    h = get(secs, a, 512)
                    text = lvm_text(secs, a)
                    end = a + 512
                    hdr_size = struct.unpack_from("<Q", h, 0x20)[0]
                    # The area up to its last stored sector.
                    last = max([i * 512 + 512 for i in secs if a <= i * 512 < a + hdr_size]
                               + [end])
                    o.put("lvm_mda", name, b"\x00" + struct.pack("<Q", a) + get(secs, a, last - a))
                    if text:
                        o.put("lvm_text", name, text)
                        o.put("lvm_vg", name, text.rstrip(b"\x00"))
                break
        o.put("discover", rel(sc + "x"), multi(0, pvs))
    # Stacks, so discovery has something to read through from the start: the real PV of
    # lvm/whole-disk moved into the first partition of part/gpt, and onto the data area of
    # both members of md/r1-12-bitmap (each structure still as its tool wrote it).
    pv_size, pv = spr(os.path.join(FIX, "lvm", "whole-disk", "disk.spr"))
    g_size, g = spr(os.path.join(FIX, "part", "gpt", "disk.spr"))
    p1 = struct.unpack_from("<Q", get(g, 2 * 512, 128), 32)[0]
    stacked = dict(g)
    stacked.update({p1 + i: s for i, s in pv.items()})
    o.put("discover", "stack-pv-in-gpt", multi(0, [disk(g_size, stacked)]))
    o.put("mbr", "stack-pv-in-gpt", disk(g_size, stacked))
    members = []
    for m in ("m0", "m1"):
        size, secs = spr(os.path.join(FIX, "md", "scenarios", "r1-12-bitmap", m + ".spr"))
        data_offset = struct.unpack_from("<Q", get(secs, 8 * 512, 4096), 0x80)[0]
        secs = dict(secs)
        secs.update({data_offset + i: s for i, s in pv.items()})
        members.append(disk(size, secs))
    o.put("discover", "stack-pv-on-md-raid1", multi(0, members))
    # EVMS: a feature header in the last sector, checksum disabled (see the docstring).
    h = bytearray(512)
    struct.pack_into("<III", h, 0, 0x54414546, 0x31415926, 3)
    struct.pack_into("<Q", h, 40, 7)
    h[104:108] = b"sda1"
    h[232:236] = b"vol0"
    size = 1 << 20
    o.put("evms", "header", bytes([0]) + struct.pack("<Q", size)
          + struct.pack("<QH", size - 512, 512) + bytes(h)
          + struct.pack("<QH", size - 1024, 512) + bytes(h))
    for i, line in enumerate([
        b"BOOT_IMAGE=/vmlinuz root=/dev/mapper/vg0-root ro quiet rd.lvm.lv=vg0/root",
        b"root=UUID=5d8a0c6e-1b7f-4c1e-9a6e-3f0c2d1e4b5a rootfstype=ext4 rootflags=noatime rw",
        b"root=/dev/md/root rd.md.uuid=6b8b4567:327b23c6:643c9869:66334873 rd.timeout=30",
        b"root=PARTUUID=0b9c8a7d-01/PARTNROFF=1 rootwait panic=10 init=/sbin/init -- single",
        b"root=LABEL=root\\x2fa evms.include=vg0/*,md/* evms.exclude=/dev/evms/tmp evms.degraded=1",
        b"root=fe01 rd.shell rd.break=pre-mount rd.auto rootdelay=5 \"evms.activate=all\"",
        b"root=/dev/evms/lvm2/vg0/root resume=PARTLABEL=swap rd.lvm.vg=vg0 rd.retry=9",
    ]):
        o.put("cmdline", f"line{i}", line)
    for i, text in enumerate([
        b"# evms.conf\nengine {\n mode = readwrite\n}\nactivate {\n\tinclude = [/dev/evms/*]\n"
        b"\texclude = [ sda[57] ]\n}\n",
        b"activate { include = [ \"vg0/*\", md/* ] exclude = [/dev/evms/temp] }",
    ]):
        o.put("config", f"conf{i}", text)
    print(f"{o.n} seeds in {outdir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "corpus"))
