#!/bin/busybox sh
# Harness /init for test VMs (not the product's init): load the listed modules, run
# /scenario.sh with its output on the console and in /out/log, then write /out as a tar
# stream to the "out" disk named by vmout= and power off.
/bin/busybox --install -s /bin
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
if [ -f /modules.load ]; then
  while read -r m; do insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null; done < /modules.load
fi
outdev=$(sed -n 's/.*vmout=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
echo "=== harness: scenario starts"
if [ -f /scenario.sh ]; then
  sh /scenario.sh 2>&1 | tee /out/log
  echo "=== harness: scenario ended"
fi
if [ -n "$outdev" ]; then
  i=0; while [ ! -b "/dev/$outdev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  tar -cf "/dev/$outdev" -C /out .
fi
sync
poweroff -f
