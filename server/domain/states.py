"""Which event kinds a case's state allows: ONE table, read by everything that decides.

The projection flags an event its state does not allow (the anomaly says why); the API
answers it 409 and the sync gateway refuses it per document, both by asking the
projection (``server.cases.new_event``, ``event_refusal`` below); the tablet offers only
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

from collections.abc import Mapping
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


def event_refusal(case: Mapping[str, Any], events: list[Mapping[str, Any]],
                  event: Mapping[str, Any], *, tolerated: frozenset[str] = frozenset()
                  ) -> tuple[str, str] | None:
    """Why ``event`` may not be added to ``case`` with ``events`` (zh, en), or None.

    Decided by the projection: the event is refused when the history with it has a state
    anomaly the history without it did not have (on the event itself, or on a later event
    it makes impossible, e.g. a closure dated before a mediation). ``tolerated`` codes are
    accepted (the API lets a closure end an open pause). Used by the API and, injected from
    ``server.app``, by the sync gateway.
    """
    return event_refusals(case, events, [event], tolerated=tolerated)[0]


def event_refusals(case: Mapping[str, Any], events: list[Mapping[str, Any]],
                   new_events: list[Mapping[str, Any]], *, tolerated: frozenset[str] = frozenset()
                   ) -> list[tuple[str, str] | None]:
    """:func:`event_refusal` for several new events of one case, in the order given: each
    is judged against ``events`` plus the new ones allowed before it.

    Why a batch: a tablet pushes a case's events together, and judging them one by one
    projected the history twice per event; here the history with an allowed event is the
    history the next one is judged against, so it is projected once (issue 16: the state
    check was most of the sync gateway's CPU per pushed event)."""
    from server.domain.projection import project_case

    history = list(events)
    before: set[tuple[str, str | None]] | None = None
    out: list[tuple[str, str] | None] = []
    for event in new_events:
        others = [e for e in history if e.get("_id") != event.get("_id")]
        if before is None or len(others) != len(history):
            before = state_anomalies(project_case(case, others).anomalies)
        after = project_case(case, [*others, event])
        new = new_state_anomalies(after.anomalies, before, tolerated)
        if new:
            out.append(_refused(event, new))
            before = None if len(others) != len(history) else before
            continue
        history = [*others, event]
        before = state_anomalies(after.anomalies)
        out.append(None)
    return out


def new_state_anomalies(anomalies: Any, before: set[tuple[str, str | None]],
                        tolerated: frozenset[str] = frozenset()) -> list[Any]:
    """The state anomalies of a history with a new event that the history without it did
    not have (``before``: its ``state_anomalies``): why the event may not be recorded."""
    return [a for a in anomalies if a.code in STATE_CODES and (a.code, a.event_id) not in before
            and a.code not in tolerated]


def _refused(event: Mapping[str, Any], new: list[Any]) -> tuple[str, str]:
    from schemas.events import EVENT_KINDS

    kind = str(event.get("kind"))
    zh, en = EVENT_KINDS.get(kind, (kind, kind))
    return (f"案件当前状态下不能记录「{zh}」：" + "；".join(dict.fromkeys(a.message_zh for a in new)),
            f"'{en}' cannot be recorded in the case's state: "
            + "; ".join(dict.fromkeys(a.message_en for a in new)))


# -- what can be done now ------------------------------------------------------------------
# Kinds staff never record on a case page: the party's own evaluation comes only through
# the tracking code (``schemas.events.EvaluatedSchema``).
NOT_OFFERED = frozenset({"evaluated"})
_ESCALATE_TO = ("township", "county", "above")
_RETURN_TO = ("village", "township", "county")


def _trial_fields(kind: str, p: Any) -> list[dict[str, Any]]:
    """Bodies to try ``kind`` with: one per value of the field the state restricts."""
    if kind == "escalated":
        return [{"to_level": to} for to in _ESCALATE_TO]
    if kind == "returned":
        return [{"to_level": to} for to in _RETURN_TO]
    if kind == "resolved":
        return [{"resolution_level": lvl} for lvl in RESOLUTION_RANK]
    if kind in ("review_requested", "review_decided"):
        return [{"stage": s} for s in ("review", "re_review")]
    if kind == "feedback":
        return [{"unit": u} for u in p.assigned_units]
    return [{}]


def available_actions(case: Mapping[str, Any], events: list[Mapping[str, Any]],
                      now: Any) -> dict[str, dict[str, list[str]]]:
    """The event kinds that may be recorded on ``case`` now, each with the values its
    restricted field may take (``{"escalated": {"to_level": ["county", "above"]}}``).

    Decided by trying each kind against the projection (as ``event_refusal`` does), so a screen
    offers exactly what the API and the gateway accept: no second copy of the rules.
    """
    from server.domain.projection import project_case

    p = project_case(case, events, now=now)
    before = state_anomalies(p.anomalies)
    uuid = str(case.get("_id", "case:")).split(":", 1)[1]
    at = now.isoformat() if hasattr(now, "isoformat") else str(now)
    out: dict[str, dict[str, list[str]]] = {}
    for kind in sorted(allowed_kinds(p.status) - NOT_OFFERED):
        if kind == "accepted" and p.legal_route not in ("", "none", None):
            continue  # 诉访分离: declined with the route instead (``server.cases``)
        if kind == "closed" and p.pending_units:
            continue  # 办结 waits for every assigned unit (``closed_with_pending_units``)
        options: dict[str, list[str]] = {}
        ok = False
        for extra in _trial_fields(kind, p):
            trial = {"_id": f"event:{uuid}:~trial", "type": "event", "kind": kind, "at": at,
                     "case_id": case.get("_id"), "area_code": case.get("area_code"), **extra}
            if not new_state_anomalies(project_case(case, [*events, trial], now=now).anomalies, before):
                ok = True
                for name, value in extra.items():
                    options.setdefault(name, []).append(value)
        if ok:
            out[kind] = options
    return out
