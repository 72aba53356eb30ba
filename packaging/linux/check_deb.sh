#!/usr/bin/env bash
# Install a HistoClass .deb, run the installed `histoclass selftest` offscreen, remove the
# package and check that nothing is left behind. Needs root; changes this machine.
#
#   sudo packaging/linux/check_deb.sh dist/histoclass_0.1.0_amd64.deb
set -euo pipefail
deb=${1:?usage: check_deb.sh PACKAGE.deb}

echo "== dpkg -i $deb"
start=$(date +%s)
dpkg -i "$deb"
echo "installed in $(( $(date +%s) - start )) s: $(du -sh /opt/histoclass | cut -f1) under /opt/histoclass"
test -x /usr/bin/histoclass -a -f /usr/share/applications/histoclass.desktop \
  -a -f /usr/share/icons/hicolor/256x256/apps/histoclass.png

echo "== histoclass selftest (installed copy, offscreen)"
status=0
(cd / && QT_QPA_PLATFORM=offscreen histoclass selftest) || status=$?

echo "== dpkg -r histoclass"
dpkg -r histoclass
left=$(ls -d /opt/histoclass /usr/bin/histoclass /usr/share/applications/histoclass.desktop \
  /usr/share/icons/hicolor/*/apps/histoclass.* 2>/dev/null || true)
if [ -n "$left" ]; then
  echo "left behind after dpkg -r: $left" >&2
  exit 1
fi
echo "removed cleanly: nothing left under /opt/histoclass, /usr/bin, /usr/share"
[ "$status" -eq 0 ] || { echo "installed selftest failed (exit $status)" >&2; exit "$status"; }
echo "deb check passed"
