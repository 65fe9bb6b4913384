#!/bin/bash
# installers/linux/build.sh [OUTDIR]   (default OUTDIR: build/linux)
#
# Builds, from this checkout, with the Python in $PYTHON (default: .venv/bin/python, else python3)
# that has Heard's dependencies and PyInstaller (pip install -e '.[installers]'):
#   OUTDIR/dist/heard/                    the PyInstaller one-folder bundle (installers/heard.spec)
#   OUTDIR/heard_VERSION_ARCH.deb         the bundle as a Debian package (build-deb.sh)
#   OUTDIR/heard-VERSION-linux-ARCH.tar.xz the bundle for other distributions (with install.sh)
# then runs `heard --selftest` from the bundle (offscreen) and stops if it fails.
# VERSION comes from the package metadata of the installed Heard.
# DEB_COMPRESS=xz|zstd (default xz), SKIP_TARBALL=1 to leave out the .tar.xz.
# Build on the oldest distribution you support: the bundle needs its C library or newer.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/build/linux}" && cd "${1:-$ROOT/build/linux}" && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHON
VERSION=$("$PYTHON" -c 'from importlib.metadata import version; print(version("heard"))')
ARCH=$(uname -m)
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t=$(now)
"$PYTHON" "$ROOT/installers/icons.py" "$OUT/icons" >/dev/null
rm -rf "$OUT/work" "$OUT/dist"   # a fresh analysis (PyInstaller's cache of stripped libraries stays)
HEARD_ICON_DIR=$OUT/icons "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$OUT/dist" --workpath "$OUT/work" "$ROOT/installers/heard.spec"
echo "bundle: $OUT/dist/heard ($(du -sm "$OUT/dist/heard" | cut -f1) MB) in $(took "$t") s"

got=$(env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$OUT/dist/heard/heard" --version)
[ "$got" = "heard $VERSION" ] || { echo "build: the bundle says '$got', the metadata $VERSION" >&2; exit 1; }
if ! env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$OUT/dist/heard/heard" --selftest \
    > "$OUT/selftest.txt" 2>&1; then
  cat "$OUT/selftest.txt" >&2; echo "build: the bundle's self-test failed" >&2; exit 1
fi
echo "selftest: $(tail -1 "$OUT/selftest.txt")"

t=$(now)
DEB=$("$HERE/build-deb.sh" "$OUT/dist/heard" "$VERSION" "$OUT" "$OUT/icons")
echo "deb: $DEB ($(du -k "$DEB" | awk '{printf "%.1f", $1/1024}') MB, ${DEB_COMPRESS:-xz}) in $(took "$t") s"

if [ -z "${SKIP_TARBALL:-}" ]; then
  t=$(now)
  NAME=heard-$VERSION-linux-$ARCH
  ST=$OUT/tar/$NAME; rm -rf "$OUT/tar"; mkdir -p "$ST/share"
  cp -a "$OUT/dist/heard/." "$ST/"
  cp -a "$OUT/icons/hicolor" "$ST/share/"
  install -m644 "$ROOT/resources/icons/heard.svg" "$ST/share/heard.svg"
  install -m644 "$ROOT/resources/heard.desktop" "$ST/share/heard.desktop"
  install -m755 "$HERE/install.sh" "$ST/install.sh"
  tar -C "$OUT/tar" -cf - "$NAME" | xz -T0 -6 > "$OUT/$NAME.tar.xz"
  rm -rf "$OUT/tar"
  echo "tarball: $OUT/$NAME.tar.xz ($(du -k "$OUT/$NAME.tar.xz" | awk '{printf "%.1f", $1/1024}') MB) in $(took "$t") s"
fi
