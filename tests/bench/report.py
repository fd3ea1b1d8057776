#!/usr/bin/env python3
"""`make bench`'s report: reads target/bench/results (written by tests/bench.sh, its guest
half tests/bench/guest.sh, tests/bench-boot.sh and tests/bench/size.sh) and writes
target/bench/report.md with every figure and two SVG charts (time against the number of
LVs; the boot timeline per image). No plotting library: the SVG is written as text."""

import os
import re
import statistics
import sys
from collections import defaultdict

OUT = sys.argv[1] if len(sys.argv) > 1 else "target/bench"
RES = os.path.join(OUT, "results")

SMALL = ["flagship", "twopv", "mdlevels", "lvparts"]
SCALE = ["lv250", "lv500", "lv1000", "history", "stripe64", "md16"]
DESCR = {
    "flagship": "3 GPT disks → MD RAID5 → LVM, 2 LVs",
    "twopv": "VG over a disk and a partition, 4 LVs",
    "mdlevels": "RAID1 ×2, RAID0, RAID10 over 3 disks; a VG",
    "lvparts": "LVs holding partition tables (kpartx)",
    "lv250": "one VG, 250 linear LVs",
    "lv500": "one VG, 500 linear LVs",
    "lv1000": "one VG, 1000 linear LVs",
    "history": "VG of 50 LVs, 16 MiB ring with 2000 old copies",
    "stripe64": "64 virtio-scsi PVs, 200 LVs striped over all",
    "md16": "16 RAID5 arrays of 4 members",
}
OBJECTS = {"lv250": 250, "lv500": 500, "lv1000": 1000, "stripe64": 200, "md16": 16, "history": 50}


def read_lines(path):
    try:
        with open(path) as f:
            return [l.rstrip("\n") for l in f]
    except OSError:
        return []


# ---- activation results ---------------------------------------------------------------------
runs = defaultdict(list)  # (case, mode, tool) -> [dict]
phases = defaultdict(list)  # (case, mode) -> [line]
bytes_read = {}  # case -> {label: (total, ndev, max)}
devices = {}
strace = {}  # (case, tool) -> {syscall: (calls, errors)}
tables = {}  # case -> {oracle: text, ours: text}
unfinished = []
brackets = []  # two date calls around nothing: in every timed figure once
startups = []  # the same around `evms-activate --help`: our process start and exit

for d in sorted(os.listdir(RES)) if os.path.isdir(RES) else []:
    p = os.path.join(RES, d)
    if not os.path.isdir(p):
        continue
    case = d.split(".")[0]
    if not os.path.exists(os.path.join(p, "bench.done")):
        unfinished.append(d)
    for l in read_lines(os.path.join(p, "results")):
        w = l.split()
        if len(w) < 3:
            continue
        c, mode, what = w[0], w[1], w[2]
        if what in ("oracle", "ours"):
            r = {"t": float(w[3]), "dm": int(w[4]), "md": int(w[5])}
            for kv in w[6:]:
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    r[k] = v
            runs[(c, mode, what)].append(r)
        elif what == "bracket":
            brackets.append(float(w[3]))
        elif what == "startup" and mode == "noudev":
            startups.append(float(w[3]))
        elif what == "ours-phase":
            phases[(c, mode)].append(" ".join(w[3:]))
        elif what == "bytes":
            bytes_read.setdefault(c, {})[w[3]] = (int(w[4]), int(w[5]), int(w[6]))
        elif what == "devices":
            devices[c] = int(w[3])
        elif what == "strace":
            counts = {}
            for kv in w[4:]:
                k, v = kv.split("=", 1)
                calls, errs = v.split("/")
                counts[k] = (int(calls), int(errs))
            strace[(c, w[3])] = counts
    for side in ("oracle", "ours"):
        t = os.path.join(p, "tables." + side)
        if os.path.exists(t):
            tables.setdefault(case, {})[side] = open(t).read()

cases = [c for c in SMALL + SCALE if any(k[0] == c for k in runs)]


def med(xs):
    return statistics.median(xs) if xs else None


def secs(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def kernel_work(r):
    return float(r.get("work", "nan")) if "work" in r else None


def summary(case, mode):
    o = runs.get((case, mode, "oracle"), [])
    u = runs.get((case, mode, "ours"), [])
    if not o and not u:
        return None
    uo = med([r["t"] for r in u])
    oo = med([r["t"] for r in o])
    work = med([kernel_work(r) for r in u if kernel_work(r) is not None])
    rss = max((r.get("peak-rss", "?") for r in u), key=lambda s: int(re.sub(r"\D", "", s) or 0), default="?")
    return {
        "ours": uo, "oracle": oo, "n_ours": len(u), "n_oracle": len(o), "work": work,
        "rest": None if uo is None or work is None else uo - work,
        "ratio": None if not uo or oo is None else oo / uo,
        "rss": rss,
        "ok": all(r.get("rc", "0") == "0" for r in u),
        "active": (u[0]["dm"], u[0]["md"]) if u else None,
        "active_oracle": (o[0]["dm"], o[0]["md"]) if o else None,
    }


def tables_equal(case):
    t = tables.get(case, {})
    if "oracle" not in t or "ours" not in t:
        return "–"
    return "yes" if t["oracle"] == t["ours"] else "**no**"


# ---- boot and size --------------------------------------------------------------------------
boot = defaultdict(list)  # image -> [dict]
boot_events = defaultdict(list)  # image -> [(name, t)] of the median run
for l in read_lines(os.path.join(RES, "boot.txt")):
    w = l.split()
    if not w:
        continue
    if w[0] == "boot":
        r = {"image": w[1]}
        for kv in w[2:]:
            if "=" in kv:
                k, v = kv.split("=", 1)
                r[k] = v
        boot[w[1]].append(r)
size = defaultdict(list)
for l in read_lines(os.path.join(RES, "size.txt")):
    w = l.split()
    if w:
        size[w[0]].append(w[1:])
machine = {}
for l in read_lines(os.path.join(RES, "machine.txt")):
    k, _, v = l.partition(" ")
    machine[k] = v


# ---- SVG ------------------------------------------------------------------------------------
def svg_scale(path):
    pts = {"evms-activate": [], "mdadm + lvm2": [], "evms-activate (udev)": [], "lvm2 (udev)": []}
    for c, n in (("lv250", 250), ("lv500", 500), ("lv1000", 1000)):
        for mode, so, sl in (("noudev", "evms-activate", "mdadm + lvm2"), ("udev", "evms-activate (udev)", "lvm2 (udev)")):
            s = summary(c, mode)
            if s and s["ours"] is not None:
                pts[so].append((n, s["ours"]))
            if s and s["oracle"] is not None:
                pts[sl].append((n, s["oracle"]))
    pts = {k: v for k, v in pts.items() if v}
    if not pts:
        return False
    W, H, L, R, T, B = 720, 420, 70, 200, 40, 60
    ymax = max(y for v in pts.values() for _, y in v) * 1.15
    xmax = 1100
    X = lambda x: L + x / xmax * (W - L - R)
    Y = lambda y: H - B - y / ymax * (H - T - B)
    colors = {"evms-activate": "#1f77b4", "mdadm + lvm2": "#d62728",
              "evms-activate (udev)": "#6baed6", "lvm2 (udev)": "#ff9896"}
    dash = {"evms-activate (udev)": "6,4", "lvm2 (udev)": "6,4"}
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="13">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2 - 60}" y="24" font-size="16" text-anchor="middle">Activation time against the number of LVs (one VG)</text>']
    o.append(f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>')
    o.append(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>')
    for x in (0, 250, 500, 750, 1000):
        o.append(f'<line x1="{X(x)}" y1="{H - B}" x2="{X(x)}" y2="{H - B + 5}" stroke="black"/>')
        o.append(f'<text x="{X(x)}" y="{H - B + 20}" text-anchor="middle">{x}</text>')
    step = 10 ** max(-2, len(str(int(ymax))) - 1) / 2
    while ymax / step > 8:
        step *= 2
    y = 0.0
    while y <= ymax:
        o.append(f'<line x1="{L - 5}" y1="{Y(y)}" x2="{W - R}" y2="{Y(y)}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 8}" y="{Y(y) + 4}" text-anchor="end">{y:g}</text>')
        y += step
    o.append(f'<text x="{(L + W - R) / 2}" y="{H - 15}" text-anchor="middle">number of LVs</text>')
    o.append(f'<text x="18" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 18 {(T + H - B) / 2})">guest seconds</text>')
    ly = T + 10
    for name, v in pts.items():
        v = sorted(v)
        col = colors[name]
        d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in v)
        da = f' stroke-dasharray="{dash[name]}"' if name in dash else ""
        o.append(f'<polyline points="{d}" fill="none" stroke="{col}" stroke-width="2.5"{da}/>')
        for x, y in v:
            o.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="4" fill="{col}"/>')
            o.append(f'<text x="{X(x) + 6:.1f}" y="{Y(y) - 6:.1f}" font-size="11" fill="{col}">{y:.2f} s</text>')
        o.append(f'<line x1="{W - R + 15}" y1="{ly}" x2="{W - R + 45}" y2="{ly}" stroke="{col}" stroke-width="2.5"{da}/>')
        o.append(f'<text x="{W - R + 50}" y="{ly + 4}">{name}</text>')
        ly += 22
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
    return True


def svg_boot(path):
    rows = []
    for img in ("ours", "ours-smp2", "busybox", "initramfs-tools", "dracut"):
        rs = boot.get(img, [])
        ok = [r for r in rs if "mounted" in r]
        if not ok:
            continue
        r = sorted(ok, key=lambda r: float(r["mounted"]))[len(ok) // 2]
        ev = []
        for k, v in r.items():
            if k.startswith("at:"):
                ev.append((k[3:], float(v)))
        rows.append((img, float(r["mounted"]), sorted(ev, key=lambda e: e[1]), r))
    if not rows:
        return False
    W, L, R, T = 860, 150, 30, 50
    H = T + 70 * len(rows) + 60
    tmax = max(m for _, m, _, _ in rows) * 1.05
    X = lambda t: L + t / tmax * (W - L - R)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="24" font-size="16" text-anchor="middle">Boot: the kernel runs /init (0 s) → root mounted (median run, QEMU TCG)</text>']
    palette = ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fdd0a2", "#c7e9c0", "#dadaeb"]
    y = T
    for img, m, ev, r in rows:
        o.append(f'<text x="{L - 10}" y="{y + 22}" text-anchor="end" font-size="13">{img}</text>')
        o.append(f'<rect x="{L}" y="{y + 8}" width="{X(m) - L:.1f}" height="22" fill="#eee" stroke="#999"/>')
        fin = float(r.get("in_finit_module", "nan")) if "in_finit_module" in r else None
        if fin is not None and fin == fin:
            o.append(f'<rect x="{L}" y="{y + 32}" width="{X(fin) - L:.1f}" height="8" fill="#636363"/>')
            o.append(f'<text x="{X(fin) + 4:.1f}" y="{y + 40}" font-size="10">inside finit_module {fin:.2f} s</text>')
        prev = 0.0
        for i, (name, t) in enumerate(ev):
            col = palette[i % len(palette)]
            o.append(f'<rect x="{X(prev):.1f}" y="{y + 8}" width="{max(0.5, X(t) - X(prev)):.1f}" height="22" fill="{col}" stroke="#999"/>')
            o.append(f'<line x1="{X(t):.1f}" y1="{y + 4}" x2="{X(t):.1f}" y2="{y + 34}" stroke="black"/>')
            o.append(f'<text x="{X(t) - 2:.1f}" y="{y + 2 - (i % 2) * 0}" font-size="10" text-anchor="end" transform="rotate(-20 {X(t) - 2:.1f} {y + 2})">{name} {t:.2f}</text>')
            prev = t
        o.append(f'<text x="{X(m) + 4:.1f}" y="{y + 24}" font-size="12" font-weight="bold">{m:.2f} s</text>')
        y += 70
    o.append(f'<line x1="{L}" y1="{y + 10}" x2="{W - R}" y2="{y + 10}" stroke="black"/>')
    t = 0.0
    stepv = 0.5 if tmax < 5 else (1 if tmax < 12 else 2)
    while t <= tmax:
        o.append(f'<line x1="{X(t):.1f}" y1="{y + 10}" x2="{X(t):.1f}" y2="{y + 15}" stroke="black"/>')
        o.append(f'<text x="{X(t):.1f}" y="{y + 28}" text-anchor="middle">{t:g} s</text>')
        t += stepv
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
    return True


# ---- the report -----------------------------------------------------------------------------
md = []
w = md.append
w("# evms-activate benchmark")
w("")
w(f"Machine: {machine.get('cpu', '?')}, {machine.get('cpus', '?')} CPUs (shared; load average at the end {machine.get('load', '?')}); "
  f"{machine.get('host', '?')}; {machine.get('qemu', '?')}. Guest kernel: Debian {machine.get('kernel', '?')}. "
  f"Commit {machine.get('commit', '?')}. `make bench{' QUICK=1' if machine.get('quick') == '1' else ''}` took "
  f"{int(machine.get('wall', '0')) // 60} min {int(machine.get('wall', '0')) % 60} s.")
w("")
w("Activation is timed in the guest under QEMU TCG with `-icount shift=0,sleep=on`: guest time advances one "
  "nanosecond per instruction executed (a 1 GHz, one-instruction-per-cycle machine) and in real time only "
  "while the guest idles (waiting for a disk or a timer). Wall time under TCG on this shared machine varied 2× "
  "between identical runs; these figures repeat within a few percent. The page cache is warm (every device held "
  "open, read once beforehand) except in the bytes-read column; lvm2 reads with O_DIRECT, so its reads are never "
  "cached. Ours: `evms-activate activate` (everything eligible). mdadm + lvm2: `mdadm --assemble --scan` then "
  "`lvm vgchange -ay` (+ `kpartx -a` where the case has partitions in LVs). Same disks, same boot, modules "
  "loaded beforehand. *Kernel work* is the time inside DM create/load/resume, the md ioctls and sysfs writes "
  "(exec::timing); *rest* is everything else ours does (reading, parsing, planning, nodes, records, start-up).")
if brackets:
    w("")
    w(f"Every figure includes, once, the cost of the timer itself: two `date` calls around an empty command "
      f"take {med(brackets) * 1000:.2f} ms (median of {len(brackets)}; it is counted in *rest*, not subtracted).")
if brackets and startups:
    w(f"Starting our process at all (`evms-activate --help`: exec of the static binary, its page faults, exit) "
      f"takes {(med(startups) - med(brackets)) * 1000:.2f} ms more than the timer alone (median of {len(startups)}): "
      "also in *rest*, the floor under every `activate`.")
w("")
if unfinished:
    w(f"**Unfinished boots** (results partial): {', '.join(unfinished)}")
    w("")

for mode, title in (("noudev", "without udev (initramfs without udev, as ours is)"),
                    ("udev", "with systemd-udevd running (lvm2 syncs with udev: `udev_sync = 1`, `udev_rules = 1`)")):
    if not any(summary(c, mode) for c in cases):
        continue
    w(f"## Activation, {title}")
    w("")
    w("| case | active (DM, md) | mdadm + lvm2 s | ours s | ratio | ours: kernel work s | ours: rest s | rest % | runs | DM tables equal |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for c in cases:
        s = summary(c, mode)
        if not s:
            continue
        rest_pct = "–" if s["rest"] is None or not s["ours"] else f"{100 * s['rest'] / s['ours']:.0f}%"
        act = "–" if not s["active"] else f"{s['active'][0]}, {s['active'][1]}"
        if s["active_oracle"] and s["active"] and s["active_oracle"] != s["active"]:
            act += f" (tools: {s['active_oracle'][0]}, {s['active_oracle'][1]})"
        ratio = "–" if s["ratio"] is None else f"{s['ratio']:.1f}×"
        w(f"| {c}: {DESCR.get(c, '')} | {act} | {secs(s['oracle'])} | {secs(s['ours'])} | {ratio} | "
          f"{secs(s['work'])} | {secs(s['rest'])} | {rest_pct} | {s['n_oracle']}/{s['n_ours']} | "
          f"{tables_equal(c) if mode == 'noudev' else ''} |")
    w("")

if any(summary(c, "noudev") for c in ("lv250", "lv500", "lv1000")):
    w("## Scale: cost per object")
    w("")
    w("Per LV (one VG of N linear LVs, no udev). Linear growth shows as a constant per-LV cost.")
    w("")
    w("| LVs | ours ms/LV | of which kernel work | rest ms/LV | mdadm + lvm2 ms/LV | ours with udev ms/LV | lvm2 with udev ms/LV | peak RSS (ours) |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c, n in (("lv250", 250), ("lv500", 500), ("lv1000", 1000)):
        s = summary(c, "noudev")
        su = summary(c, "udev") or {}
        if not s:
            continue
        f = lambda x: "–" if x is None else f"{1000 * x / n:.3f}"
        w(f"| {n} | {f(s['ours'])} | {f(s['work'])} | {f(s['rest'])} | {f(s['oracle'])} | {f(su.get('ours'))} | {f(su.get('oracle'))} | {s['rss']} |")
    w("")
    ph = phases.get(("lv1000", "noudev"), [])
    if ph:
        w("Where ours spends its time at 1000 LVs (debug lines of the run):")
        w("")
        w("```")
        for l in ph:
            w(l)
        w("```")
        w("")
    if svg_scale(os.path.join(OUT, "scale.svg")):
        w("![time against the number of LVs](scale.svg)")
        w("")

if bytes_read:
    w("## Bytes read by one discovery (cold cache)")
    w("")
    w("From /sys/block/*/stat before and after. Ours: `evms-activate scan`. The tools: `blkid -p` on every device, "
      "`mdadm --examine --scan`, `lvm pvs`. Per device = total / devices present; the largest single device is shown too.")
    w("")
    w("Devices are the block devices of /sys/block (disks, partitions, the empty disk that carries results out); "
      "we also read every LV and array in user space, through the disks: *per object* divides by the LVs/arrays.")
    w("")
    w("| case | devices | ours KiB/device | ours max KiB | ours KiB per LV/array | blkid KiB/dev | mdadm KiB/dev | lvm2 KiB/dev | tools KiB/device | tools max KiB |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        b = bytes_read.get(c)
        if not b:
            continue
        n = max(1, devices.get(c, 1))
        k = lambda lab, i=0: "–" if lab not in b else f"{b[lab][i] / 1024 / (n if i == 0 else 1):.1f}"
        per_obj = "–" if c not in OBJECTS or "ours" not in b else f"{b['ours'][0] / 1024 / OBJECTS[c]:.1f}"
        w(f"| {c} | {n} | {k('ours')} | {k('ours', 2)} | {per_obj} | {k('blkid')} | {k('mdadm')} | {k('lvm2')} | {k('tools')} | {k('tools', 2)} |")
    w("")

if strace:
    w("## System calls, flagship (strace -c -f, one activation each)")
    w("")
    keys = ["mmap", "munmap", "brk", "open", "openat", "readlink", "read", "pread64", "ioctl", "newfstatat", "stat", "total"]
    w("| syscall | ours calls (errors) | mdadm + lvm2 calls (errors) | issue 13's first look (ours) |")
    w("|---|---:|---:|---:|")
    issue = {"mmap": "493", "munmap": "489", "pread64": "190", "open": "243 (75)", "readlink": "165 (150)", "ioctl": "15"}
    for k in keys:
        a = strace.get(("flagship", "ours"), {}).get(k)
        b = strace.get(("flagship", "tools"), {}).get(k)
        if a is None and b is None:
            continue
        f = lambda x: "–" if x is None else (f"{x[0]} ({x[1]})" if x[1] else f"{x[0]}")
        w(f"| {k} | {f(a)} | {f(b)} | {issue.get(k, '')} |")
    w("")

if boot:
    w("## Boot: kernel \"Run /init\" → root mounted (flagship disks)")
    w("")
    w("Plain QEMU TCG (no -icount: module loading in parallel needs real CPUs) except the *-icount* rows "
      "(-icount shift=0,sleep=on, one vCPU: guest time counts instructions; plain TCG also charges the translation "
      "of every block of code the first time it runs), medians; the kernel log's clock. "
      "*In finit_module*, *in DM/MD calls* and *in mount(2)* (of root: the filesystem's own work) are ours' own accounts (stage line at root-mounted).")
    w("")
    w("| image | runs | root mounted s (median) | all runs | inside finit_module s | inside DM/MD calls s | inside mount(2) s | ours outside the kernel's calls s |")
    w("|---|---:|---:|---|---:|---:|---:|---:|")
    order = ["ours", "ours-smp2", "ours-smp2-serial", "busybox", "initramfs-tools", "dracut", "ours-icount", "busybox-icount"]
    for img in order + sorted(k for k in boot if k not in order):
        rs = [r for r in boot.get(img, []) if "mounted" in r]
        if not rs:
            continue
        ms = sorted(float(r["mounted"]) for r in rs)
        m = med(ms)
        fin = med([float(r["in_finit_module"]) for r in rs if "in_finit_module" in r])
        kc = med([float(r["in_kernel_calls"]) for r in rs if "in_kernel_calls" in r])
        mnt = med([float(r["in_mount"]) for r in rs if "in_mount" in r])
        out = None if fin is None else m - fin - (kc or 0) - (mnt or 0)
        w(f"| {img} | {len(rs)} | {m:.3f} | {' '.join(f'{x:.2f}' for x in ms)} | {secs(fin)} | {secs(kc)} | {secs(mnt)} | {secs(out)} |")
    w("")
    for l in size.get("bootnote", []):
        w(" ".join(l))
    if svg_boot(os.path.join(OUT, "boot.svg")):
        w("![boot timeline per image](boot.svg)")
        w("")

if size:
    w("## Size")
    w("")
    for l in size.get("binary", []):
        w(f"- binary ({l[0]}): {int(l[1]):,} bytes" + (f" — {' '.join(l[2:])}" if len(l) > 2 else ""))
    if size.get("bloat"):
        w("")
        w("cargo bloat (`--crates`, .text of the release build):")
        w("")
        w("| crate | size | share of .text |")
        w("|---|---:|---:|")
        for l in size["bloat"]:
            w(f"| {l[0]} | {l[1]} | {l[2]} |")
    if size.get("section"):
        w("")
        w("| section | bytes |")
        w("|---|---:|")
        for l in size["section"]:
            w(f"| {l[0]} | {int(l[1]):,} |")
    if size.get("initramfs"):
        w("")
        w("Initramfs for the flagship (each with the same kernel modules unless said), bytes:")
        w("")
        w("| image | uncompressed | gzip -9 | zstd -19 | xz -9 | modules in it |")
        w("|---|---:|---:|---:|---:|---:|")
        for l in size["initramfs"]:
            vals = dict(kv.split("=", 1) for kv in l[1:])
            g = lambda k: "–" if k not in vals else f"{int(vals[k]):,}"
            w(f"| {l[0]} | {g('raw')} | {g('gzip')} | {g('zstd')} | {g('xz')} | {g('modules')} |")
    for l in size.get("note", []):
        w("")
        w(" ".join(l))
    w("")

# ---- the issue's goals, with this run's figures ---------------------------------------------
goals = []
fs = summary("flagship", "noudev")
if fs and fs["ours"]:
    goals.append(f"- Rest (ours outside the kernel's calls) ≤ 10% of the total: flagship {100 * fs['rest'] / fs['ours']:.0f}%"
                 + "".join(f", {c} {100 * s['rest'] / s['ours']:.0f}%" for c in ("lv1000", "md16")
                           for s in [summary(c, "noudev")] if s and s["ours"] and s["rest"] is not None) + "."
                 + (f" The flagship's rest holds the timer and our process start-up ({1000 * med(startups):.1f} ms of "
                    f"{1000 * fs['rest']:.1f} ms); without them it would be "
                    f"{100 * (fs['rest'] - med(startups)) / (fs['ours'] - med(startups)):.0f}%."
                    if startups and fs["rest"] is not None and fs["ours"] > med(startups) else ""))
    goals.append(f"- ≥ 20× against mdadm + lvm2: flagship {fs['ratio']:.1f}×"
                 + "".join(f", {c} {s['ratio']:.2f}×" for c in ("lv1000",) for s in [summary(c, "noudev")] if s and s["ratio"]) + "."
                 # The floor: a program that did nothing but the kernel's calls still pays the timer
                 # and its own start.
                 + (f" The flagship's floor (timer, start-up and the kernel's work alone: {1000 * (med(startups) + fs['work']):.1f} ms) "
                    f"allows at most {fs['oracle'] / (med(startups) + fs['work']):.1f}× here."
                    if startups and fs["work"] and fs["oracle"] else ""))
per = [(n, summary(c, "noudev")) for c, n in (("lv250", 250), ("lv500", 500), ("lv1000", 1000))]
per = [(n, s["ours"] / n) for n, s in per if s and s["ours"]]
if len(per) > 1:
    goals.append("- Linear growth: ours per LV " + ", ".join(f"{1000 * x:.3f} ms at {n}" for n, x in per) + ".")
s1000 = summary("lv1000", "noudev")
if s1000:
    goals.append(f"- Peak RSS ≤ 16 MiB at 1000 LVs: {s1000['rss']}.")
fb = bytes_read.get("flagship")
if fb and "ours" in fb:
    goals.append(f"- ≤ 16 KiB + metadata text per device: flagship {fb['ours'][0] / 1024 / max(1, devices.get('flagship', 1)):.0f} KiB per device (the tools {fb['tools'][0] / 1024 / max(1, devices.get('flagship', 1)):.0f} KiB).")
ob = [r for r in boot.get("ours", []) if "mounted" in r and "in_finit_module" in r]
oi = [r for r in boot.get("ours-icount", []) if "mounted" in r and "in_finit_module" in r]
outside_of = lambda rs: med([float(r["mounted"]) - float(r["in_finit_module"]) - float(r.get("in_kernel_calls", 0))
                             - float(r.get("in_mount", 0)) for r in rs])
if ob:
    g = f"- Boot: ours outside the kernel's calls ≤ 0.1 s under TCG (flagship): {outside_of(ob):.2f} s under plain TCG"
    if oi:
        g += f", {outside_of(oi):.3f} s under -icount (instructions, without TCG's translation cost)"
    goals.append(g + ".")
for l in size.get("binary", []):
    goals.append(f"- Stripped binary ≤ 1 MiB (1,048,576 bytes) with the stable toolchain: {int(l[1]):,} bytes.")
if goals:
    md.append("## The issue's goals, this run")
    md.append("")
    md.extend(goals)
    md.append("")

with open(os.path.join(OUT, "report.md"), "w") as f:
    f.write("\n".join(md) + "\n")
