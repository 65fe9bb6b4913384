#!/bin/bash
# installers/linux/build-deb.sh BUNDLE VERSION OUTDIR [ICONS]
#
# Wraps a PyInstaller one-folder build (BUNDLE, e.g. build/linux/dist/heard) as OUTDIR/heard_VERSION_ARCH.deb:
#   /opt/heard/                      the bundle (Python, Qt and every library it carries)
#   /usr/bin/heard                   a link to /opt/heard/heard
#   /usr/share/applications/heard.desktop, /usr/share/icons/hicolor/{scalable,NxN}/apps/heard.*
#   /usr/share/doc/heard/examples/heard-autostart.desktop   (copy to ~/.config/autostart/, or
#                                    turn on [desktop] start_at_login, which writes the same)
# No maintainer scripts: the icon and desktop caches are refreshed by dpkg triggers, and purge
# leaves nothing behind. Depends only on what the bundle does not carry (found by installing it
# on a minimal Debian 12: tests/installers/test_deb_install.py).
# DEB_COMPRESS=xz (default, smallest; for releases) or zstd (fast; what the tests use).
# ICONS: the folder installers/icons.py wrote (default: OUTDIR/icons, made if missing).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUNDLE=$(cd "$1" && pwd); VERSION=$2; OUT=$(mkdir -p "$3" && cd "$3" && pwd)
ICONS=${4:-$OUT/icons}
PYTHON=${PYTHON:-python3}
APP=heard
ARCH=$(dpkg --print-architecture)
# Python's pre-releases (1.0rc1, 1.0.dev3) sort before the release in Debian with a tilde.
DEBVER=$(printf '%s' "$VERSION" | sed -E 's/\.?(a|b|rc|dev)([0-9]*)$/~\1\2/')
[ -x "$BUNDLE/$APP" ] || { echo "build-deb: no executable $BUNDLE/$APP" >&2; exit 1; }
[ -d "$ICONS/hicolor" ] || "$PYTHON" "$ROOT/installers/icons.py" "$ICONS" >/dev/null

ST=$OUT/deb-root; rm -rf "$ST"
mkdir -p "$ST/DEBIAN" "$ST/opt" "$ST/usr/bin" "$ST/usr/share/applications" \
  "$ST/usr/share/icons/hicolor/scalable/apps" "$ST/usr/share/doc/$APP/examples"
cp -a "$BUNDLE" "$ST/opt/$APP"
ln -s "/opt/$APP/$APP" "$ST/usr/bin/$APP"
install -m644 "$ROOT/resources/heard.desktop" "$ST/usr/share/applications/$APP.desktop"
install -m644 "$ROOT/resources/icons/heard.svg" "$ST/usr/share/icons/hicolor/scalable/apps/$APP.svg"
for png in "$ICONS"/hicolor/*/apps/heard.png; do
  size=$(basename "$(dirname "$(dirname "$png")")")
  install -D -m644 "$png" "$ST/usr/share/icons/hicolor/$size/apps/$APP.png"
done
install -m644 "$ROOT/resources/heard.desktop" "$ST/usr/share/doc/$APP/examples/$APP-autostart.desktop"
cat > "$ST/usr/share/doc/$APP/copyright" <<C
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Heard
Source: the Heard repository

Files: *
License: GPL-3.0-or-later
Comment: /opt/heard carries Python (PSF-2.0), Qt 6 and PySide6 (LGPL-3.0-only), and the
 Python packages Heard depends on, each under its own license (see the dist-info folders
 in /opt/heard/_internal).
C
# The oldest C library the bundle runs on: the newest symbol version any of its files needs
# (objdump, from binutils), else the build machine's.
GLIBC=$(find "$BUNDLE" -type f \( -name '*.so*' -o -name "$APP" \) -print0 2>/dev/null \
  | xargs -0 objdump -T 2>/dev/null | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' \
  | sort -uV | tail -1 || true)
[ -n "$GLIBC" ] || GLIBC=$(dpkg-query -f '${Version}' -W libc6 | cut -d- -f1)
SIZE=$(du -sk --exclude=DEBIAN "$ST" | cut -f1)
cat > "$ST/DEBIAN/control" <<C
Package: $APP
Version: $DEBVER
Architecture: $ARCH
Maintainer: The Heard developers <heard@example.invalid>
Installed-Size: $SIZE
Depends: libc6 (>= $GLIBC), libgl1, libegl1, libfontconfig1, libxkbcommon0, libdbus-1-3, ca-certificates
Recommends: gnome-shell-extension-appindicator | plasma-workspace | xfce4-panel | mate-panel | lxqt-panel | cinnamon, libwayland-cursor0, libwayland-egl1
Suggests: gnome-keyring | kwalletmanager | keepassxc
Section: mail
Priority: optional
Description: keep your promise of responsiveness to clients
 Heard sits in the system tray, watches your mail and calendar, and shows how
 many clients are waiting for an answer. One click acknowledges a client with a
 reply that says when you will get back to them; another delegates to an
 assistant.
 .
 This package carries its own Python and Qt in /opt/heard. GNOME shows tray
 icons only with the AppIndicator extension (gnome-shell-extension-appindicator).
C
(cd "$ST" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
  | xargs -0 md5sum > DEBIAN/md5sums)
find "$ST" -type d -exec chmod 755 {} +
DEB=$OUT/${APP}_${DEBVER}_${ARCH}.deb
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" --build "$ST" "$DEB" >/dev/null
rm -rf "$ST"
echo "$DEB"
