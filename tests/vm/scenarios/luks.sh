# LUKS1 on a GPT partition (ext4), LVM on LUKS2 (pbkdf2), LUKS2 (argon2id) inside an LV; crypttab names and options
# Every volume has the same passphrase (LUKS_PASS). The oracle is cryptsetup open (named as
# systemd-cryptsetup names a volume: luks-UUID, or its crypttab name), mdadm and vgchange, as
# often as something new appears (oracle_luks, guest-luks.sh); ours is `activate --key-file`.
# Cases: all (everything; afterwards cryptsetup reopens what ours left closed and the data is
# as created); tab (crypttab names and options: discard, readonly); sel (only cvg/data: only
# the LUKS volume under it is opened); nokey (no key file and no terminal: the LV holding a
# LUKS volume comes up, no volume is opened, and ours says why).

DISKS="24M 40M 40M"
SFDISK_0='label: gpt
label-id: 5E0C0000-0000-4000-8000-00000000201a
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5E0C0001-0000-4000-8000-00000000201a, name=crypt1'
LUKS_PASS='correct horse battery staple'
CRYPTTAB='c1 UUID=16929f1a-57ef-d956-e450-52ce26e284fd none luks,discard
cdata /dev/vdb none luks
csec UUID=7dcc200c-d557-da7c-b3b5-ee9294c15ce9 none luks,readonly'

CASES="all tab sel nokey"
CASE_all_ORACLE=oracle_luks
CASE_all_ARGS="--key-file /tmp/luks.pass"
CASE_all_DATA="luks-16929f1a-57ef-d956-e450-52ce26e284fd=c1root cvg-data luks-7dcc200c-d557-da7c-b3b5-ee9294c15ce9=sec"
CASE_all_AFTER=after_luks
CASE_all_AFTER_DATA="c1root cvg-data sec"
CASE_tab_ORACLE=oracle_tab
CASE_tab_ARGS="--key-file /tmp/luks.pass --crypttab /tmp/crypttab.tab"
CASE_tab_DATA="c1=c1root cvg-data csec=sec"
CASE_sel_ORACLE=oracle_sel
CASE_sel_ARGS="cvg/data --key-file /tmp/luks.pass"
CASE_nokey_EXPECT=asserted
CASE_nokey_RC=1
CASE_nokey_ACTIVE="lvg-sec"
CASE_nokey_SAYS='vda1 \(luks-16929f1a-57ef-d956-e450-52ce26e284fd\).*no key file opens it and there is no terminal'

oracle_tab() {
  cp /tmp/crypttab.tab /tmp/crypttab
  oracle_luks
  rc=$?
  rm -f /tmp/crypttab
  return $rc
}

oracle_sel() {
  $CRYPTSETUP open --key-file /tmp/luks.pass /dev/vdb luks-3cf084d5-92a8-a656-ed33-3c3033ec99a5 &&
    $LVM lvchange -ay cvg/data
}

# After our deactivate: cryptsetup opens the volumes again; their data is as created.
after_luks() {
  oracle_luks
  after_hash c1root /dev/mapper/luks-16929f1a-57ef-d956-e450-52ce26e284fd
  after_hash cvg-data /dev/cvg/data
  after_hash sec /dev/mapper/luks-7dcc200c-d557-da7c-b3b5-ee9294c15ce9
}

create() {
  luks_format /dev/vda1 --type luks1 --cipher aes-xts-plain64 --hash sha256 --pbkdf-force-iterations 1000
  run $CRYPTSETUP open --key-file /tmp/luks.pass /dev/vda1 c1
  run $MKE2FS -q -t ext4 -L c1root -U "$(mkuuid fs:c1root)" -E hash_seed="$(mkuuid hash:c1root)" /dev/mapper/c1
  data_hash c1root /dev/mapper/c1
  luks_format /dev/vdb --type luks2 --pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 \
    --luks2-metadata-size 16k --luks2-keyslots-size 1m
  run $CRYPTSETUP open --key-file /tmp/luks.pass /dev/vdb cdata
  pv_create /dev/mapper/cdata
  run $LVM vgcreate -q cvg /dev/mapper/cdata
  run $LVM lvcreate -q -n data -l 100%FREE cvg
  run $LVM vgchange -an cvg
  lvm_fix_ids cvg
  run $LVM vgchange -ay cvg
  fill /dev/cvg/data cvg-data
  data_hash cvg-data /dev/cvg/data
  pv_create /dev/vdc
  run $LVM vgcreate -q lvg /dev/vdc
  run $LVM lvcreate -q -n sec -L 24M lvg
  run $LVM vgchange -an lvg
  lvm_fix_ids lvg
  run $LVM vgchange -ay lvg
  luks_format /dev/lvg/sec --type luks2 --pbkdf argon2id --pbkdf-memory 8192 --pbkdf-force-iterations 4 \
    --pbkdf-parallel 1 --luks2-metadata-size 16k --luks2-keyslots-size 1m
  run $CRYPTSETUP open --key-file /tmp/luks.pass /dev/lvg/sec csec
  fill /dev/mapper/csec sec
  data_hash sec /dev/mapper/csec
}
