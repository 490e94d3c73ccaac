"""Deliver the webhook outbox until stopped (SIGTERM/SIGINT finish the current delivery)."""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from consents.webhooks import RetryPolicy, deliver_due, logger


class Command(BaseCommand):
    help = "Send pending webhook deliveries, retrying with backoff. Runs until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass over what is due.")
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=1.0,
            help="Pause between passes when nothing is due.",
        )
        parser.add_argument("--batch-size", type=int, default=20)
        parser.add_argument(
            "--retry-base-seconds",
            type=float,
            default=None,
            help="First retry delay; doubles each time (default 30).",
        )
        parser.add_argument(
            "--max-attempts",
            type=int,
            default=None,
            help="Give up (status failed) after this many (default 10).",
        )
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=None,
            help="How long a claimed delivery is reserved for this worker "
            "before another may retry it (default 70).",
        )
        parser.add_argument(
            "--timeout-seconds",
            type=float,
            default=None,
            help="HTTP timeout per attempt (default 10).",
        )

    def handle(self, *args, **options):
        policy = RetryPolicy.from_settings(
            base_seconds=options["retry_base_seconds"],
            max_attempts=options["max_attempts"],
            lease_seconds=options["lease_seconds"],
            timeout_seconds=options["timeout_seconds"],
        )
        stopping = {"now": False}

        def stop(signum, frame):
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        batch_size = max(1, options["batch_size"])
        totals = {"delivered": 0, "retrying": 0, "failed": 0}
        while not stopping["now"]:
            try:
                stats = deliver_due(
                    policy, batch_size=batch_size, should_stop=lambda: stopping["now"]
                )
            except DatabaseError as exc:
                logger.error("webhook worker: database unavailable (%s); retrying", exc)
                close_old_connections()
                stats = None
            if stats is not None:
                for name in totals:
                    totals[name] += getattr(stats, name)
            if options["once"]:
                break
            if stats is None or not stats.attempted:
                self._sleep(options["idle_seconds"], stopping)
        self.stdout.write(
            f"delivered {totals['delivered']}, to retry {totals['retrying']}, "
            f"failed {totals['failed']}"
        )

    @staticmethod
    def _sleep(seconds: float, stopping: dict) -> None:
        deadline = time.monotonic() + seconds
        while not stopping["now"] and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))
