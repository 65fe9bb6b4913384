"""Heard: keeps a professional's promise of responsiveness to clients."""

__version__ = "0.1.0"
