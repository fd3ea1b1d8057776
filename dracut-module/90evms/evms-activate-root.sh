#!/bin/sh
# Activates root's chain (and resume='s) with evms-activate, LUKS volumes under them opened;
# with rd.auto or evms.activate=all, everything it finds. Extra arguments (--degraded) are
# passed on.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

# LUKS passphrases: through systemd's password agents when systemd runs this image (its console
# agent or plymouth asks), else on the consoles.
if [ -d /run/systemd/system ] && [ -d /run/systemd/ask-password ]; then
    set -- "$@" --prompt systemd
else
    set -- "$@" --prompt console
fi

if getargbool 0 rd.auto || [ "$(getarg evms.activate=)" = all ]; then
    evms-activate activate "$@" 2>&1 | vinfo
    exit 0
fi
# dracut's root= (its parse-block turns it into block:DEV; evms-activate takes either form).
r=$(getarg root=)
[ -n "$r" ] && evms-activate activate "$@" --root "$r" 2>&1 | vinfo
res=$(getarg resume=)
[ -n "$res" ] && evms-activate activate "$@" --root "$res" 2>&1 | vinfo
exit 0
