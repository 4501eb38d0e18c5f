"""A case's state as a pure function of its base record and its events.

Tablets work offline, so events reach the server late and in any order, and two devices
may act on one case at once. The projection therefore never relies on arrival order: it
de-duplicates events by ``_id``, sorts them by the event's own ``at`` (as an instant),
then ``_id``, and folds them. Same set of events → same projection, always.

Impossible or suspicious sequences (closed before accepted, evaluated before closed, a
feedback from a unit nobody assigned, an event from another case …) are kept and
reported as :class:`Anomaly` entries on the case — a fact recorded in the field is never
dropped, because the tablet's clock may be wrong or the user may have skipped a step, and
both are things a supervisor must see. Effects are applied as far as they make sense.

Deadlines come from the case's policy (``server.domain.policies``); paused days (挂起,
from the China date of ``paused`` up to but not including the China date of ``resumed``)
do not count. While a pause is still open a running deadline is *suspended* (due date
unknown), because the case cannot be overdue while its clock is stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from schemas.events import CLOCK_SKEW, PUBLIC_ACTOR
from server.domain.policies import ACCEPTED_ON_REPORT, POLICIES, Rule
from server.domain.states import LEVEL_RANK, allowed_kinds, resolution_below_level
from server.domain.workdays import WorkCalendar, china_date, default_calendar

STATUS_RANK = {"reported": 0, "accepted": 1, "in_progress": 2, "resolved": 3, "closed": 4}
TERMINAL = frozenset({"closed", "declined"})
# Which kinds a status allows is ``server.domain.states.ALLOWED_KINDS``; when an event's
# kind is not allowed, this says why (the anomaly code), by kind, where the kind has its
# own reason; otherwise by status (``_not_allowed_code``).
KIND_NOT_YET: dict[str, str] = {
    "evaluated": "evaluated_before_close", "evaluated_by_phone": "evaluated_before_close",
    "followed_up": "followed_up_before_close", "review_requested": "review_before_close",
    "review_decided": "review_before_close",
}
KIND_AGAIN: dict[str, str] = {"accepted": "accepted_twice", "declined": "declined_after_accept",
                              "resolved": "resolved_twice", "closed": "closed_twice"}

ANOMALY_TEXT: dict[str, tuple[str, str]] = {
    "foreign_event": ("事件不属于本案件，未计入", "Event belongs to another case; not applied."),
    "deleted_event": ("事件被删除（事件不应删除），未计入", "Event was deleted (events are append-only); not applied."),
    "bad_time": ("事件时间无法解析，未计入", "Event time cannot be parsed; not applied."),
    "duplicate_event_id": ("同一编号的事件内容不一致", "Two different events share one _id."),
    "area_mismatch": ("事件区划编码与案件不一致", "Event area_code differs from the case's."),
    "before_report": ("事件时间早于案件登记时间（请核对设备时钟）",
                      "Event is dated before the case was registered (check the device clock)."),
    "future_time": ("事件时间晚于服务器收到它的时间（设备时钟偏快？）",
                    "Event is dated after the server received it (device clock fast?)."),
    "unknown_policy": ("未知的时限政策，未计算时限", "Unknown deadline policy; no deadlines computed."),
    "accepted_twice": ("重复受理", "Accepted more than once."),
    "accepted_after_decline": ("不予受理后又受理", "Accepted after being declined."),
    "declined_after_accept": ("受理后又不予受理", "Declined after being accepted."),
    "before_accept": ("在受理之前发生", "Happened before the case was accepted."),
    "after_close": ("在办结/不予受理之后发生", "Happened after the case was closed or declined."),
    "feedback_without_assignment": ("未交办的单位反馈", "Feedback from a unit that was not assigned."),
    "escalated_not_upwards": ("上交的层级不高于当前层级", "Escalation does not go to a higher level."),
    "returned_not_downwards": ("退回的层级不低于当前层级", "Return does not go to a lower level."),
    "paused_twice": ("已挂起又挂起", "Paused while already paused."),
    "resumed_without_pause": ("未挂起却恢复", "Resumed while not paused."),
    "closed_while_paused": ("挂起中办结（挂起在办结时结束）", "Closed while paused (pause ends at closure)."),
    "closed_with_pending_units": ("仍有交办单位未反馈即办结", "Closed while assigned units have not reported back."),
    "closed_twice": ("重复办结", "Closed more than once."),
    "resolved_twice": ("重复化解（以最后一次为准）", "Resolved more than once (last one counts)."),
    "unknown_rule": ("延期的规则不在本案政策中", "Extension names a rule the case's policy lacks."),
    "extension_over_limit": ("延期超过上限，按上限计", "Extension exceeds the limit; capped."),
    "evaluated_before_close": ("办结前评价", "Evaluated before closure."),
    "followed_up_before_close": ("办结前回访", "Followed up before closure or resolution."),
    "review_before_close": ("办结前申请复查/复核", "Review requested before closure."),
    "re_review_before_review": ("未复查即申请复核", "Re-review requested before a review decision."),
    "decision_without_request": ("未申请即作出复查/复核意见", "Review decided without a request."),
    "after_resolution": ("已化解后不应再有此事件（化解未能维持的，请登记为重复访）",
                         "Not possible after resolution (a settlement that broke down is a new, repeat case)."),
    "resolved_below_level": ("化解层级低于案件到过的最高层级（如上交县级后不能记为村级化解）",
                             "Resolved below the highest level the case reached (escalated to the "
                             "county cannot be resolved at village)."),
    "not_allowed": ("当前状态下不能记录此事件", "This event is not allowed in the case's state."),
}


@dataclass(frozen=True)
class Anomaly:
    """Something in the event history that should not have happened."""

    code: str
    event_id: str | None
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Deadline:
    """One rule applied to this case.

    ``due_date`` is the last allowed China date (None: not started, or suspended by an
    open pause); ``met_at`` the time of the ending event; ``on_time`` compares China dates.
    """

    rule: str
    label_zh: str
    label_en: str
    count: str
    days: int
    extension_days: int
    started_at: datetime | None
    due_date: date | None
    provisional: bool
    suspended: bool
    met_at: datetime | None
    on_time: bool | None

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def open(self) -> bool:
        """Started and not yet met."""
        return self.started_at is not None and self.met_at is None

    def is_overdue(self, as_of: datetime | date) -> bool:
        """Open, not suspended, and ``as_of`` (China date) is after the due date."""
        day = as_of if not isinstance(as_of, datetime) else china_date(as_of)
        return self.open and self.due_date is not None and day > self.due_date


@dataclass(frozen=True)
class CaseProjection:
    """The derived state of one case. ``to_dict()`` gives a JSON-ready view."""

    case_id: str
    area_code: str
    channel: str | None
    category: str | None
    policy: str | None
    legal_route: str
    accepted_on_report: bool  # the registration is the acceptance (policies.ACCEPTED_ON_REPORT)
    repeat_of: str | None
    lead_official: str | None
    first_handler: str | None
    created_at: datetime
    status: str  # reported | accepted | in_progress | resolved | closed | declined
    level: str   # village | township | county | above
    highest_level: str  # the highest level the case reached (resolution counts at or above it)
    paused: bool
    paused_intervals: tuple[tuple[datetime, datetime | None], ...]
    assigned_units: tuple[str, ...]
    pending_units: tuple[str, ...]
    dual_assignment: bool
    accepted_at: datetime | None
    declined_at: datetime | None
    resolved_at: datetime | None
    resolution_level: str | None
    closed_at: datetime | None
    evaluation: str | None  # the party's own (public tracking code): what 满意率 counts
    evaluated_at: datetime | None
    phone_evaluation: str | None  # taken by staff on the phone (evaluated_by_phone)
    phone_evaluated_at: datetime | None
    followed_up: bool
    escalations: int
    review_stage: str | None  # review | re_review (last requested)
    deadlines: tuple[Deadline, ...]
    anomalies: tuple[Anomaly, ...]
    event_count: int

    def deadline(self, rule: str) -> Deadline | None:
        """This case's deadline for ``rule`` (None if the policy has no such rule)."""
        return next((d for d in self.deadlines if d.rule == rule), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes and dates as ISO strings)."""
        return jsonable(asdict(self))


def jsonable(value: Any) -> Any:
    """Dates and datetimes as ISO strings, recursively (JSON-ready)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def initial_level(area_code: str) -> str:
    """The level that first handles a case registered at ``area_code``.

    A grid has no mediation body, so grid (15) and village (12) cases start at village.
    """
    return {6: "county", 9: "township"}.get(len(area_code), "village")


@dataclass
class _Fold:
    """Mutable accumulator used while folding the sorted events (private)."""

    status: str = "reported"
    level: str = "village"
    highest: str = "village"
    open_pause: datetime | None = None
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    dual: bool = False
    accepted_at: datetime | None = None
    declined_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_level: str | None = None
    closed_at: datetime | None = None
    evaluation: str | None = None
    evaluated_at: datetime | None = None
    phone_evaluation: str | None = None
    phone_evaluated_at: datetime | None = None
    followed_up: bool = False
    escalations: int = 0
    review_stage: str | None = None
    reviews_decided: set[str] = field(default_factory=set)
    extensions: dict[str, tuple[int, str]] = field(default_factory=dict)  # rule → (days, last id)
    anomalies: list[Anomaly] = field(default_factory=list)

    def flag(self, code: str, event_id: str | None) -> None:
        zh, en = ANOMALY_TEXT[code]
        self.anomalies.append(Anomaly(code, event_id, zh, en))

    def advance(self, status: str) -> None:
        if self.status != "declined" and STATUS_RANK[status] > STATUS_RANK[self.status]:
            self.status = status


def _dedupe(events: Iterable[Mapping[str, Any]], fold: _Fold) -> list[Mapping[str, Any]]:
    by_id: dict[str, list[str]] = {}
    docs: dict[str, Mapping[str, Any]] = {}
    for ev in events:
        key = str(ev.get("_id"))
        text = json.dumps({k: v for k, v in ev.items() if k not in ("_rev", "_revisions",
                                                                     "received_at")},
                          sort_keys=True, ensure_ascii=False, default=str)
        by_id.setdefault(key, []).append(text)
        docs[key + "\x00" + text] = ev
    out = []
    for key, texts in by_id.items():
        distinct = sorted(set(texts))
        if len(distinct) > 1:
            fold.flag("duplicate_event_id", key)
        out.append(docs[key + "\x00" + distinct[0]])  # deterministic choice
    return out


def project_case(case: Mapping[str, Any], events: Iterable[Mapping[str, Any]], *,
                 calendar: WorkCalendar | None = None,
                 until: datetime | None = None,
                 now: datetime | None = None,
                 with_deadlines: bool = True) -> CaseProjection:
    """Fold a case's events (any order, duplicates allowed) into its current state.

    ``case`` is the base record (``case:*`` document), ``events`` its ``event:*``
    documents, assumed schema-valid (``schemas.validate_document``) but checked
    defensively: events of another case, deleted or with unparseable times are reported
    as anomalies and skipped. ``calendar`` defaults to the official China calendar.
    ``until`` (aware) projects the case as it stood then: later events are left out
    (used for historical statistics snapshots).
    ``now`` (aware): the server's time, for events without ``received_at`` (tablet
    events arrive by sync, which does not stamp them): one dated later than its
    ``received_at``, or than ``now``, by more than ``CLOCK_SKEW`` is flagged
    ``future_time`` (kept and applied: see ``schemas.events`` on device times).
    ``with_deadlines=False`` leaves ``deadlines`` empty: judging whether an event is allowed
    needs the state and anomalies only, and the working-day arithmetic was half the sync
    gateway's cost of that judgement (issue 16).
    Raises ValueError only if the base record itself has no parseable ``created_at``.
    """
    calendar = calendar or default_calendar()
    case_id = str(case.get("_id"))
    area_code = str(case.get("area_code", ""))
    created_at = _parse_time(case.get("created_at"))
    if created_at is None:
        raise ValueError(f"{case_id}: created_at missing or not an ISO time with offset / "
                         "案件缺少带时区的登记时间")
    level = initial_level(area_code)
    fold = _Fold(level=level, highest=level)
    # Under some policies a case registered at grid or village level is accepted by being
    # registered (policies.ACCEPTED_ON_REPORT): a grid worker's own report counts as 受理.
    on_report = str(case.get("policy")) in ACCEPTED_ON_REPORT and level == "village"
    if on_report:
        fold.accepted_at = created_at
        fold.status = "accepted"

    usable: list[tuple[datetime, str, Mapping[str, Any]]] = []
    for ev in _dedupe(events, fold):
        ev_id = str(ev.get("_id"))
        if ev.get("case_id") != case_id:
            fold.flag("foreign_event", ev_id)
        elif ev.get("_deleted"):
            fold.flag("deleted_event", ev_id)
        elif (at := _parse_time(ev.get("at"))) is None:
            fold.flag("bad_time", ev_id)
        else:
            received = _parse_time(ev.get("received_at")) or now
            if received is not None and at > received + CLOCK_SKEW:
                fold.flag("future_time", ev_id)
            if until is None or at <= until:
                usable.append((at, ev_id, ev))
    usable.sort(key=lambda t: (t[0], t[1]))
    # Flags raised so far depend on input order; sort them so the result does not.
    fold.anomalies.sort(key=lambda a: (a.event_id or "", a.code))

    for at, ev_id, ev in usable:
        _apply(fold, at, ev_id, ev, case_area=area_code, created_at=created_at)

    policy = POLICIES.get(str(case.get("policy")))
    if policy is None:
        fold.flag("unknown_policy", None)
    else:
        names = {r.name: r for r in policy.rules}
        for rule_name, (days, ev_id) in sorted(fold.extensions.items()):
            if rule_name not in names:
                fold.flag("unknown_rule", ev_id)
            elif days > names[rule_name].max_extension_days:
                fold.flag("extension_over_limit", ev_id)
    # The acceptance on report ends the acceptance rule and starts those counted from it.
    timeline = ([(created_at, "", {"kind": "accepted"})] if on_report else []) + usable
    deadlines = tuple(
        _deadline(rule, created_at, timeline, fold, calendar) for rule in policy.rules
    ) if policy and with_deadlines else ()

    return CaseProjection(
        case_id=case_id,
        area_code=area_code,
        channel=case.get("channel"),
        category=case.get("category"),
        policy=case.get("policy"),
        legal_route=case.get("legal_route") or "none",
        accepted_on_report=on_report,
        repeat_of=case.get("repeat_of"),
        lead_official=case.get("lead_official"),
        first_handler=case.get("first_handler") or case.get("reported_by"),
        created_at=created_at,
        status=fold.status,
        level=fold.level,
        highest_level=fold.highest,
        paused=fold.open_pause is not None,
        paused_intervals=tuple(fold.pauses + ([(fold.open_pause, None)] if fold.open_pause else [])),
        assigned_units=tuple(fold.assigned),
        pending_units=tuple(sorted(fold.pending)),
        dual_assignment=fold.dual,
        accepted_at=fold.accepted_at,
        declined_at=fold.declined_at,
        resolved_at=fold.resolved_at,
        resolution_level=fold.resolution_level,
        closed_at=fold.closed_at,
        evaluation=fold.evaluation,
        evaluated_at=fold.evaluated_at,
        phone_evaluation=fold.phone_evaluation,
        phone_evaluated_at=fold.phone_evaluated_at,
        followed_up=fold.followed_up,
        escalations=fold.escalations,
        review_stage=fold.review_stage,
        deadlines=deadlines,
        anomalies=tuple(fold.anomalies),
        event_count=len(usable),
    )


def _apply(f: _Fold, at: datetime, ev_id: str, ev: Mapping[str, Any], *, case_area: str,
           created_at: datetime) -> None:
    kind = ev.get("kind")
    if ev.get("area_code") != case_area:
        f.flag("area_mismatch", ev_id)
    if at < created_at:
        f.flag("before_report", ev_id)
    if kind not in allowed_kinds(f.status):
        f.flag(_not_allowed_code(f.status, str(kind)), ev_id)

    if kind == "accepted":
        if f.accepted_at is None:
            f.accepted_at = at
        f.advance("accepted")
    elif kind == "declined":
        if f.status == "reported":
            f.status = "declined"
            f.declined_at = at
    elif kind == "assigned":
        units = [str(u.get("unit")) for u in ev.get("units", []) if isinstance(u, Mapping)]
        f.dual = f.dual or len(units) == 2
        for unit in units:
            if unit not in f.assigned:
                f.assigned.append(unit)
            if unit not in f.pending:
                f.pending.append(unit)
        f.advance("in_progress")
    elif kind == "feedback":
        unit = ev.get("unit")
        if unit in f.pending:
            f.pending.remove(unit)
        elif unit not in f.assigned:
            f.flag("feedback_without_assignment", ev_id)
    elif kind == "mediated" or kind == "met":
        f.advance("in_progress")
    elif kind == "resolved":
        if resolution_below_level(ev.get("resolution_level"), f.highest):
            f.flag("resolved_below_level", ev_id)
        f.resolved_at = at
        f.resolution_level = ev.get("resolution_level")
        f.advance("resolved")
    elif kind == "escalated":
        to = str(ev.get("to_level"))
        if LEVEL_RANK.get(to, -1) <= LEVEL_RANK[f.level]:
            f.flag("escalated_not_upwards", ev_id)
        if to in LEVEL_RANK:
            f.level = to
            if LEVEL_RANK[to] > LEVEL_RANK[f.highest]:
                f.highest = to
        f.escalations += 1
    elif kind == "returned":
        to = str(ev.get("to_level"))
        if LEVEL_RANK.get(to, 99) >= LEVEL_RANK[f.level]:
            f.flag("returned_not_downwards", ev_id)
        if to in LEVEL_RANK:
            f.level = to
    elif kind == "paused":
        if f.open_pause is not None:
            f.flag("paused_twice", ev_id)
        else:
            f.open_pause = at
    elif kind == "resumed":
        if f.open_pause is None:
            f.flag("resumed_without_pause", ev_id)
        else:
            f.pauses.append((f.open_pause, at))
            f.open_pause = None
    elif kind == "extended":
        rule_name = str(ev.get("rule"))
        before = f.extensions.get(rule_name, (0, ""))[0]
        f.extensions[rule_name] = (before + int(ev.get("days", 0)), ev_id)
    elif kind == "closed":
        if f.closed_at is None:
            f.closed_at = at
        if f.open_pause is not None:
            f.flag("closed_while_paused", ev_id)
            f.pauses.append((f.open_pause, at))
            f.open_pause = None
        if f.pending:
            f.flag("closed_with_pending_units", ev_id)
        if f.status != "declined":
            f.status = "closed"
    elif kind == "followed_up":
        f.followed_up = True
    elif kind in ("evaluated", "evaluated_by_phone"):
        # The party's own evaluation comes only through the tracking code (actor
        # ``public``); an ``evaluated`` event by staff (written before that rule) is what
        # it was in fact, an evaluation taken by staff, and counts as one.
        if kind == "evaluated" and ev.get("actor") == PUBLIC_ACTOR:
            f.evaluation = ev.get("rating")
            f.evaluated_at = at
        else:
            f.phone_evaluation = ev.get("rating")
            f.phone_evaluated_at = at
    elif kind == "review_requested":
        stage = ev.get("stage")
        if stage == "re_review" and "review" not in f.reviews_decided:
            f.flag("re_review_before_review", ev_id)
        f.review_stage = stage
    elif kind == "review_decided":
        stage = str(ev.get("stage"))
        if f.review_stage != stage and stage not in f.reviews_decided:
            f.flag("decision_without_request", ev_id)
        f.reviews_decided.add(stage)


def _not_allowed_code(status: str, kind: str) -> str:
    """The anomaly code for an event of ``kind`` that ``status`` does not allow: why."""
    if status == "closed":
        return "closed_twice" if kind == "closed" else "after_close"
    if status == "declined":
        if kind == "accepted":
            return "accepted_after_decline"
        return KIND_NOT_YET.get(kind, "after_close")
    if status == "reported":
        return KIND_NOT_YET.get(kind, "before_accept")
    code = KIND_NOT_YET.get(kind) or KIND_AGAIN.get(kind)
    return code or ("after_resolution" if status == "resolved" else "not_allowed")


def _deadline(rule: Rule, created_at: datetime,
              events: list[tuple[datetime, str, Mapping[str, Any]]], fold: _Fold,
              calendar: WorkCalendar) -> Deadline:
    if rule.start.kind == "reported":
        start_at: datetime | None = created_at
        start_index = 0
    else:
        start_at, start_index = None, 0
        for i, (at, _, ev) in enumerate(events):
            if rule.start.matches(ev):
                start_at, start_index = at, i
                break
    ext_asked = fold.extensions.get(rule.name, (0, ""))[0]
    extension = min(ext_asked, rule.max_extension_days)
    common = dict(rule=rule.name, label_zh=rule.label_zh, label_en=rule.label_en,
                  count=rule.count, days=rule.days, extension_days=extension)
    if start_at is None:
        return Deadline(**common, started_at=None, due_date=None, provisional=False,  # type: ignore[arg-type]
                        suspended=False, met_at=None, on_time=None)
    ends = [at for at, _, ev in events if any(m.matches(ev) for m in rule.end)]
    after = [at for at, _, ev in events[start_index:] if any(m.matches(ev) for m in rule.end)]
    met_at = after[0] if after else (ends[0] if ends else None)  # an early end still ends it

    # Pauses: closed intervals as given; an open one is clipped at met_at if the rule ended.
    intervals = list(fold.pauses)
    frozen_from: date | None = None
    if fold.open_pause is not None:
        if met_at is not None and met_at >= fold.open_pause:
            intervals.append((fold.open_pause, met_at))
        elif met_at is None:
            frozen_from = china_date(fold.open_pause)
    paused_ranges = [(china_date(a), china_date(b)) for a, b in intervals if b is not None]

    def paused(day: date) -> bool:
        return any(a <= day < b for a, b in paused_ranges)

    start_day = china_date(start_at)
    result = calendar.add_days(start_day, rule.days + extension, working=rule.working,
                               skip=paused if paused_ranges else None, frozen_from=frozen_from)
    due = result.date if result else None
    on_time = None if met_at is None or due is None else china_date(met_at) <= due
    return Deadline(**common, started_at=start_at, due_date=due,  # type: ignore[arg-type]
                    provisional=bool(result and result.provisional), suspended=result is None,
                    met_at=met_at, on_time=on_time)


def assigned_name(events: list[Mapping[str, Any]], unit_id: str) -> str | None:
    """The name the assignment gave the unit (a later rename does not change history)."""
    for e in events:
        for u in e.get("units") or [] if e.get("kind") == "assigned" else []:
            if isinstance(u, Mapping) and u.get("unit_id") == unit_id:
                return str(u.get("unit"))
    return None
