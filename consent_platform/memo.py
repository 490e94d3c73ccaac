"""A per-process memo in front of the shared cache, for small entries read on every request.

Django's cache pickles every value on the way in and out, in local memory too; for the API key
and the purpose that every check looks up, that was a tenth of the check's own work. An entry
stays here for the cache timeout when the cache is this process's local memory anyway, and for
at most MEMO_SECONDS in front of a shared cache (Redis), so that a change made through another
process (a revoked key) is seen here within that time. `forget` drops an entry here and in the
shared cache, now and after the commit of the edit that called it.
"""

import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

MAX_ENTRIES = 2_000  # misses are memoized too (unknown key prefixes): keep the memo bounded
_entries: dict[str, tuple[float, object]] = {}


def _lifetime(timeout: int) -> float:
    if isinstance(caches["default"], LocMemCache):
        return timeout
    return min(timeout, settings.KAIZEN_MEMO_SECONDS)


def get_or_load(key: str, load, timeout: int):
    """The value under `key`: from this process, else the shared cache, else `load()`."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, timeout)
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (now + _lifetime(timeout), value)
    return value


def first_in(key: str, seconds: float) -> bool:
    """True the first time in `seconds` this process asks about `key`, else False."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return False
    _entries[key] = (now + seconds, True)
    return True


def forget(key: str) -> None:
    """Drop the entry now and again when the current transaction commits: a request in another
    process that reads the old rows before the commit must not leave them cached."""
    _drop(key)
    transaction.on_commit(lambda: _drop(key))


def _drop(key: str) -> None:
    _entries.pop(key, None)
    cache.delete(key)


def clear() -> None:
    """Drop every memoized entry of this process (tests that clear the cache call this)."""
    _entries.clear()
