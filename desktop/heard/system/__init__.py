"""Platform services behind small interfaces: the profile folder, logging, the keyring,
the single-instance socket and start at login. Qt-free."""
