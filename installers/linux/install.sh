#!/bin/sh
# Installs this unpacked Heard folder for the current user (no root needed):
#   ~/.local/bin/heard -> this folder's heard, the menu entry and the icons in ~/.local/share.
#   ./install.sh            install (run it from where the folder should stay)
#   ./install.sh --remove   take the links, the menu entry and the icons away again
# Heard needs these system libraries (Debian/Ubuntu package names): libgl1 libegl1
# libfontconfig1 libxkbcommon0 libdbus-1-3 ca-certificates; Fedora: mesa-libGL mesa-libEGL
# fontconfig libxkbcommon dbus-libs ca-certificates.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${XDG_BIN_HOME:-$HOME/.local/bin}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
if [ "${1:-}" = "--remove" ]; then
  rm -f "$BIN/heard" "$DATA/applications/heard.desktop" "$DATA/icons/hicolor/scalable/apps/heard.svg"
  for d in "$HERE"/share/hicolor/*; do rm -f "$DATA/icons/hicolor/$(basename "$d")/apps/heard.png"; done
  echo "Heard's links and menu entry are removed; delete $HERE to remove the program."
  exit 0
fi
mkdir -p "$BIN" "$DATA/applications" "$DATA/icons/hicolor/scalable/apps"
ln -sf "$HERE/heard" "$BIN/heard"
sed "s|^Exec=heard|Exec=$HERE/heard|" "$HERE/share/heard.desktop" > "$DATA/applications/heard.desktop"
cp "$HERE/share/heard.svg" "$DATA/icons/hicolor/scalable/apps/heard.svg"
for d in "$HERE"/share/hicolor/*; do
  mkdir -p "$DATA/icons/hicolor/$(basename "$d")/apps"
  cp "$d/apps/heard.png" "$DATA/icons/hicolor/$(basename "$d")/apps/heard.png"
done
echo "Heard is installed: run 'heard' (in $BIN), or find it in the menu. Check it with: heard --selftest"
