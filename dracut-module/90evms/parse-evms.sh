#!/bin/sh
# cmdline hook: queue the activation of root's chain in dracut's initqueue. The settled job
# runs after every udev settle while dracut waits for root (re-running is safe: what is active
# is left alone); the timeout job (rd.retry, 2/3 of rd.timeout by default) allows degraded
# arrays, as dracut's mdraid module does.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

if ! getargbool 1 rd.evms; then
    info "rd.evms=0: evms-activate disabled"
    return 0 2>/dev/null || exit 0
fi
/sbin/initqueue --settled --unique --name evms-activate /sbin/evms-activate-root
/sbin/initqueue --timeout --unique --name evms-activate-degraded /sbin/evms-activate-root --degraded
