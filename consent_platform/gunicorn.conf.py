"""Production server settings; every value can be overridden by an environment variable."""

import multiprocessing
import os

# This is the production server: DEBUG is off unless asked for, so a start that forgot DEBUG=0
# refuses (no SECRET_KEY...) instead of serving debug pages under the development secret.
if not os.environ.get("DEBUG"):
    os.environ["DEBUG"] = "0"

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Sync workers: the app is CPU- and database-bound, and keeps no state of its own.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# The app is imported once in the master and forked, so a worker replaced after
# `max_requests` starts warm in milliseconds instead of importing Django again (about a second
# of CPU, and the requests queued behind it). Workers are replaced now and then to bound any
# slow leak; at a thousand requests a second per worker, every few minutes, not seconds.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
