"""`make bench`: the product measured against its own stack's ceiling, in one run.

Creates (or reuses) a PostgreSQL database, loads the data the scenarios need, starts the
production server (gunicorn, DEBUG off) with two baseline views mounted, drives each scenario
and its baseline from separate processes on loopback, and writes docs/benchmarks.md.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
UNLIMITED = "1000000000"
# The environment of both this process and the server: production settings on loopback.
SERVER_ENV = {
    "DATABASE_URL": os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kaizen_bench"
    ),
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789abcdef",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "PUBLIC_BASE_URL": BASE,
    "STATIC_ROOT": str(ROOT / "bench" / ".static"),
    "KAIZEN_BENCH_VIEWS": "1",
    # One load generator on one address would hit the per-IP and per-site visitor limits
    # within a second; the bench lifts them so it measures the work, not the 429s.
    "RATE_LIMIT_VISITOR_PER_IP": UNLIMITED,
    "RATE_LIMIT_VISITOR_PER_SITE": UNLIMITED,
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "consent_platform.settings",
}
os.environ.update(SERVER_ENV)


def main() -> int:
    from bench import harness

    return harness.run_all(ROOT, BASE, PORT, SERVER_ENV)


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"bench finished in {time.monotonic() - started:.0f} s")
    sys.exit(code)
