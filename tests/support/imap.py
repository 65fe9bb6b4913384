"""IMAP profiles for tests: one account on a test Dovecot user, its password in the keyring."""

from __future__ import annotations

from pathlib import Path

from heard.config import ConfigFile, ImapAccount
from heard.system import secrets
from heard.system.paths import Profile
from tests.support.dovecot import MailUser


def imap_profile(root: Path, user: MailUser, *, security: str = "plain",
                 port: int | None = None, extra: dict[str, object] | None = None,
                 password: str | None = None) -> Profile:
    """A profile with one IMAP account for `user`, its password in the keyring."""
    profile = Profile(root)
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", [user.address])
    file.set("user", "timezone", "Europe/Berlin")
    file.set("standards.default", "ack_within", "30m")
    file.set("standards.default", "answer_within", "8h")
    entry: dict[str, object] = {
        "name": "work", "kind": "imap", "host": "127.0.0.1",
        "port": port or user.server.imap_port, "security": security,
        "username": user.name, "address": user.address, **(extra or {})}
    file.append("accounts", entry)
    account = ImapAccount("work", "127.0.0.1", 0, security, user.name)
    secrets.store_password(account.keyring_name, password or user.password)
    return profile


def sending_profile(root: Path, user: MailUser, port: int, ca_file: Path,
                    security: str = "starttls") -> Profile:
    return imap_profile(root, user, extra={
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": security,
        "smtp_ca_file": str(ca_file)})


def tls_profile(root: Path, user: MailUser, security: str, port: int,
                ca_file: Path | None, host: str = "127.0.0.1") -> Profile:
    """An account over TLS or STARTTLS; its password stored under the host it names."""
    extra: dict[str, object] = {"host": host}
    if ca_file is not None:
        extra["ca_file"] = str(ca_file)
    profile = imap_profile(root, user, security=security, port=port, extra=extra)
    secrets.store_password(ImapAccount("work", host, 0, security, user.name).keyring_name,
                           user.password)
    return profile
