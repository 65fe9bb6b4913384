"""PyInstaller runtime hook: before Heard starts, point the bundled OpenSSL at this system's
CA certificates when it would not find them by itself.

The bundle carries the build machine's OpenSSL (Debian: it looks in /usr/lib/ssl, that is
/etc/ssl/certs). Fedora, openSUSE and others keep their certificates elsewhere, and macOS
has none in OpenSSL's format at all. Only the standard variables are set, and only when the
user set neither; no module is imported (this runs on the way to the tray icon).
"""

import os
import sys

# Where distributions keep one file with every trusted CA certificate.
_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",                  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",                    # Fedora, RHEL, CentOS
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",   # Fedora, RHEL (newer)
    "/etc/ssl/ca-bundle.pem",                              # openSUSE
    "/etc/ssl/cert.pem",                                   # Alpine, some BSD-like setups
)


def _point_openssl_at_system_certificates() -> None:
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return
    if sys.platform.startswith("linux"):
        if os.path.isdir("/usr/lib/ssl/certs") and os.listdir("/usr/lib/ssl/certs"):
            return  # where the bundled OpenSSL looks anyway
        for path in _CA_FILES:
            if os.path.isfile(path):
                os.environ["SSL_CERT_FILE"] = path
                return
    elif sys.platform == "darwin":
        bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "certifi", "cacert.pem")
        if os.path.isfile(bundled):
            os.environ["SSL_CERT_FILE"] = bundled


_point_openssl_at_system_certificates()
