"""Production server settings; every value can be overridden by an environment variable."""

import multiprocessing
import os
import sys
from pathlib import Path

# gunicorn reads this file before the app is imported: the project goes on the path first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from consent_platform.env import env_bool, env_int  # noqa: E402

# This is the production server: DEBUG is off unless asked for, so a start that forgot DEBUG=0
# refuses (no SECRET_KEY...) instead of serving debug pages under the development secret.
if not os.environ.get("DEBUG"):
    os.environ["DEBUG"] = "0"


bind = os.environ.get("BIND", "127.0.0.1:8000")
# Sync workers: the app is CPU- and database-bound, and keeps no state of its own.
workers = env_int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1, minimum=1)
worker_class = "sync"
timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 20
keepalive = 5
# The app is imported once in the master and forked, so a worker replaced after
# `max_requests` starts warm in milliseconds instead of importing Django again (about a second
# of CPU, and the requests queued behind it). Workers are replaced now and then to bound any
# slow leak; at a thousand requests a second per worker, every few minutes, not seconds.
preload_app = env_bool("GUNICORN_PRELOAD", True)
max_requests = env_int("GUNICORN_MAX_REQUESTS", 200_000)
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# The least personal data: no client address, referrer or user agent, and the path without its
# query string (an API read names its subject there: ?email=...). The request id links a line
# to the application's logs.
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms {x-request-id}o'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
