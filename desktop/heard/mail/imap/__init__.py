"""IMAP: one connection's typed commands (connection), the raw commands Heard's devices
coordinate with (commands), and the push watchers (watch). Nothing outside this package
touches imapclient or a Connection's insides."""

from heard.mail.imap.connection import (
    BATCH,
    DEFAULT_PORTS,
    TEXT_BYTES,
    TIMEOUT,
    Connection,
    Fetched,
    FolderDelta,
    FolderState,
    ImapError,
    Problem,
    Progress,
    Security,
    ServerSettings,
    connect,
    tls_context,
)

__all__ = ["BATCH", "DEFAULT_PORTS", "TEXT_BYTES", "TIMEOUT", "Connection", "Fetched",
           "FolderDelta", "FolderState", "ImapError", "Problem", "Progress", "Security",
           "ServerSettings", "connect", "tls_context"]
