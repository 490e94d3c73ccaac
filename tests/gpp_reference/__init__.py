"""The IAB reference GPP library (@iabgpp/cmpapi, pinned in package.json) run under node."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
_installed = False


def reference_available() -> str | None:
    """Why the reference cannot run (node or npm missing), or None when it can."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def install_reference() -> None:
    """npm install once per session into tests/gpp_reference/node_modules (gitignored)."""
    global _installed
    if _installed:
        return
    reason = reference_available()
    if reason:
        pytest.skip(f"IAB reference library needs node and npm: {reason}")
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]["@iabgpp/cmpapi"]
    installed = HERE / "node_modules" / "@iabgpp" / "cmpapi" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=HERE,
            check=True,
            capture_output=True,
            timeout=300,
        )
    _installed = True


def run_reference(requests: list[dict]) -> list[dict]:
    """Send requests ({"decode": str} or {"encode": {section: fields}}) to reference.js."""
    install_reference()
    completed = subprocess.run(
        ["node", str(HERE / "reference.js")],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout)
