"""Which event kinds a case's state allows: ONE table, read by everything that decides.

The projection flags an event its state does not allow (the anomaly says why); the API
answers it 409 and the sync gateway refuses it per document, both by asking the
projection (``server.cases.new_event``, ``server.domain.refusals``); the tablet offers only
the actions the table allows, from ``/tablet/states.json`` (``tablet_rules``), so there is
no second copy of these rules in JavaScript.

A state is the projection's ``status``. Besides the status, a few conditions depend on an
event's own fields or on one fact of the history (a pause open, units still to report
back, the level a case reached); the projection checks those and names them
(``escalated_not_upwards``, ``resolved_below_level`` …).

Resolution level (小事不出村、大事不出镇、矛盾不上交): a case is resolved *at or above the
highest level it reached*. A case escalated to the county and then "resolved at village"
did leave the village, so it must not count as 小事不出村; a case returned downwards keeps
the highest level it reached (``RESOLUTION_FLOOR``).
"""

from __future__ import annotations

from typing import Any

# What is done while a case is being handled (accepted, in progress).
_HANDLING = frozenset({"assigned", "feedback", "met", "mediated", "resolved", "escalated",
                       "returned", "paused", "resumed", "extended", "closed", "commented"})

# status → the event kinds that may be recorded in it.
ALLOWED_KINDS: dict[str, frozenset[str]] = {
    # registered, not yet accepted: decide on acceptance first (a policy may let the
    # report itself count as acceptance: ``policies.ACCEPTED_ON_REPORT``).
    "reported": frozenset({"accepted", "declined", "commented"}),
    "accepted": _HANDLING,
    "in_progress": _HANDLING,
    # settled: close it with the reply, follow up; the clock may still be paused or
    # extended and assigned units still report back. Not resolved again, not escalated
    # (a settlement that broke down comes back as a new, repeat case).
    "resolved": frozenset({"feedback", "paused", "resumed", "extended", "closed", "followed_up",
                           "commented"}),
    "closed": frozenset({"followed_up", "evaluated", "evaluated_by_phone", "commented",
                         "review_requested", "review_decided"}),
    "declined": frozenset({"commented"}),
}

# Rank of each level a case can be handled at, and of each resolution level.
LEVEL_RANK: dict[str, int] = {"village": 0, "township": 1, "county": 2, "above": 3}
RESOLUTION_RANK: dict[str, int] = {"grid": 0, "village": 0, "township": 1, "county": 2, "above": 3}


def allowed_kinds(status: str) -> frozenset[str]:
    """The event kinds a case in ``status`` allows (none for an unknown status)."""
    return ALLOWED_KINDS.get(status, frozenset())


def resolution_levels(highest_level: str) -> tuple[str, ...]:
    """The resolution levels allowed for a case that reached ``highest_level``."""
    floor = LEVEL_RANK.get(highest_level, 0)
    return tuple(code for code, rank in RESOLUTION_RANK.items() if rank >= floor)


def resolution_below_level(resolution_level: Any, highest_level: str) -> bool:
    """True when ``resolution_level`` is below the highest level the case reached."""
    rank = RESOLUTION_RANK.get(str(resolution_level))
    return rank is not None and rank < LEVEL_RANK.get(highest_level, 0)


def counted_resolution_level(resolution_level: str | None, highest_level: str) -> str | None:
    """The level a resolution counts at in the statistics: as recorded, raised to the
    highest level the case reached (a below-level record, flagged ``resolved_below_level``
    or ``after_resolution``, never counts as 小事不出村)."""
    if resolution_level is None or not resolution_below_level(resolution_level, highest_level):
        return resolution_level
    return highest_level


def tablet_rules() -> dict[str, Any]:
    """What the tablet needs to offer only allowed actions (``/tablet/states.json``)."""
    from server.domain.policies import ACCEPTED_ON_REPORT

    return {
        "allowed_kinds": {status: sorted(kinds) for status, kinds in ALLOWED_KINDS.items()},
        "level_rank": LEVEL_RANK,
        "resolution_rank": RESOLUTION_RANK,
        "accepted_on_report": sorted(ACCEPTED_ON_REPORT),
    }


def state_anomalies(anomalies: Any) -> set[tuple[str, str | None]]:
    """The (code, event id) pairs of ``anomalies`` that a state rule raised (not data
    problems such as a device clock): what makes an API or sync write refused."""
    return {(a.code, a.event_id) for a in anomalies if a.code in STATE_CODES}


# Anomaly codes raised by the rules above (the projection's ``ANOMALY_TEXT`` has their
# words). Data anomalies (future_time, before_report, area_mismatch …) are kept, never refused.
STATE_CODES = frozenset({
    "accepted_twice", "accepted_after_decline", "declined_after_accept", "before_accept",
    "after_close", "after_resolution", "feedback_without_assignment", "escalated_not_upwards",
    "returned_not_downwards", "paused_twice", "resumed_without_pause",
    "closed_with_pending_units", "closed_twice", "resolved_twice", "resolved_below_level",
    "evaluated_before_close", "followed_up_before_close", "review_before_close",
    "re_review_before_review", "decision_without_request", "not_allowed",
})
