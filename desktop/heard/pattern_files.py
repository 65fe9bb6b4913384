"""Pattern sets that read voicemail and contact-form notifications: shipped and user files."""
