#!/bin/bash
# Installs what the tests need (Debian/Ubuntu packages: a virtual X server, a tray host, a
# notification daemon; the project with its test extra in .venv) and runs the whole suite.
# The tests start their own servers and desktop; they need no display and no account.
# Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apt_install "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
venv_install "[test]"
cd "$HEARD_ROOT"
exec "$VENV/bin/python" -m pytest "$@"
