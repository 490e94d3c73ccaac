"""Check counts for the dashboard, added up in memory and written at most once per interval.

A check is a read. Writing the day's tally row on every check made each check a write and a
commit, and made concurrent checks of one organization queue on that row. Each process now
adds its counts in memory and upserts them when CHECK_TALLY_FLUSH_SECONDS have passed since
its last write (0: at once), when it exits, and before the dashboard reads the tallies. Another
process's counts reach the dashboard with its first check after the interval, or when it
exits: a worker that stops receiving checks holds its last counts until one of those happens.
A process killed outright loses its unwritten counts (counts, never consent).
"""

import atexit
import logging
import threading
import time
from datetime import date

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from consents.models import CheckTally

logger = logging.getLogger("kaizen.tallies")
_pending: dict[tuple[int, str, date], list[int]] = {}
_lock = threading.Lock()
_last_flush = time.monotonic()


def count_checks(organization_id: int, purpose_key: str, answered: int, allowed: int) -> None:
    if not answered:
        return
    key = (organization_id, purpose_key, date.today())
    with _lock:
        entry = _pending.setdefault(key, [0, 0])
        entry[0] += answered
        entry[1] += allowed
        due = time.monotonic() - _last_flush >= settings.KAIZEN_CHECK_TALLY_FLUSH_SECONDS
    if due:
        flush()


def flush() -> None:
    """Write this process's pending counts (one upsert per organization, purpose and day)."""
    global _last_flush
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    for index, ((organization_id, purpose_key, day), (answered, allowed)) in enumerate(
        batch.items()
    ):
        try:
            with transaction.atomic():
                _upsert(organization_id, purpose_key, day, answered, allowed)
        except DatabaseError:
            logger.warning("check tallies not written; kept for the next flush", exc_info=True)
            with _lock:
                for key, counts in list(batch.items())[index:]:
                    entry = _pending.setdefault(key, [0, 0])
                    entry[0] += counts[0]
                    entry[1] += counts[1]
            return


def _upsert(organization_id: int, purpose_key: str, day: date, answered: int, allowed: int):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # From the organization row, so counts of a deleted organization are dropped.
            cursor.execute(
                "INSERT INTO consents_checktally"
                " (organization_id, purpose_key, day, answered, allowed)"
                " SELECT id, %s, %s, %s, %s FROM consents_organization WHERE id = %s"
                " ON CONFLICT (organization_id, purpose_key, day)"
                " DO UPDATE SET answered = consents_checktally.answered + EXCLUDED.answered,"
                " allowed = consents_checktally.allowed + EXCLUDED.allowed",
                [purpose_key, day, answered, allowed, organization_id],
            )
        return
    tally, _ = CheckTally.objects.get_or_create(
        organization_id=organization_id, purpose_key=purpose_key, day=day
    )
    CheckTally.objects.filter(pk=tally.pk).update(
        answered=F("answered") + answered, allowed=F("allowed") + allowed
    )


def _flush_at_exit() -> None:
    if not _pending:
        return
    try:
        flush()
    except Exception:  # noqa: BLE001  (the process is leaving; nothing else to do)
        logger.warning("check tallies lost at exit", exc_info=True)


atexit.register(_flush_at_exit)
