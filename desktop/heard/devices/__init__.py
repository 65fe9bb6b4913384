"""Heard on several devices (and the assistant's): one Coordinator for claims, marks,
requests and shared settings; a local no-op for Maildir accounts and the IMAP one, with its
wire code in heard.devices.wire."""
