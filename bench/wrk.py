"""Run wrk against the server and read its figures."""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx/3xx answers plus socket errors other than the server closing


def _latency(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")


def run(
    url: str,
    script: str = "get.lua",
    *,
    connections: int = 16,
    seconds: int = 8,
    threads: int = 2,
    env: dict | None = None,
) -> WrkResult:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA / script),
        url,
    ]
    output = subprocess.run(
        command, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True
    ).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    failed = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        failed += int(non_2xx.group(1))
    errors = re.search(
        r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", output
    )
    if errors:
        failed += sum(int(g) for g in errors.groups())
    return WrkResult(requests, rps, _latency(output, "50"), _latency(output, "99"), failed)
