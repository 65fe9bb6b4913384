"""Open a client's message where the user writes the real answer (heard.domain.mail_links
builds the link; here it is launched): a URL through the desktop (QDesktopServices: xdg-open
and the handler registered for mid:, https: or imap:), a command as an argument vector
(QProcess, never a shell)."""

from __future__ import annotations

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

from heard.config import ImapAccount, MaildirAccount, Settings
from heard.domain.mail_links import CannotOpen, MailPlace, OpenWith, launch_for


def place_for(settings: Settings, message_id: str, account: str) -> MailPlace:
    """Where the message is, from its account's settings (the first folder watched)."""
    found = next((a for a in settings.accounts if a.name == account), None)
    if isinstance(found, ImapAccount):
        return MailPlace(message_id, found.host, found.username,
                         found.folders[0] if found.folders else "INBOX")
    if isinstance(found, MaildirAccount):
        return MailPlace(message_id, maildir=found.inbox)
    return MailPlace(message_id)


def open_message(settings: Settings, message_id: str, account: str) -> str:
    """Open it as [open] app says; what was done, in words ("in Thunderbird").
    CannotOpen says why not."""
    launch = launch_for(OpenWith(settings.open_in.app),
                        place_for(settings, message_id, account))
    if launch.argv:
        if not QProcess.startDetached(launch.argv[0], list(launch.argv[1:])):
            raise CannotOpen(f"{launch.argv[0]} could not be started (is it installed?)")
        return launch.what
    url = QUrl(launch.url, QUrl.ParsingMode.StrictMode)
    if not url.isValid() or not QDesktopServices.openUrl(url):
        raise CannotOpen(f"no program on this computer opens {url.scheme()}: links; choose"
                         " another [open] app in heard.toml")
    return launch.what
