"""Where a client's message opens for the real answer, as a URL or a command line: the
user's mail client by Message-ID (RFC 2392 `mid:` URLs, which Thunderbird opens), Gmail's
web search by Message-ID (`rfc822msgid:`), Outlook on the web, or the folder it is in.

Pure: building only; the face launches it. A Message-ID comes from mail, so from a
stranger: it is checked (printable, no spaces, a sane length) and percent-encoded, and a
command is an argument vector, never a shell line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from heard.domain.providers import GOOGLE, MICROSOFT, by_host


class OpenWith(StrEnum):
    """The [open] with setting."""

    AUTO = "auto"                  # Gmail or Outlook on the web for their accounts, else
                                   # the mail client
    MAIL_CLIENT = "mail-client"    # the desktop's handler of mid: URLs
    THUNDERBIRD = "thunderbird"    # `thunderbird mid:...`
    GMAIL_WEB = "gmail-web"
    OUTLOOK_WEB = "outlook-web"
    FOLDER = "folder"              # the folder the message is in


@dataclass(frozen=True)
class MailPlace:
    """Where a message is: its Message-ID, and its account's server (IMAP host and user)
    or Maildir folder."""

    message_id: str
    host: str = ""
    username: str = ""
    folder: str = "INBOX"
    maildir: Path | None = None


@dataclass(frozen=True)
class Launch:
    """A URL to open with the desktop's handler, or a command (argv) to start."""

    url: str = ""
    argv: tuple[str, ...] = ()
    what: str = ""                 # said to the user: "in Thunderbird", "in Gmail" ...


class CannotOpen(ValueError):
    """Nothing to open the message by (no Message-ID that can be used, no folder)."""


def quote(text: str, safe: str = "") -> str:
    """Percent-encode `text` as RFC 3986 asks: ASCII letters, digits, "-._~" and `safe`
    stay, every other byte of its UTF-8 is %XX (urllib.parse.quote's rule, without the
    import the domain may not make)."""
    keep = "-._~" + safe
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in keep)
                   else "".join(f"%{b:02X}" for b in ch.encode()) for ch in text)


# RFC 5322 msg-id: printable ASCII without spaces; Heard also refuses the characters that
# would need more than percent-encoding to be safe anywhere.
_MESSAGE_ID = re.compile(r"[!-~]{1,900}")
# Kept as they are in a mid: URL (RFC 2392 with RFC 3986's unreserved and sub-delims).
_MID_SAFE = "@!$&'()*+,;=-._~"


def clean_message_id(message_id: str) -> str:
    """The Message-ID without its angle brackets; CannotOpen when it cannot be used."""
    text = message_id.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if not _MESSAGE_ID.fullmatch(text) or "<" in text or ">" in text:
        raise CannotOpen("the message has no Message-ID Heard can open it by")
    return text


def mid_url(message_id: str) -> str:
    """RFC 2392's URL of a message: mid:<id, percent-encoded>."""
    return "mid:" + quote(clean_message_id(message_id), safe=_MID_SAFE)


def gmail_search_url(message_id: str, account_index: int = 0) -> str:
    query = "rfc822msgid:" + clean_message_id(message_id)
    return f"https://mail.google.com/mail/u/{int(account_index)}/#search/" + quote(query,
                                                                                   safe="")


OUTLOOK_WEB = "https://outlook.office.com/mail/"


def resolve(how: OpenWith, place: MailPlace) -> OpenWith:
    """AUTO as it applies to this account: Gmail's or Outlook's web for their servers,
    else the mail client."""
    if how is not OpenWith.AUTO:
        return how
    provider = by_host(place.host) if place.host else None
    if provider is GOOGLE:
        return OpenWith.GMAIL_WEB
    if provider is MICROSOFT:
        return OpenWith.OUTLOOK_WEB
    return OpenWith.MAIL_CLIENT


def launch_for(how: OpenWith, place: MailPlace) -> Launch:
    """How to open the message; CannotOpen when there is nothing to open it by."""
    how = resolve(how, place)
    if how is OpenWith.MAIL_CLIENT:
        return Launch(url=mid_url(place.message_id), what="in your mail program")
    if how is OpenWith.THUNDERBIRD:
        return Launch(argv=("thunderbird", mid_url(place.message_id)), what="in Thunderbird")
    if how is OpenWith.GMAIL_WEB:
        return Launch(url=gmail_search_url(place.message_id), what="in Gmail")
    if how is OpenWith.OUTLOOK_WEB:
        # Outlook on the web has no documented link to a message by its Message-ID: the
        # mailbox opens, and the message is at the top of the Inbox.
        return Launch(url=OUTLOOK_WEB + "inbox", what="in Outlook on the web (your Inbox)")
    return folder_launch(place)


def folder_launch(place: MailPlace) -> Launch:
    if place.maildir is not None:
        return Launch(url=place.maildir.absolute().as_uri(), what="its folder")
    if place.host:
        user = quote(place.username, safe="") + "@" if place.username else ""
        folder = quote(place.folder or "INBOX", safe="")
        return Launch(url=f"imap://{user}{quote(place.host, safe='.-')}/{folder}",
                      what=f"the folder {place.folder or 'INBOX'}")
    raise CannotOpen("the message's account has no folder to open")
