# Shared by demo.sh and test.sh: install Debian/Ubuntu packages and the Python venv.
# Sourced, not run. Everything lands in the checkout's .venv; nothing is installed with pip
# outside it.
set -euo pipefail

HEARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${HEARD_VENV:-$HEARD_ROOT/.venv}

# What PySide6's xcb platform plugin needs on a machine that has no desktop libraries yet.
# (Found with ldd on the Qt libraries and plugins Heard loads, then dpkg -S.)
RUNTIME_PACKAGES=(python3 python3-venv python3-pip ca-certificates
  libglib2.0-0 libgssapi-krb5-2 libdbus-1-3 libegl1 libgl1 libfontconfig1 libfreetype6
  libx11-6 libx11-xcb1 libxkbcommon0 libxkbcommon-x11-0 libxcb1 libxcb-cursor0
  libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0
  libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0
  libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core)

# A real desktop for the tests: X server, window manager, tray hosts (XEmbed: trayer;
# StatusNotifierItem: status-notifier-watcher + gtk-sni-tray-standalone), notification
# daemon, screenshots; real servers: Dovecot (IMAP, LMTP), Postfix (SMTP submission),
# gnome-keyring (Secret Service); `time` and mbsync (isync) for the benchmarks.
TEST_PACKAGES=(xvfb xauth openbox trayer dunst libnotify-bin dbus-daemon dbus-bin
  haskell-status-notifier-item-utils haskell-gtk-sni-tray-utils
  imagemagick x11-utils x11-xserver-utils x11-apps time
  dovecot-imapd dovecot-lmtpd postfix openssl gnome-keyring isync
  dnsmasq-base                 # tests/support/discovery.py: a DNS server on loopback
  debootstrap binutils shellcheck)   # tests/installers: a clean Debian 12 chroot, objdump
# PyInstaller (tests/installers) needs the shared libpython of the system's python3:
# Debian ships it apart from the interpreter.
if command -v python3 >/dev/null; then
  TEST_PACKAGES+=("libpython$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')")
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing system packages: ${missing[*]}" >&2
  # The tests start their own servers on loopback: keep apt from starting system-wide
  # Dovecot (or any other daemon) while installing, unless the machine already has a policy.
  local policy=/usr/sbin/policy-rc.d own_policy=""
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    own_policy=1
  fi
  # Unasked, Postfix's install answers its debconf question with "Internet Site": a
  # system-wide MTA on every interface from the next boot. The tests run their own.
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    echo "postfix postfix/main_mailer_type select No configuration" \
      | as_root debconf-set-selections
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null || { [ -n "$own_policy" ] && as_root rm -f "$policy"; return 1; }
  if [ -n "$own_policy" ]; then as_root rm -f "$policy"; fi
}

venv_install() {
  local extras=$1
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating $VENV" >&2
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  echo "Installing Heard into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$HEARD_ROOT$extras"
}
