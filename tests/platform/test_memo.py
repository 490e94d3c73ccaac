"""The per-process memo in front of the cache (consent_platform.memo)."""

import pytest
from django.core.cache import cache

from consent_platform import memo


def test_loads_once_then_serves_from_the_process():
    loads = []

    def load():
        loads.append(1)
        return {"value": len(loads)}

    assert memo.get_or_load("kz:test:a", load, 30) == {"value": 1}
    cache.delete("kz:test:a")  # even with the shared entry gone, the process keeps its copy
    assert memo.get_or_load("kz:test:a", load, 30) == {"value": 1}
    assert len(loads) == 1


@pytest.mark.django_db
def test_forget_drops_the_process_copy_and_the_shared_entry():
    memo.get_or_load("kz:test:b", lambda: "old", 30)
    memo.forget("kz:test:b")
    assert cache.get("kz:test:b") is None
    assert memo.get_or_load("kz:test:b", lambda: "new", 30) == "new"


@pytest.mark.django_db
def test_forget_drops_again_when_the_edit_commits(django_capture_on_commit_callbacks):
    memo.get_or_load("kz:test:d", lambda: "old", 30)
    with django_capture_on_commit_callbacks(execute=True):
        memo.forget("kz:test:d")
        # Another process reads the rows before the edit commits and caches what it read.
        cache.set("kz:test:d", "read before the commit", 30)
    assert cache.get("kz:test:d") is None
    assert memo.get_or_load("kz:test:d", lambda: "new", 30) == "new"


def test_a_copy_in_front_of_a_shared_cache_lives_memo_seconds(settings, monkeypatch):
    monkeypatch.setattr(memo, "caches", {"default": object()})  # not local memory
    settings.KAIZEN_MEMO_SECONDS = 0
    memo.get_or_load("kz:test:c", lambda: "first", 30)
    cache.set("kz:test:c", "changed elsewhere", 30)
    assert memo.get_or_load("kz:test:c", lambda: "unused", 30) == "changed elsewhere"


def test_misses_cannot_grow_the_memo_without_bound():
    for number in range(memo.MAX_ENTRIES + 10):
        memo.get_or_load(f"kz:test:miss:{number}", lambda: False, 30)
    assert len(memo._entries) <= memo.MAX_ENTRIES


def test_first_in_answers_once_per_interval():
    assert memo.first_in("kz:test:touch", 60)
    assert not memo.first_in("kz:test:touch", 60)
    assert memo.first_in("kz:test:other", 60)
