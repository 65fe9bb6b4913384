#!/bin/bash
# installers/macos/build.sh [OUTDIR]   (default OUTDIR: build/macos) -- run on macOS 12 or later
#
# Heard.app (PyInstaller one-folder in a BUNDLE with LSUIElement: a menu-bar app, no Dock icon),
# its self-test, then signing, notarization and a .dmg:
#   1. icons: installers/icons.py, then iconutil -> heard.icns
#   2. PyInstaller on installers/heard.spec; with HEARD_CODESIGN_IDENTITY set PyInstaller signs
#      every binary and the .app (hardened runtime, installers/macos/entitlements.plist)
#   3. Heard.app/Contents/MacOS/heard --selftest (offscreen): stop on a failure
#   4. codesign --verify --deep --strict
#   5. hdiutil create (UDZO) with Heard.app and a link to /Applications; the .dmg is signed too
#   6. with NOTARY_PROFILE (a keychain profile made by `xcrun notarytool store-credentials`):
#      xcrun notarytool submit --wait, xcrun stapler staple, spctl --assess
#   7. the self-test again, from the mounted .dmg (what a user would run)
# Environment: PYTHON (default python3; needs Heard and PyInstaller: pip install '.[installers]'),
# HEARD_CODESIGN_IDENTITY ("Developer ID Application: NAME (TEAMID)"; unset: ad-hoc signature,
# which only runs on this Mac), NOTARY_PROFILE (unset: not notarized).
# This script has not been run by the project's CI machine (Linux); the release workflow runs it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/build/macos}" && cd "${1:-$ROOT/build/macos}" && pwd)
PYTHON=${PYTHON:-python3}
VERSION=$("$PYTHON" -c 'from importlib.metadata import version; print(version("heard"))')
ARCH=$(uname -m)
APP=$OUT/dist/Heard.app
DMG=$OUT/heard-$VERSION-macos-$ARCH.dmg

# 1. icons
"$PYTHON" "$ROOT/installers/icons.py" "$OUT/icons"
iconutil -c icns "$OUT/icons/heard.iconset" -o "$OUT/icons/heard.icns"

# 2. the app
rm -rf "$OUT/work" "$OUT/dist"
HEARD_ICON_DIR=$OUT/icons "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$OUT/dist" --workpath "$OUT/work" "$ROOT/installers/heard.spec"
/usr/libexec/PlistBuddy -c 'Print :LSUIElement' "$APP/Contents/Info.plist" | grep -q true

# 3. self-test
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/heard" --selftest

# 4. signature
codesign --verify --deep --strict --verbose=2 "$APP"

# 5. disk image
STAGE=$OUT/dmg; rm -rf "$STAGE" "$DMG"; mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Heard $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
rm -rf "$STAGE"
if [ -n "${HEARD_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$HEARD_CODESIGN_IDENTITY" "$DMG"
fi

# 6. notarization
if [ -n "${NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
  spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
else
  echo "macos: NOTARY_PROFILE is not set: the .dmg is not notarized (Gatekeeper will warn)" >&2
fi

# 7. the self-test from the mounted image
MNT=$(mktemp -d)
hdiutil attach -nobrowse -readonly -mountpoint "$MNT" "$DMG" >/dev/null
trap 'hdiutil detach "$MNT" >/dev/null 2>&1 || true' EXIT
QT_QPA_PLATFORM=offscreen "$MNT/Heard.app/Contents/MacOS/heard" --selftest
echo "macos: $DMG"
