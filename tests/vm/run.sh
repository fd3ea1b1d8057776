#!/bin/bash
# Real-kernel activation tests: the real tools (mdadm, lvm2, kpartx) are the oracle for
# evms-activate. Usage (README.md has the details):
#
#   tests/vm/run.sh [options] [SCENARIO...]      all scenarios when none is named
#     -j N                 run N scenarios at once (each VM uses one core)
#     --build              run cargo build for the static binary even if it exists
#     --ours FILE          put FILE in the guest as /bin/evms-activate instead of the built
#                          binary (harness self-test: selftest/evms-activate-mock.sh)
#     --rebuild-images     re-create the cached disk images of the named scenarios
#     --update-fixtures    write the oracle records to tests/fixtures/oracle/ (no drift check)
#     --export-images DIR  only make sure the images exist and copy them (with the last oracle
#                          records, hashes included) to DIR/SCENARIO/; no test boot
#     --list               list the scenarios with their description
#
# Per scenario: one "create" boot when the images are not cached (real tools build the layout on
# fresh sparse images, which are then kept under .cache/vm/SCENARIO/KEY/), then one "test" boot on
# throw-away overlays of those images (qemu snapshot=on), in which every case of the scenario
# runs: oracle activation + record, ours + record, teardown by the tools, ours twice more,
# our deactivate. The host compares the records and prints one line per scenario.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMDIR=$ROOT/tests/vm
: "${CACHE:=$ROOT/.cache}"
export CACHE
# shellcheck source=lib.sh
. "$VMDIR/lib.sh"
TARGET=x86_64-unknown-linux-musl
BIN=$ROOT/target/$TARGET/release/evms-activate
FIXTURES=$ROOT/tests/fixtures/oracle
VMCACHE=$CACHE/vm
RUNDIR=$VMCACHE/run
# Records compared between the oracle and ours (README.md, "Records"); the committed fixtures
# hold the same files except hashes (image contents are not reproducible byte for byte).
COMPARED="dm-table dm-info md md-detail md-map devnodes lvm-lvs lvm-vgs lvm-pvs lvm-sync bcache hashes"
FIXTURE_FILES="dm-table dm-info md md-detail md-map devnodes lvm-lvs lvm-vgs lvm-pvs"
# Committed too where a scenario has them: bcache (the others' records predate the file),
# lvm-sync (scenarios with SYNC_LVS).
fixture_files() { # COMMITTED-DIR ORACLE-DIR
  local f extra=""
  for f in bcache lvm-sync; do
    if [ -e "$1/$f" ] || [ -s "$2/$f" ]; then extra="$extra $f"; fi
  done
  echo "$FIXTURE_FILES$extra"
}
# dm-thin-pool, dm-snapshot, dm-cache (+ its smq policy, which the kernel would request_module)
# and dm-writecache for the thin/snapshot/cache scenarios; dm-raid, dm-mirror and dm-log for
# the RAID, mirror and pvmove ones; bcache for its scenario; dm-crypt, its ciphers and
# algif_skcipher (cryptsetup's kernel crypto API) for the LUKS scenarios.
GUEST_MODULES="virtio_pci virtio_blk crc32c_generic dm-mod dm-zero md-mod raid0 raid1 raid10 raid456 dm-raid dm-mirror dm-log dm-thin-pool dm-snapshot dm-cache dm-cache-smq dm-writecache bcache dm-crypt xts essiv algif_skcipher"
# thin_check and cache_check (thin-provisioning-tools): lvm2 runs them before it activates a
# pool, as on an installed Debian system. make-bcache and blkid for the bcache scenario.
# cryptsetup for the LUKS scenarios.
GUEST_TOOLS="mdadm lvm dmsetup kpartx sfdisk mke2fs sha256sum thin_check cache_check make-bcache blkid cryptsetup"

ours="" jobs_max=1 build=0 rebuild=0 update=0 export_dir="" list=0 scenarios=()
while [ $# -gt 0 ]; do
  case $1 in
    -j) jobs_max=$2; shift 2 ;;
    -j*) jobs_max=${1#-j}; shift ;;
    --build) build=1; shift ;;
    --ours) ours=$(readlink -f "$2"); shift 2 ;;
    --rebuild-images) rebuild=1; shift ;;
    --update-fixtures) update=1; shift ;;
    --export-images) export_dir=$2; shift 2 ;;
    --list) list=1; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
if [ ${#scenarios[@]} -eq 0 ]; then
  for f in "$VMDIR"/scenarios/*.sh; do scenarios+=("$(basename "$f" .sh)"); done
fi
for s in "${scenarios[@]}"; do
  [ -f "$VMDIR/scenarios/$s.sh" ] || { echo "run.sh: no scenario $s (tests/vm/scenarios/$s.sh)" >&2; exit 2; }
done

# Value of a variable set by a scenario file (sourced in a subshell; functions stay unused).
scen_var() {
  (
    # shellcheck disable=SC1090
    . "$VMDIR/scenarios/$1.sh" >/dev/null 2>&1
    eval "printf '%s' \"\${$2:-}\""
  )
}

if [ $list = 1 ]; then
  for s in "${scenarios[@]}"; do
    printf '%-12s %s\n' "$s" "$(sed -n '1s/^# *//p' "$VMDIR/scenarios/$s.sh")"
  done
  exit 0
fi

# Images are keyed by the scenario file and the creation helpers: edit either and they are
# made again; nothing else (the runner, the records) invalidates them. The case lines
# (`CASES=`, `CASE_*=`: what is run and expected at test time, one line each) are left out, so
# a changed expectation does not cost a create boot.
image_key() {
  {
    grep -Ev '^(CASES|CASE_[A-Za-z0-9_]+)=' "$VMDIR/scenarios/$1.sh"
    cat "$VMDIR/guest-lib.sh"
    grep -q '^LUKS_PASS=' "$VMDIR/scenarios/$1.sh" && cat "$VMDIR/guest-luks.sh"
  } | sha256sum | cut -c1-16
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# One initramfs for every scenario and both modes (the mode is on the kernel command line).
build_initramfs() {
  local files=(--file "$VMDIR/guest-lib.sh:/vm/guest-lib.sh" --file "$VMDIR/guest-luks.sh:/vm/guest-luks.sh"
    --file /etc/mke2fs.conf:/etc/mke2fs.conf --file /lib/udev/bcache-register:/usr/lib/udev/bcache-register) f
  for f in "$VMDIR"/scenarios/*.sh; do files+=(--file "$f:/vm/scenarios/$(basename "$f")"); done
  if [ -n "$ours" ]; then
    mkdir -p "$RUNDIR" && install -m 755 "$ours" "$RUNDIR/ours" && files+=(--file "$RUNDIR/ours:/bin/evms-activate")
  elif [ -x "$BIN" ]; then
    files+=(--file "$BIN:/bin/evms-activate")
  fi
  mkdir -p "$RUNDIR"
  vm_initramfs "$RUNDIR/initrd.gz" --script "$VMDIR/guest-run.sh" --tools "$GUEST_TOOLS" \
    --modules "$GUEST_MODULES" "${files[@]}"
}

# ensure_images NAME: prints the image directory; creates the images in a VM when not cached.
ensure_images() {
  local s=$1 key dir sizes i=0 size script work t0 disks=()
  key=$(image_key "$s")
  dir=$VMCACHE/$s/$key
  if [ -f "$dir/ready" ]; then echo "$dir"; return 0; fi
  rm -rf "$VMCACHE/$s" && mkdir -p "$dir"
  sizes=$(scen_var "$s" DISKS)
  for size in $sizes; do
    truncate -s "$size" "$dir/disk$i.img"
    script=$(scen_var "$s" "SFDISK_$i")
    [ -z "$script" ] && script=$(scen_var "$s" SFDISK_EACH | sed "s/%d/$i/g")
    if [ -n "$script" ]; then
      printf '%s\n' "$script" | sfdisk -q --no-reread --no-tell-kernel "$dir/disk$i.img" >"$dir/sfdisk$i.log" 2>&1 ||
        { echo "create $s: sfdisk on disk$i failed: $(cat "$dir/sfdisk$i.log")" >&2; return 1; }
    fi
    disks+=(--disk "$dir/disk$i.img")
    i=$((i + 1))
  done
  work=$RUNDIR/$s
  rm -rf "$work/create" && mkdir -p "$work"
  t0=$(now)
  vm_run "$RUNDIR/initrd.gz" "$work/create.console" "${disks[@]}" --out "$work/create" \
    --timeout 600 --append "quiet vmmode=create vmscen=$s vmdisks=$i"
  echo "$(secs "$t0" "$(now)")" > "$dir/create.wall"
  if [ ! -f "$work/create/create.ok" ]; then
    echo "create $s: the guest did not finish creating the layout; log: $work/create.console" >&2
    tail -30 "$work/create/log" 2>/dev/null | sed 's/^/    /' >&2
    return 1
  fi
  touch "$work/created"
  cp "$work/create/log" "$dir/create.log"
  cp "$work/create/examine" "$dir/examine"
  cp "$work/create/data-hashes" "$dir/data-hashes" 2>/dev/null || : > "$dir/data-hashes"
  touch "$dir/ready"
  echo "$dir"
}

# Diffs two record directories over the compared files; prints the diff, returns 1 if any.
diff_records() {
  local a=$1 b=$2 files=$3 f rc=0
  for f in $files; do
    # lvm-sync exists only for scenarios that ask for it (SYNC_LVS).
    [ -e "$a/$f" ] || [ -e "$b/$f" ] || continue
    if ! diff -u --label "$4/$f" --label "$5/$f" "$a/$f" "$b/$f" >/tmp/vmdiff.$$ 2>&1; then
      head -60 /tmp/vmdiff.$$ | sed 's/^/      /'
      rc=1
    fi
  done
  rm -f /tmp/vmdiff.$$
  return $rc
}

running_md() { awk '/array_state=(clean|active|readonly|read-auto|active-idle|write-pending)/' "$1/md"; }

# Values of CASE_<c>_<VAR>, CASE_<c>_<VAR>_2, ... _9 (one pattern or name list per line).
case_vals() {
  local s=$1 c=$2 v=$3 n val
  for n in "" _2 _3 _4 _5 _6 _7 _8 _9; do
    val=$(scen_var "$s" "CASE_${c}_${v}${n}")
    [ -n "$val" ] && printf '%s\n' "$val"
  done
  return 0
}

running_bcache() { grep '^bcache[0-9]' "$1/bcache" 2>/dev/null; }

# What a record shows as active: DM names, running md arrays and bcache devices, sorted, one
# line.
active_set() {
  { cut -d' ' -f1 "$1/dm-info"; running_md "$1" | cut -d' ' -f1; running_bcache "$1" | cut -d' ' -f1; } |
    sort | tr '\n' ' ' | sed 's/ $//'
}

# udev's /dev/bcache/by-uuid links (69-bcache.rules, from the kernel's CACHED_UUID: the
# backing device's UUID) made by ours without udev, for every running bcache device.
check_bcache_links() { # RECORD-DIR NAME
  local dev uuid
  running_bcache "$1" | while read -r dev _; do
    uuid=$(awk -v d="$dev" '$1 == "bcache-uuid" && $2 == d { print $3 }' "$1/info")
    grep -qxF "bcache /dev/bcache/by-uuid/$uuid -> $dev" "$1/info" ||
      echo "- $2: no link /dev/bcache/by-uuid/$uuid -> $dev (udev's name)"
  done
}

# Checks that apply to every kind of case (printed as "- ..." lines):
#   CASE_x_SAYS[_N]         ERE that a line of ours1's output must match (the console message)
#   CASE_x_ORACLE_SAYS[_N]  ERE that a line of the oracle's output must match (what lvm2/mdadm say)
#   CASE_x_DATA             volumes that ours must have activated with their creation-time
#                           content (the image's data-hashes): NAME (as in `hashes` and in
#                           data-hashes) or RECORD=NAME (md127=fresh-vdb)
#   CASE_x_WRITE            (guest) function run after ours3 that writes through our devices and
#                           records what it wrote (written_hash); CASE_x_AFTER must find that
#   CASE_x_AFTER            (guest) function run after our deactivate: its after_hash lines must
#                           equal the creation-time hashes (no data lost), CASE_x_AFTER_DATA names
#                           the volumes it must have reached
check_common() {
  local d=$1 c=$2 s=$3 pat name want got st
  while IFS= read -r pat; do
    [ -n "$pat" ] || continue
    grep -Eq -- "$pat" "$d/ours1.log" 2>/dev/null ||
      echo "- ours1 does not say /$pat/ (log: $d/ours1.log): $(head -c 400 "$d/ours1.log" | tr '\n' '|')"
  done <<EOF_SAYS
$(case_vals "$s" "$c" SAYS)
EOF_SAYS
  while IFS= read -r pat; do
    [ -n "$pat" ] || continue
    grep -Eq -- "$pat" "$d/oracle.log" 2>/dev/null ||
      echo "- the oracle does not say /$pat/ (scenario premise; log: $d/oracle.log)"
  done <<EOF_OSAYS
$(case_vals "$s" "$c" ORACLE_SAYS)
EOF_OSAYS
  local rec
  for name in $(case_vals "$s" "$c" DATA); do
    # RECORD=DATA (an md kernel name and the creation-time name) or one name for both.
    rec=${name%%=*} name=${name#*=}
    want=$(awk -v n="$name" '$1 == n { print $2 }' "$DATAHASHES" 2>/dev/null)
    [ -n "$want" ] || { echo "- no creation-time hash of $name in the image's data-hashes"; continue; }
    for st in ours1 ours2 ours3; do
      [ -f "$d/$st/hashes" ] || continue
      got=$(awk -v n="$rec" '$1 == n { print $2 }' "$d/$st/hashes")
      [ "$got" = "$want" ] || echo "- $st: $rec ${got:-is not active}; its data as created ($name) is $want"
    done
  done
  if [ -n "$(scen_var "$s" "CASE_${c}_WRITE")" ]; then
    [ "$(cat "$d/write.rc" 2>/dev/null)" = 0 ] && [ -s "$d/written-hashes" ] ||
      echo "- write: could not write through our devices (log: $d/write.log)"
  fi
  if [ -n "$(scen_var "$s" "CASE_${c}_AFTER")" ]; then
    [ "$(cat "$d/after.rc" 2>/dev/null)" = 0 ] ||
      echo "- after: the tools could not reach the data (log: $d/after.log)"
    while read -r name got; do
      # Written through our devices (CASE_x_WRITE), else as created.
      want=$(awk -v n="$name" '$1 == n { print $2 }' "$d/written-hashes" 2>/dev/null)
      [ -n "$want" ] || want=$(awk -v n="$name" '$1 == n { print $2 }' "$DATAHASHES" 2>/dev/null)
      [ "$got" = "$want" ] || echo "- after: $name holds $got, created as ${want:-?} (data changed or lost)"
    done < "$d/after-hashes"
    for name in $(case_vals "$s" "$c" AFTER_DATA); do
      grep -q "^$name " "$d/after-hashes" || echo "- after: $name was not reached"
    done
  fi
  return 0
}

# check_case DIR NAME SCENARIO: prints problems (one "- ..." line each, diffs indented).
check_case() {
  local d=$1 c=$2 s=$3 expect rc fx
  expect=$(cat "$d/expect")
  rc=$(cat "$d/oracle.rc" 2>/dev/null || echo missing)
  check_common "$d" "$c" "$s"
  if [ "$expect" = asserted ]; then
    # The tools do something else than what is demanded of us: ours is checked against the
    # case's own expectation (exit status, exactly these devices active), and ours2/ours3
    # against ours1 (re-runnable, idempotent).
    local want_rc want_act got_act st
    want_rc=$(scen_var "$s" "CASE_${c}_RC"); want_rc=${want_rc:-0}
    want_act=$(scen_var "$s" "CASE_${c}_ACTIVE" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/^ *//; s/ $//')
    for st in ours1 ours2 ours3; do
      [ -f "$d/$st.rc" ] || continue
      rc=$(cat "$d/$st.rc")
      [ "$rc" = "$want_rc" ] || echo "- $st: evms-activate activate exited $rc, expected $want_rc: $(head -c 300 "$d/$st.log" | tr '\n' ' ')"
      got_act=$(active_set "$d/$st")
      [ "$got_act" = "$want_act" ] || echo "- $st: active after ours: '$got_act', expected '$want_act'"
      if [ "$st" != ours1 ] && ! diff_records "$d/ours1" "$d/$st" "$COMPARED" ours1 "$st" >/tmp/vmcase.$$; then
        echo "- $st: records differ from ours1's:"
        cat /tmp/vmcase.$$
      fi
      rm -f /tmp/vmcase.$$
    done
    [ -s "$d/tools-teardown.residue" ] &&
      echo "- vgchange -an / mdadm --stop left our devices behind: $(tr '\n' ';' < "$d/tools-teardown.residue")"
  elif [ "$expect" = not-started ]; then
    [ -n "$(running_md "$d/oracle")" ] && echo "- scenario premise: the oracle started an array: $(running_md "$d/oracle")"
    [ -n "$(running_bcache "$d/oracle")" ] && echo "- scenario premise: the oracle started a bcache device: $(running_bcache "$d/oracle")"
    grep -q '^registered ' "$d/ours1/bcache" 2>/dev/null && echo "- ours registered bcache devices although nothing may start: $(grep '^registered ' "$d/ours1/bcache" | tr '\n' ';')"
    [ -s "$d/ours1/dm-table" ] && { echo "- ours created DM devices although nothing may start:"; sed 's/^/      /' "$d/ours1/dm-table"; }
    [ -n "$(running_md "$d/ours1")" ] && echo "- ours started an array without --degraded: $(running_md "$d/ours1")"
  else
    [ "$rc" = 0 ] || [ "$(scen_var "$s" "CASE_${c}_ORACLE_RC")" = any ] ||
      echo "- oracle exited $rc (log: $d/oracle.log)"
    [ -s "$d/oracle/dm-table" ] || [ -s "$d/oracle/md" ] || [ -s "$d/oracle/bcache" ] ||
      echo "- oracle activated nothing (harness or scenario error)"
    local prev="" prevdiff=""
    for st in ours1 ours2 ours3; do
      [ -f "$d/$st.rc" ] || continue
      rc=$(cat "$d/$st.rc")
      [ "$rc" = 0 ] || echo "- $st: evms-activate activate exited $rc: $(head -c 300 "$d/$st.log" | tr '\n' ' ')"
      if ! diff_records "$d/oracle" "$d/$st" "$COMPARED" oracle "$st" >/tmp/vmcase.$$; then
        # The same difference again (e.g. nothing activated at all) is named, not repeated.
        if [ -n "$prev" ] && [ "$(sed "s/$st/X/g" /tmp/vmcase.$$)" = "$prevdiff" ]; then
          echo "- $st: records differ from the oracle's as ${prev}'s do"
        else
          echo "- $st: records differ from the oracle's:"
          cat /tmp/vmcase.$$
        fi
        prev=$st prevdiff=$(sed "s/$st/X/g" /tmp/vmcase.$$)
      fi
      rm -f /tmp/vmcase.$$
    done
    # Not compared (see README.md): read-ahead, node modes, our /dev/evms links. Shown once.
    if [ -f "$d/ours1/info" ] && [ "$(cat "$d/ours1.rc")" = 0 ] && ! diff -q "$d/oracle/info" "$d/ours1/info" >/dev/null; then
      echo "* note (not a failure): ours1/info differs from the oracle's:"
      diff -u --label oracle/info --label ours1/info "$d/oracle/info" "$d/ours1/info" | tail -n +3 | head -30 | sed 's/^/      /'
    fi
    [ -s "$d/tools-teardown.residue" ] &&
      echo "- vgchange -an / mdadm --stop left our devices behind: $(tr '\n' ';' < "$d/tools-teardown.residue")"
  fi
  [ -s "$d/oracle-teardown.residue" ] &&
    echo "- harness: the tools' teardown of the oracle's devices left: $(tr '\n' ';' < "$d/oracle-teardown.residue")"
  rc=$(cat "$d/deactivate.rc" 2>/dev/null || echo missing)
  [ "$rc" = 0 ] || echo "- evms-activate deactivate exited $rc: $(head -c 300 "$d/deactivate.log" 2>/dev/null | tr '\n' ' ')"
  [ -s "$d/deactivate.residue" ] && echo "- after evms-activate deactivate still present: $(tr '\n' ';' < "$d/deactivate.residue")"
  # The committed oracle records (input of the image-based golden tests) must still be what the
  # real tools do.
  fx=$FIXTURES/$s/$c
  for st in ours1 ours2 ours3; do
    [ -f "$d/$st/bcache" ] && [ "$(cat "$d/$st.rc" 2>/dev/null)" = 0 ] && check_bcache_links "$d/$st" "$st"
  done
  if [ $update = 1 ]; then
    mkdir -p "$fx"
    for f in $(fixture_files "$fx" "$d/oracle"); do cp "$d/oracle/$f" "$fx/$f"; done
  elif [ ! -d "$fx" ]; then
    echo "- no committed oracle records in tests/fixtures/oracle/$s/$c (run with --update-fixtures)"
  elif ! diff_records "$fx" "$d/oracle" "$(fixture_files "$fx" "$d/oracle")" "committed" "oracle" >/tmp/vmfx.$$; then
    echo "- the oracle's records differ from tests/fixtures/oracle/$s/$c (tool or scenario change? --update-fixtures):"
    cat /tmp/vmfx.$$
  fi
  rm -f /tmp/vmfx.$$
  return 0
}

# test_scenario NAME: one line of summary on stdout, details before it.
test_scenario() {
  local s=$1 dir work t0 wall cw="" disks=() i problems c cases nprob=0 detail="" tdisks
  t0=$(now)
  work=$RUNDIR/$s
  mkdir -p "$work"
  rm -f "$work/created"
  dir=$(ensure_images "$s") || { echo "FAIL $s: could not create the images"; return 1; }
  DATAHASHES=$dir/data-hashes
  [ -f "$work/created" ] && cw=$(cat "$dir/create.wall" 2>/dev/null)
  rm -rf "$work/test"
  tdisks=$(scen_var "$s" TEST_DISKS)
  [ -z "$tdisks" ] && tdisks=$(seq 0 $(($(scen_var "$s" DISKS | wc -w) - 1)))
  for i in $tdisks; do disks+=(--disk-snapshot "$dir/disk$i.img"); done
  local tb
  tb=$(now)
  # A scenario with many devices may need longer (TEST_TIMEOUT, seconds) on a loaded host.
  local tt
  tt=$(scen_var "$s" TEST_TIMEOUT)
  vm_run "$RUNDIR/initrd.gz" "$work/test.console" "${disks[@]}" --out "$work/test" \
    --timeout "${tt:-900}" --append "quiet vmmode=test vmscen=$s vmdisks=$((${#disks[@]} / 2))"
  wall=$(secs "$tb" "$(now)")
  echo "$wall" > "$work/test.wall"
  if [ ! -f "$work/test/test.done" ]; then
    echo "    test boot did not finish (console: $work/test.console)"
    tail -20 "$work/test/log" 2>/dev/null | sed 's/^/    /'
    echo "FAIL $s: test boot did not finish [test ${wall}s]"
    return 1
  fi
  # scan, plan and activate --dry-run wrote nothing and activated nothing (guest-run.sh).
  if [ ! -s "$work/test/readonly" ] || grep -qv ' unchanged$' "$work/test/readonly" ||
    grep -q '^exit 1[0-9][0-9]' "$work/test/readonly.log"; then
    echo "    $s/readonly: $(tr '\n' ';' < "$work/test/readonly" 2>/dev/null) (log: ${work#"$ROOT"/}/test/readonly.log)"
    nprob=$((nprob + 1))
    detail="$detail readonly"
  fi
  cases=$(scen_var "$s" CASES); cases=${cases:-all}
  for c in $cases; do
    problems=$(check_case "$work/test/cases/$c" "$c" "$s")
    if [ -n "$problems" ]; then
      echo "    $s/$c:"
      printf '%s\n' "$problems" | sed 's/^/    /'
      nprob=$((nprob + $(printf '%s\n' "$problems" | grep -c '^- ')))
      detail="$detail $c"
    fi
  done
  # Keep the last oracle records (hashes included) with the images, for --export-images.
  rm -rf "$dir/oracle" && mkdir -p "$dir/oracle"
  for c in $cases; do cp -r "$work/test/cases/$c/oracle" "$dir/oracle/$c"; done
  local times="test ${wall}s, ${cw:+create ${cw}s}"
  [ -z "$cw" ] && times="${times}images cached"
  if [ $nprob -eq 0 ]; then
    echo "PASS $s [$times]"
  else
    echo "FAIL $s: $nprob problem(s) in case(s)${detail} (logs: ${work#"$ROOT"/}) [$times]"
    return 1
  fi
}

export_images() {
  local s dir n i tdisks
  for s in "${scenarios[@]}"; do
    dir=$(ensure_images "$s") || { echo "export: could not create images for $s" >&2; return 1; }
    mkdir -p "$export_dir/$s"
    n=0
    for i in "$dir"/disk*.img; do cp --sparse=always "$i" "$export_dir/$s/"; n=$((n + 1)); done
    [ -d "$dir/oracle" ] && rm -rf "$export_dir/$s/oracle" && cp -r "$dir/oracle" "$export_dir/$s/oracle"
    cp "$dir/examine" "$export_dir/$s/examine"
    # Which images the test boot attaches, in order (vda, vdb, ...): the degraded scenario
    # leaves one out.
    tdisks=$(scen_var "$s" TEST_DISKS)
    [ -z "$tdisks" ] && tdisks=$(seq 0 $((n - 1)))
    for i in $tdisks; do echo "disk$i.img"; done > "$export_dir/$s/test-disks"
    echo "exported $s: $n disk image(s) to $export_dir/$s"
  done
}

# ---- main ------------------------------------------------------------------------------
if [ $rebuild = 1 ]; then
  for s in "${scenarios[@]}"; do rm -rf "${VMCACHE:?}/$s"; done
fi
if [ -z "$export_dir" ] && [ -z "$ours" ]; then
  if [ $build = 1 ] || [ ! -x "$BIN" ]; then
    echo "building $BIN"
    (cd "$ROOT" && PKG_CONFIG_ALLOW_CROSS=1 cargo build --release --target $TARGET --quiet) ||
      echo "run.sh: cargo build failed; the 'ours' steps will fail" >&2
  elif [ -n "$(find "$ROOT/src" -newer "$BIN" -name '*.rs' | head -1)" ]; then
    echo "note: $BIN is older than src/ (run with --build to rebuild it)"
  fi
fi
build_initramfs || { echo "run.sh: cannot build the initramfs" >&2; exit 2; }

if [ -n "$export_dir" ]; then
  export_images
  exit $?
fi

pass=0 fail=0
t_all=$(now)
if [ "$jobs_max" -le 1 ]; then
  for s in "${scenarios[@]}"; do
    out=$(test_scenario "$s")
    printf '%s\n' "$out"
    if printf '%s\n' "$out" | tail -1 | grep -q '^PASS'; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
  done
else
  # Each scenario writes its report to a file; reports are printed in scenario order.
  mkdir -p "$RUNDIR/reports"
  running=0
  for s in "${scenarios[@]}"; do
    (test_scenario "$s" > "$RUNDIR/reports/$s" 2>&1) &
    running=$((running + 1))
    if [ $running -ge "$jobs_max" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
  for s in "${scenarios[@]}"; do
    cat "$RUNDIR/reports/$s"
    if tail -1 "$RUNDIR/reports/$s" | grep -q '^PASS'; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
  done
fi
echo "$pass passed, $fail failed [$(secs "$t_all" "$(now)")s]"
[ $fail -eq 0 ]
