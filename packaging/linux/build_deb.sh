#!/usr/bin/env bash
# Pack the PyInstaller bundle into a .deb with the system's dpkg-deb.
#
#   packaging/linux/build_deb.sh dist/histoclass dist      (what `make deb` runs)
#
# Installs the bundle under /opt/histoclass, a `histoclass` command in /usr/bin, the
# desktop entry and the icon. Depends: is worked out from the bundle itself: every shared
# library it loads from the system (found with ldd) mapped to its package (dpkg -S), so
# a double-click installer (or `apt install ./histoclass_*.deb`) pulls in what is missing.
set -euo pipefail

bundle=${1:?usage: build_deb.sh BUNDLE_DIR OUT_DIR}
out=${2:?usage: build_deb.sh BUNDLE_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -x "$bundle/histoclass" ] || { echo "no bundle at $bundle (run make dist)" >&2; exit 1; }

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/core/__init__.py")
arch=$(dpkg --print-architecture)
deb="$out/histoclass_${version}_${arch}.deb"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Shared libraries the bundle takes from the system, as "pkg (>= version)" items. ldd
# looks in the bundle's _internal/ first, as the app's launcher does at run time.
system_depends() {
  find "$1" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
    | LD_LIBRARY_PATH="$1/_internal" xargs -0 -n 64 ldd 2>/dev/null \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v "^$(realpath "$1")/" | sort -u \
    | while read -r lib; do dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true; done \
    | cut -d: -f1 | sort -u \
    | while read -r pkg; do echo "$pkg (>= $(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//'))"; done \
    | paste -sd, | sed 's/,/, /g'
}

mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
         "$stage/usr/share/icons/hicolor/256x256/apps" "$stage/usr/share/icons/hicolor/scalable/apps"
cp -a "$bundle" "$stage/opt/histoclass"
cat > "$stage/usr/bin/histoclass" <<'WRAPPER'
#!/bin/sh
# HistoClass: `histoclass` opens the window, `histoclass COMMAND` runs the command line.
exec /opt/histoclass/histoclass "$@"
WRAPPER
chmod 0755 "$stage/usr/bin/histoclass"
install -m 0644 "$here/histoclass.desktop" "$stage/usr/share/applications/histoclass.desktop"
install -m 0644 "$root/resources/icon.png" "$stage/usr/share/icons/hicolor/256x256/apps/histoclass.png"
install -m 0644 "$root/resources/icon.svg" "$stage/usr/share/icons/hicolor/scalable/apps/histoclass.svg"

depends=$(system_depends "$stage/opt/histoclass")
cat > "$stage/DEBIAN/control" <<CONTROL
Package: histoclass
Version: $version
Architecture: $arch
Maintainer: HistoClass developers <histoclass@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: ${depends:-libc6}
Section: science
Priority: optional
Description: offline desktop app to train and use a histology image classifier
 HistoClass imports a folder of microscope images, splits it by patient, retrains
 a ResNet50 by transfer learning and classifies local slides, showing where in the
 image each prediction comes from. Works with no network.
 .
 For research use only. Not for clinical diagnosis.
CONTROL

mkdir -p "$out"
start=$(date +%s)
# gzip: quick to build and read by every dpkg.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$stage" "$deb" >/dev/null
echo "built $deb in $(( $(date +%s) - start )) s, $(du -h "$deb" | cut -f1) (installs $(du -sh "$stage/opt/histoclass" | cut -f1))"
echo "Depends: ${depends:-libc6}"
