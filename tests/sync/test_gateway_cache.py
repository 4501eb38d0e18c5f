"""The gateway's per-process hints (``sync.gateway_cache``): each is used only as its
docstring promises — in time, per user, once."""

from __future__ import annotations

from sync.gateway_cache import AbsentIds


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_absent_id_is_taken_once_and_only_by_the_user_who_asked() -> None:
    clock = Clock()
    hints = AbsentIds(ttl=30, clock=clock)
    hints.note("t1", "alice", ["case:a", "case:b"])
    assert hints.take("t1", "bob", ["case:a"]) == set()
    assert hints.take("t2", "alice", ["case:a"]) == set()
    assert hints.take("t1", "alice", ["case:a", "case:c"]) == {"case:a"}
    assert hints.take("t1", "alice", ["case:a"]) == set()  # used up: a repeated push reads
    assert hints.take("t1", "alice", ["case:b"]) == {"case:b"}


def test_an_absent_id_expires() -> None:
    clock = Clock()
    hints = AbsentIds(ttl=30, clock=clock)
    hints.note("t1", "alice", ["case:a"])
    clock.now += 30
    assert hints.take("t1", "alice", ["case:a"]) == set()


def test_the_hints_are_bounded() -> None:
    hints = AbsentIds(size=3, clock=Clock())
    hints.note("t1", "alice", ["a", "b", "c", "d"])
    assert hints.take("t1", "alice", ["a", "b", "c", "d"]) == {"b", "c", "d"}
