#!/bin/sh
# udev PROGRAM for 63-evms-md.rules: the /dev/md/ link of kernel device $1 (md127, or md127p1
# for a partition of it) from /run/mdadm/map, which evms-activate writes before it starts an
# array. The names follow mdadm's 63-md-raid-arrays.rules (NAME, then NAME1 or, when NAME ends
# in a digit, NAMEp1), which need mdadm itself; this image has none.
k=$1 part=
case $k in
md[0-9]*p[0-9]*) part=${k##*p} k=${k%p*} ;;
esac
[ -r /run/mdadm/map ] || exit 1
while read -r dev _meta _uuid path; do
    [ "$dev" = "$k" ] || continue
    name=${path#/dev/md/}
    { [ "$name" != "$path" ] && [ -n "$name" ]; } || exit 1
    case $name in
    */* | .*) exit 1 ;;
    esac
    if [ -z "$part" ]; then
        echo "md/$name"
    else
        case $name in
        *[0-9]) echo "md/${name}p$part" ;;
        *) echo "md/$name$part" ;;
        esac
    fi
    exit 0
done < /run/mdadm/map
exit 1
