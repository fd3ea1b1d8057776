# RAID1 split brain: halves assembled and written apart; the fresher half wins, equal halves are refused
# Two RAID1 (1.2) arrays over whole disks, each written, stopped, then each half assembled
# alone (`mdadm --assemble --run` with one disk) and written on its own, so that each half's
# superblock records the other as failed ("Array State : A." / ".A").
#   fresh (vda, vdb): vda half written once, vdb half twice: events 19 vs 21.
#   even  (vdc, vdd): each half written once: events 19 and 19, different contents.
#
# What the user sees (`evms-activate activate`, exit status 0: a refusal is reported, not an
# error):
#   warning: md/even: split brain: vdc and vdd each record the other as failed (each half ran
#     without the other) and both have events 19; not guessing which half is current: start the
#     one you want by excluding the other (--exclude /dev/vdd or --exclude /dev/vdc, or evms.conf
#     exclude)
#   created md md127 ... made /dev/md/fresh        (from vdb alone: vda records vdb as failed)
#   skipped md/even: not startable: split brain between vdc and vdd (see problems)
# mdadm --assemble --scan instead starts `even` from whichever half it scans first (vdd:
# "ignoring /dev/vdc as it reports /dev/vdd as failed") — a guess we do not make. Ours before
# this check assembled vdc and vdd together as one in-sync mirror of two different contents.
#   case auto: ours (no options) vs that; asserted: only md/fresh (md127) active, holding vdb's
#     data; afterwards both halves of `even` still hold their own data (read by mdadm).
#   case pick: `activate --exclude /dev/vdc`: the same as mdadm's choice (equal records).

DISKS="8M 8M 8M 8M"

CASES="auto pick"
CASE_auto_EXPECT=asserted
CASE_auto_ACTIVE="md127"
CASE_auto_DATA="md127=fresh-vdb"
CASE_auto_SAYS='^skipped md/even: not startable: split brain between vdc and vdd'
CASE_auto_SAYS_2='^warning: md/even: split brain: vdc and vdd each record the other as failed .* both have events [0-9]+; not guessing .*--exclude /dev/vd[cd]'
CASE_auto_ORACLE_SAYS='ignoring /dev/vdc as it reports /dev/vdd as failed'
CASE_auto_ORACLE_SAYS_2='ignoring /dev/vda as it reports /dev/vdb as failed'
CASE_auto_AFTER=after_halves
CASE_auto_AFTER_DATA="even-vdc even-vdd fresh-vdb"
CASE_pick_ARGS="--exclude /dev/vdc"
CASE_pick_DATA="md127=even-vdd md126=fresh-vdb"

# Each half of `even` alone, then `fresh` as mdadm assembles it: their contents must be the
# ones written at creation.
after_halves() {
  for h in vdc vdd; do
    $MDADM --assemble /dev/md/even --run /dev/$h || return 1
    after_hash even-$h /dev/md/even
    $MDADM --stop /dev/md/even || return 1
  done
  $MDADM --assemble /dev/md/fresh --run /dev/vda /dev/vdb || return 1
  after_hash fresh-vdb /dev/md/fresh
  $MDADM --stop /dev/md/fresh
}

# stamp DEV TAG: one 64 KiB write at the start (one dirty/clean cycle: events + 2).
stamp() {
  awk -v t="$2" 'BEGIN { for (i = 0; i < 128; i++) printf "%-511s\n", t " sector " i }' |
    dd of="$1" bs=65536 conv=fsync 2>/dev/null
}

# half ARRAY DISK TAG: the array assembled from DISK alone, written, stopped.
half() {
  run $MDADM --assemble "/dev/md/$1" --run "$2"
  stamp "/dev/md/$1" "$3"
  data_hash "$1-${2#/dev/}" "/dev/md/$1"
  run $MDADM --stop "/dev/md/$1"
}

events() { $MDADM --examine "$1" | sed -n 's/^ *Events : //p'; }

create() {
  md_create fresh --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
  fill /dev/md/fresh fresh
  run $MDADM --stop /dev/md/fresh
  half fresh /dev/vda fresh-a
  half fresh /dev/vdb fresh-b1
  half fresh /dev/vdb fresh-b2
  md_create even --level=1 --raid-devices=2 --metadata=1.2 /dev/vdc /dev/vdd
  fill /dev/md/even even
  run $MDADM --stop /dev/md/even
  half even /dev/vdc even-c
  half even /dev/vdd even-d
  run $MDADM --examine /dev/vda /dev/vdb /dev/vdc /dev/vdd
  # The premise, checked: fresh's halves differ in events, even's are equal.
  echo "events: vda $(events /dev/vda) vdb $(events /dev/vdb) vdc $(events /dev/vdc) vdd $(events /dev/vdd)"
  [ "$(events /dev/vda)" -lt "$(events /dev/vdb)" ] && [ "$(events /dev/vdc)" = "$(events /dev/vdd)" ]
}
