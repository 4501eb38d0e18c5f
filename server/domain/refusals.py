"""What may be recorded on a case now, judged by projecting its history with the event.

The state table is ``server.domain.states``; here it is applied: an event is refused when
the history with it has a state anomaly the history without it did not have. Used by the
API (409), by the sync gateway per document (injected from ``server.app`` as
``check_event``) and, by trying each kind, to offer a screen exactly the actions the API
and the gateway accept (``available_actions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.events import EVENT_KINDS
from server.domain.projection import project_case
from server.domain.states import RESOLUTION_RANK, STATE_CODES, allowed_kinds, state_anomalies


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
    history = list(events)
    before: set[tuple[str, str | None]] | None = None
    out: list[tuple[str, str] | None] = []
    for event in new_events:
        others = [e for e in history if e.get("_id") != event.get("_id")]
        if before is None or len(others) != len(history):
            before = state_anomalies(project_case(case, others, with_deadlines=False).anomalies)
        after = project_case(case, [*others, event], with_deadlines=False)
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
