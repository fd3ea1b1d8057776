#!/bin/bash
# The `package` suite: make install/uninstall (tests/install.sh), then the Debian package made
# by `make deb` through lintian with every check shown (-I -E --pedantic
# --display-experimental): the tags that remain are overridden, each with its reason, in
# packaging/deb/lintian-overrides, so any other tag fails, as does an override that no longer
# matches. The package's install into a Debian chroot and the boot of the image its trigger
# makes are the boot scenario `deb` (tests/vm/boot/run.sh deb).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fails=0
tests/install.sh || fails=$((fails + 1))
ver=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
deb=target/deb/evms-activate_${ver}_amd64.deb
if [ ! -f "$deb" ]; then
  echo "FAIL package: $deb is missing (make deb)"; fails=$((fails + 1))
elif ! command -v lintian >/dev/null; then
  echo "FAIL package: lintian is not installed (tests/deps.sh)"; fails=$((fails + 1))
else
  tmp=$(mktemp)
  lintian -I -E --pedantic --display-experimental --fail-on error,warning,info,pedantic,experimental \
    "$deb" >"$tmp" 2>&1
  rc=$?
  out=$(grep -v '^running with root privileges' "$tmp"); rm -f "$tmp"
  echo "lintian $(lintian --version | awk '{print $2}') on $deb: $(grep -c . <<<"$out") tag(s) not overridden"
  [ -n "$out" ] && echo "$out"
  n=$(lintian -I -E --pedantic --display-experimental --show-overrides "$deb" 2>/dev/null | grep -c '^O: ')
  echo "  overridden (packaging/deb/lintian-overrides): $n"
  if [ "$rc" -ne 0 ] || [ -n "$out" ]; then echo "FAIL package: lintian"; fails=$((fails + 1)); else echo "PASS lintian"; fi
fi
[ $fails -eq 0 ]
