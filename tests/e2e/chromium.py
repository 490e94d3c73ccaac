"""Debian's Chromium as the browser tests and the bench launch it (through Playwright)."""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("KAIZEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
