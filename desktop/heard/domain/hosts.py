"""Where a host is: only this machine may be spoken to without encryption."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """This machine: the only place a password may go unencrypted, and only when asked."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
