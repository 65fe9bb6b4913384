"""Passwords in the OS keyring (the Secret Service, Keychain or Windows Credential Locker)."""
