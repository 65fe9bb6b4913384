"""The IMAP wire protocol of the devices: keywords and claims, the Heard folder (requests,
settings), catching up on flags, delegation records. Only heard.devices uses it."""
