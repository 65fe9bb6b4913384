#!/bin/bash
# Installs what Heard needs (Debian/Ubuntu packages and a venv in .venv) and starts
# `heard demo`: the tray app on a fresh demo profile that needs no account.
# Extra arguments go to `heard demo` (e.g. --profile DIR).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apt_install "${RUNTIME_PACKAGES[@]}"
venv_install ""
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "Heard is installed, but this shell has no display. Run it from a desktop session:" >&2
  echo "  $VENV/bin/heard demo" >&2
  exit 1
fi
exec "$VENV/bin/heard" demo "$@"
