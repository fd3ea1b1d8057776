# LVM faults: bad metadata copies, a cloned PV, a missing PV, a bad primary GPT, a foreign VG, a VG on its own LV
# Layout (extent size 1 MiB):
#   VG two    on vda (PV, one metadata area) and vdb (PV, two metadata areas: start and end):
#             LVs a (vda), b (vdb), ab (1 extent on vda, then 1 on vdb), st (2 stripes, both)
#   vdc       empty, same size as vda (the clone target)
#   VG gp     on vdd1 (GPT partition): LV l
#   VG alien  on vde, system_id "other" (set with vgchange --systemid): LV x
#   VG loop   on vdf: LV outer (vdf); a PV made on loop/outer and added to loop; LV inner on
#             that PV: the VG is built on one of its own LVs
# Each case damages the pristine disks before every activation (CASE_x_DAMAGE), then ours is
# compared with lvm2 (+ kpartx). Every case checks that the volumes it activates hold their
# data as created. What the user sees (`evms-activate activate`; exit status 0 in every case:
# refusals are reported, not errors):
#   base     no damage.
#              skipped alien/x: VG alien belongs to system_id other, not this host (lvm: foreign VG)
#              warning: VG loop: PV pv1 (<uuid>) lies on loop/outer, an LV of the same VG: the VG
#                would be built on itself; not used
#              skipped loop/inner: metadata problem: its PV pv1 lies on loop/outer, an LV of the
#                same VG (the VG would be built on itself)
#            and the rest active exactly as lvm2 activates it (lvm2 refuses inner too: it never
#            scans LVs for PVs, so pv1 is missing to it, and its vgextend refuses such a PV).
#            Afterwards lvm2 still reads alien/x (as system_id other) and loop/inner (with
#            scan_lvs) as created.
#   mda      garbage over vda's only metadata area header and over vdb's first area's text:
#              warning: vda: lvm2 at byte 4100: mda_header.magic: found "AGE GARBAGE GARB", ...
#              warning: vdb: lvm2 at byte N: metadata text (raw_locn[0].checksum): found 0x..,
#                expected 0x..
#            and VG two activates from vdb's second area (end of disk), as lvm2 does.
#   dup      vda cloned onto vdc:
#              warning: VG two: duplicate PV <uuid> on vda and vdc: not guessing which is real;
#                exclude all but one (--exclude /dev/vda or --exclude /dev/vdc, or an evms.conf
#                exclude)
#              skipped two/a: (the same), and b, ab, st
#            lvm2 refuses too ("Cannot activate LVs in VG two while PVs appear on duplicate
#            devices"); the other VGs activate; lvm2 with vdc filtered out still reads two's LVs
#            as created.
#   dupx     the same disks, `activate --exclude /dev/vdc`: two activates from vda, exactly as
#            lvm2 with a filter rejecting vdc.
#   gptbad   vdd's primary GPT header zeroed (the kernel makes no vdd1):
#              warning: vdd: gpt at byte 512: signature: found "\0\0..", expected "EFI PART" (a
#                protective MBR is present)
#              warning: vdd: the primary GPT is unusable (above); the backup GPT at the last LBA
#                is used; the kernel makes no partitions from it (only when booted with `gpt`),
#                so they are mapped as kpartx does
#              created dm vdd1 (kpartx's name and UUID part1-devnode_MAJ:MIN_Wh5pYvM)
#            and VG gp on it, exactly as `kpartx -a /dev/vdd` + vgchange -ay.
#   missing  vdb's PV label wiped:
#              warning: VG two: PV pv1 (<uuid>) is missing (last seen as /dev/vdb)
#              skipped two/b: uses missing PV(s) pv1; activate with --partial (ab, st too)
#            and two/a active, as lvm2 does.
#   partial  the same with --partial: the missing areas map to error devices named and built
#            as lvm2 --activationmode partial builds them (two-b-missing_0_0, ...; equal tables).

DISKS="8M 8M 8M 8M 8M 8M"
SFDISK_3='label: gpt
label-id: 1F000000-0000-4000-8000-000000000003
start=2048, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=1F000001-0000-4000-8000-000000000003'
KPARTX_DISKS="/dev/vdd"

CASES="base mda dup dupx gptbad missing partial"
CASE_base_ORACLE_RC=any
CASE_base_SAYS='^skipped alien/x: VG alien belongs to system_id other, not this host'
CASE_base_SAYS_2='^skipped loop/inner: .*pv1 lies on loop/outer, an LV of the same VG'
CASE_base_SAYS_3='^warning: VG loop: PV pv1 \([^)]+\) lies on loop/outer, an LV of the same VG: the VG would be built on itself'
CASE_base_ORACLE_SAYS='Cannot access VG alien with system ID other'
CASE_base_DATA="two-a two-b two-ab two-st gp-l loop-outer"
CASE_base_AFTER=after_base
CASE_base_AFTER_DATA="alien-x loop-inner"
CASE_mda_DAMAGE=damage_mda
CASE_mda_ORACLE_RC=any
CASE_mda_SAYS='^warning: vda: lvm2 at byte 4[0-9]+: mda_header'
CASE_mda_SAYS_2='^warning: vdb: lvm2 at byte [0-9]+: metadata text \(raw_locn\[0\]\.checksum\): found 0x[0-9a-f]+, expected 0x[0-9a-f]+'
CASE_mda_ORACLE_SAYS='bad metadata header on /dev/vda at 4096'
CASE_mda_ORACLE_SAYS_2='Checksum error on /dev/vdb at offset'
CASE_mda_DATA="two-a two-b two-ab two-st"
CASE_dup_DAMAGE=damage_dup
CASE_dup_ORACLE_RC=any
CASE_dup_SAYS='^warning: VG two: duplicate PV [^ ]+ on vda and vdc: not guessing which is real; exclude all but one \(--exclude /dev/vda or --exclude /dev/vdc'
CASE_dup_SAYS_2='^skipped two/a: VG two: duplicate PV'
CASE_dup_ORACLE_SAYS='Cannot activate LVs in VG two while PVs appear on duplicate devices'
CASE_dup_DATA="gp-l loop-outer"
CASE_dup_AFTER=after_dup
CASE_dup_AFTER_DATA="two-a two-b two-ab two-st"
CASE_dupx_DAMAGE=damage_dup
CASE_dupx_ARGS="--exclude /dev/vdc"
CASE_dupx_ORACLE=oracle_dupx
CASE_dupx_ORACLE_RC=any
CASE_dupx_DATA="two-a two-b two-ab two-st"
CASE_gptbad_DAMAGE=damage_gpt
CASE_gptbad_ORACLE=oracle_kpartx
CASE_gptbad_ORACLE_RC=any
CASE_gptbad_SAYS='^warning: vdd: gpt at byte 512: signature: found .*, expected "EFI PART"'
CASE_gptbad_SAYS_2='^warning: vdd: the primary GPT is unusable .* the backup GPT at the last LBA is used; the kernel makes no partitions from it'
CASE_gptbad_SAYS_3='^created dm vdd1 '
CASE_gptbad_ORACLE_SAYS='Primary GPT is invalid, using alternate GPT'
CASE_gptbad_DATA="gp-l"
CASE_missing_DAMAGE=damage_missing
CASE_missing_ORACLE_RC=any
CASE_missing_SAYS='^skipped two/b: uses missing PV\(s\) pv1; activate with --partial'
CASE_missing_SAYS_2='^warning: VG two: PV pv1 \([^)]+\) is missing \(last seen as /dev/vdb\)'
CASE_missing_ORACLE_SAYS='Refusing activation of partial LV two/b'
CASE_missing_DATA="two-a"
CASE_partial_DAMAGE=damage_missing
CASE_partial_ARGS="--partial"
CASE_partial_ORACLE=oracle_partial
CASE_partial_ORACLE_RC=any
CASE_partial_DATA="two-a"

# garbage DEV SECTOR COUNT: a fixed non-zero pattern (reproducible damage).
garbage() {
  awk -v n="$3" 'BEGIN { for (i = 0; i < n * 8; i++) printf "GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE\n" }' |
    dd of="$1" bs=512 seek="$2" count="$3" conv=fsync,notrunc 2>/dev/null
}
# vda's only metadata area: its header; vdb's first area: its text (every slot of the ring).
# Left: vdb's second area, at the end of the disk.
damage_mda() { garbage /dev/vda 8 1 && garbage /dev/vdb 9 2039; }
damage_dup() { dd if=/dev/vda of=/dev/vdc bs=1M conv=fsync 2>/dev/null; }
damage_gpt() { dd if=/dev/zero of=/dev/vdd bs=512 seek=1 count=1 conv=fsync 2>/dev/null; }
damage_missing() { dd if=/dev/zero of=/dev/vdb bs=512 count=8 conv=fsync 2>/dev/null; }

oracle_dupx() { $LVM vgchange -ay --config 'devices { filter = [ "r|^/dev/vdc$|" ] }'; }
oracle_kpartx() { $KPARTX -a -s /dev/vdd && $LVM vgchange -ay; }
# Partial mode for VG two only: lvm2 never sees the PV inside loop/outer, so it would also
# activate loop/inner over an error device, which we refuse for another reason (a VG built
# on itself; case base).
oracle_partial() { $LVM vgchange -ay --activationmode partial two; $LVM vgchange -ay gp loop; }

ALIEN='global { system_id_source = "lvmlocal" } local { system_id = "other" }'
SCANLVS='devices { scan_lvs = 1 }'
after_base() {
  $LVM vgchange -ay --config "$ALIEN" alien || return 1
  after_hash alien-x /dev/alien/x
  $LVM vgchange -an --config "$ALIEN" alien
  # lvm2 finds the PV inside loop/outer only once outer is active: two passes.
  $LVM vgchange -ay --config "$SCANLVS" loop
  $LVM vgchange -ay --config "$SCANLVS" loop || return 1
  after_hash loop-inner /dev/loop/inner
  $LVM lvchange -an --config "$SCANLVS" loop/inner && $LVM vgchange -an --config "$SCANLVS" loop
}
after_dup() {
  $LVM vgchange -ay --config 'devices { filter = [ "r|^/dev/vdc$|" ] }' two || return 1
  for lv in a b ab st; do after_hash two-$lv /dev/two/$lv; done
}

create() {
  pv_create /dev/vda
  run $LVM pvcreate -q --uuid "$(mkid pv:vdb)" --norestorefile --pvmetadatacopies 2 /dev/vdb
  run $LVM vgcreate -q -s 1M two /dev/vda /dev/vdb
  run $LVM lvcreate -q -n a -l 2 two /dev/vda
  run $LVM lvcreate -q -n b -l 2 two /dev/vdb
  run $LVM lvcreate -q -n ab -l 1 two /dev/vda
  run $LVM lvextend -q -l +1 two/ab /dev/vdb
  run $LVM lvcreate -q -n st -i 2 -I 64 -l 2 two /dev/vda /dev/vdb
  pv_create /dev/vdd1
  run $LVM vgcreate -q -s 1M gp /dev/vdd1
  run $LVM lvcreate -q -n l -l 2 gp
  pv_create /dev/vde
  run $LVM vgcreate -q -s 1M alien /dev/vde
  run $LVM lvcreate -q -n x -l 2 alien
  run $LVM vgchange -an two gp alien
  lvm_fix_ids two
  lvm_fix_ids gp
  lvm_fix_ids alien
  # VG loop: lvm2 sees a PV inside an LV only with scan_lvs (set for this boot only), and
  # vgextend refuses a PV "constructed from the same volume group". So the PV made on
  # loop/outer is added in the metadata (pv1, as vgextend would write it) and inner's extent
  # moved onto it, through vgcfgbackup/vgcfgrestore, after the ids are fixed.
  cp /etc/lvm/lvm.conf /tmp/lvm.conf.orig
  echo "$SCANLVS" >> /etc/lvm/lvm.conf
  pv_create /dev/vdf
  run $LVM vgcreate -q -s 1M loop /dev/vdf
  run $LVM lvcreate -q -n outer -l 4 loop
  run $LVM lvcreate -q -n inner -l 1 loop
  run $LVM vgchange -an loop
  lvm_fix_ids loop
  run $LVM lvchange -ay loop/outer
  run $LVM pvcreate -q --uuid "$(mkid pv:loop-outer)" --norestorefile /dev/loop/outer
  run $LVM vgcfgbackup -q -f /tmp/loop.cfg loop
  awk -v id="$(mkid pv:loop-outer)" '
    /^[ \t]*physical_volumes \{/ { inpv = 1; d = 0 }
    inpv && /\{[ \t]*$/ { d++ }
    inpv && /^[ \t]*\}/ {
      d--
      if (d == 0) {
        print "\t\tpv1 {"; print "\t\t\tid = \"" id "\""
        print "\t\t\tdevice = \"/dev/loop/outer\""; print "\t\t\tstatus = [\"ALLOCATABLE\"]"
        print "\t\t\tflags = []"; print "\t\t\tdev_size = 8192"; print "\t\t\tpe_start = 2048"
        print "\t\t\tpe_count = 3"; print "\t\t}"; inpv = 0
      }
    }
    /^[ \t]*inner \{/ { f = 1 }
    f && /"pv0", [0-9]+/ { sub(/"pv0", [0-9]+/, "\"pv1\", 0"); f = 0 }
    { print }' /tmp/loop.cfg > /tmp/loop.new
  cat /tmp/loop.new
  run $LVM vgcfgrestore -y -q -f /tmp/loop.new loop
  run $LVM vgchange -ay two gp alien
  run $LVM lvchange -ay loop/inner
  run $LVM lvs -a -o+devices
  for lv in two/a two/b two/ab two/st gp/l alien/x loop/inner; do
    fill /dev/$lv "lvmfaults-$lv"
  done
  for lv in two/a two/b two/ab two/st gp/l alien/x loop/inner loop/outer; do
    data_hash "$(echo $lv | tr / -)" /dev/$lv
  done
  run $LVM vgchange -an two gp alien
  run $LVM lvchange -an loop/inner
  run $LVM vgchange -an loop
  run $LVM vgchange -y --systemid other alien
  cp /tmp/lvm.conf.orig /etc/lvm/lvm.conf
  run $LVM vgs -o+systemid
  run $LVM pvs
}
