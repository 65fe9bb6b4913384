"""Package data: icons, default templates, demo data, the desktop entry."""
