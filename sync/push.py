"""What a tablet may write: the decision for each document of a pushed batch.

The service never sees the HTTP request. It gets the user, the documents, what is stored
now, and two checks passed in by the gateway (schema validation and the grid check), and
answers, per document, either "write it" or a refusal with a reason in Chinese and English.
The gateway stores the allowed rest of the batch and reports each refusal as CouchDB's
per-document ``{"error": "forbidden", "reason": …}``, so PouchDB keeps replicating and
shows the user which record was refused and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas.events import DEVICE_TIME_TOO_LATE, MAX_DEVICE_AHEAD
from schemas.registry import DOC_TYPES, doc_type

from .scope import may_write_key, scope_key, sees
from .users import User


class FieldProblem(Protocol):
    field: str
    message_zh: str
    message_en: str


# (doc) -> the problems with its fields (``schemas.validate_document``); empty when valid.
Validator = Callable[[Mapping[str, Any]], Sequence[FieldProblem]]
# (doc) -> None when the location agrees with the claimed area, else (reason_zh, reason_en).
LocationCheck = Callable[[Mapping[str, Any]], tuple[str, str] | None]

# (case, its stored events, new events in the order they happened) -> per new event, None
# when the case's state allows it (after the new ones allowed before it), else (reason_zh,
# reason_en). Built on the projection by the server (``server.app``): ``sync`` does not know
# the state rules, it applies them. One call per case: the history is projected once per
# event, not twice (issue 16).
EventCheck = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]],
                      "Sequence[tuple[str, str] | None]"]

REV_RE = re.compile(r"^[1-9]\d{0,8}-[0-9a-f]{1,64}$")
# The CouchDB members a replicating client may send; any other "_" member is refused here,
# because CouchDB would fail the whole batch on it.
CLIENT_META = frozenset({"_id", "_rev", "_revisions", "_attachments", "_deleted"})
# What each type is — its author field, parent, device time, whether tablets may write it,
# whether it is append-only, which fields only the server sets — is the type registry's
# (``schemas.registry.DOC_TYPES``). Set by the server, never by a device, on any type a
# device may write: refused before the type is even looked at.
SERVER_ONLY = frozenset(f for t in DOC_TYPES.values() if t.tablet_writes for f in t.server_only)


def parent_id(doc: Any) -> str | None:
    """The id of the parent a child document (an event) names; None for anything else."""
    spec = doc_type(doc.get("type")) if isinstance(doc, dict) else None
    if spec is None or spec.parent is None:
        return None
    parent = doc.get(spec.parent.field)
    return parent if isinstance(parent, str) else None


def author_of(doc: Mapping[str, Any]) -> Any:
    """The value of a document's author field (None when its type has none)."""
    spec = doc_type(doc.get("type"))
    return doc.get(spec.author) if spec is not None and spec.author is not None else None


@dataclass(frozen=True)
class Refusal:
    reason_zh: str
    reason_en: str

    @property
    def reason(self) -> str:
        return f"{self.reason_zh} / {self.reason_en}"


@dataclass(frozen=True)
class Stored:
    """What the database holds now for a pushed id: current winning rev and scope key."""

    rev: str | None
    key: str | None
    deleted: bool = False
    author: str | None = None
    elsewhere: bool = False  # held by another township (found in the county database)


def decide(
    user: User,
    doc: Any,
    stored: Stored | None,
    *,
    new_edits: bool,
    parent_key: str | None = None,
    validate: Validator,
    check_location: LocationCheck | None,
    now: datetime | None = None,
) -> Refusal | None:
    """None if ``user`` may write ``doc``; else why not. Checks run cheapest first.

    ``parent_key`` is the scope key of the case or risk an event belongs to, when known.
    ``now`` is the receipt time (default: the server's clock now).
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str) or not doc["_id"]:
        return Refusal("文档缺少 _id", "document has no _id")
    doc_id = doc["_id"]
    if doc_id.startswith("_design/"):
        return Refusal("平板不能写入设计文档", "design documents cannot be written from a tablet")
    if doc_id.startswith("_"):
        return Refusal("非法的文档 id", f"invalid document id {doc_id!r}")
    if doc.get("_deleted"):
        return Refusal("不能删除记录：请用办结、撤回等事件", "records cannot be deleted: add an event instead")
    unknown_meta = sorted(k for k in doc if k.startswith("_") and k not in CLIENT_META)
    if unknown_meta:
        return Refusal(f"不允许的字段 {unknown_meta[0]}", f"field {unknown_meta[0]} is not allowed")
    server_only = sorted(SERVER_ONLY & set(doc))
    if server_only:
        return Refusal(f"字段 {server_only[0]} 由服务器填写", f"field {server_only[0]} is set by the server")
    problem = _revision_problem(doc, new_edits)
    if problem is not None:
        return problem
    kind = doc.get("type")
    spec = doc_type(kind)
    if spec is None or not spec.tablet_writes or spec.author is None:
        return Refusal(f"平板不能写入此类文档（{kind}）", f"tablets cannot write documents of type {kind!r}")

    errors = validate(doc)
    if errors:
        first = errors[0]
        field, zh, en = first.field or "(文档)", first.message_zh, first.message_en
        more = f"（另有 {len(errors) - 1} 处错误）" if len(errors) > 1 else ""
        more_en = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return Refusal(f"字段 {field}：{zh}{more}", f"field {field}: {en}{more_en}")
    late = device_time_problem(doc, now or datetime.now(UTC))
    if late is not None:
        return late

    key = scope_key(doc)
    if not may_write_key(user, key):
        return Refusal(f"区域 {doc.get('area_code')} 不在您的负责范围内",
                       f"area {doc.get('area_code')} is outside your scope")
    author_field = spec.author
    author = doc.get(author_field)

    if spec.parent is not None and parent_key is not None and parent_key != key:
        return Refusal("事件的区域与其所属记录不一致", "an event's area must be that of its case or risk")
    attachments = doc.get("_attachments") or {}
    if any(isinstance(a, dict) and a.get("stub") for a in attachments.values()) and \
            (stored is None or stored.rev is None):
        return Refusal("附件引用了服务器上没有的内容", "attachment stub refers to nothing stored")

    if stored is not None and stored.elsewhere and not sees(user, stored.key):
        return Refusal("此编号已属于其他区域的记录", "this id belongs to a record outside your scope")
    if stored is not None and stored.rev is not None:
        if not sees(user, stored.key):
            return Refusal("无权修改此记录", "you may not change this record")
        if spec.immutable and not stored.deleted and (new_edits or stored.rev != doc.get("_rev")):
            return Refusal("事件一经记录不能修改", "events are never edited once written")
        if stored.author is not None and author != stored.author:
            return Refusal(f"不能更改 {author_field}", f"{author_field} cannot be changed")
    else:
        if author != user.username:
            return Refusal(f"{author_field} 必须是当前用户 {user.username}",
                           f"{author_field} must be the signed-in user {user.username}")
    if spec.immutable and not new_edits and not str(doc.get("_rev", "1-")).startswith("1-"):
        return Refusal("事件一经记录不能修改", "events are never edited once written")

    if kind == "case" and check_location is not None:
        problem = check_location(doc)
        if problem is not None:
            return Refusal(*problem)
    return None


def device_time_problem(doc: Mapping[str, Any], received: datetime) -> Refusal | None:
    """A refusal when the document's device time is later than receipt by more than
    ``MAX_DEVICE_AHEAD`` (a day).

    Device times are kept, not replaced: offline work happened when the device says, and a
    refused record stays on the tablet to be entered again, so a slightly wrong clock must
    not cost work — smaller gaps, and times before the case's registration, are kept and
    flagged in the projection (``future_time``, ``before_report``). Only a time no clock
    error explains is refused, because it would move deadlines arbitrarily.
    """
    spec = doc_type(doc.get("type"))
    if spec is None or spec.device_time is None:
        return None
    text = doc.get(spec.device_time)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None and moment > received + MAX_DEVICE_AHEAD:
        return Refusal(*DEVICE_TIME_TOO_LATE)
    return None


def _revision_problem(doc: dict[str, Any], new_edits: bool) -> Refusal | None:
    """A malformed ``_rev``/``_revisions`` fails the whole batch in CouchDB: refuse the one
    document instead."""
    rev = doc.get("_rev")
    if rev is None:
        return Refusal("缺少 _rev", "_rev is missing") if not new_edits else None
    if not isinstance(rev, str) or not REV_RE.match(rev):
        return Refusal("_rev 格式不正确", f"_rev {str(rev)[:40]!r} is malformed")
    revisions = doc.get("_revisions")
    if revisions is not None:
        generation, digest = rev.split("-", 1)
        ids = revisions.get("ids") if isinstance(revisions, dict) else None
        if not isinstance(ids, list) or not ids or revisions.get("start") != int(generation) \
                or ids[0] != digest or len(ids) > int(generation) \
                or not all(isinstance(i, str) and re.fullmatch(r"[0-9a-f]{1,64}", i) for i in ids):
            return Refusal("_revisions 与 _rev 不一致", "_revisions does not agree with _rev")
    return None


CASE_REFUSED = ("所属案件未被接收，事件不能单独保存", "the event's case was refused, so the event cannot be stored alone")


def check_events(
    docs: Sequence[Any],
    refusals: list[Refusal | None],
    stored: Mapping[str, Stored],
    *,
    load_case: Callable[[str], Mapping[str, Any] | None],
    load_events: Callable[[str], list[Mapping[str, Any]]],
    check: EventCheck,
) -> list[Refusal | None]:
    """``refusals`` with each new case event the case's state does not allow refused too.

    Events are judged in the order they happened (their ``at``, then ``_id``, as the
    projection orders them; PouchDB's batch order is not that order), each against the
    stored events of its case plus the events of the batch already allowed (a tablet pushes
    a case settled offline — mediated, resolved, closed — in one go). A case comes from this batch (then it must have been
    allowed) or from the database; events of a case found nowhere are left to the other
    rules. An event already stored with the same revision (a push repeated after a lost
    answer) is not judged again. ``load_events`` is called once per case.
    """
    out = list(refusals)
    batch_cases = {d["_id"]: (d, r) for d, r in zip(docs, refusals, strict=True)
                   if isinstance(d, dict) and d.get("type") == "case" and isinstance(d.get("_id"), str)}
    candidates = [i for i, doc in enumerate(docs) if out[i] is None and isinstance(doc, dict)
                  and doc.get("type") == "event"]
    candidates.sort(key=lambda i: (_instant(docs[i].get("at")), str(docs[i].get("_id"))))
    by_case: dict[str, list[int]] = {}  # each case's events, in the order they happened
    for i in candidates:
        doc = docs[i]
        known = stored.get(doc["_id"])
        if known is not None and known.rev is not None and known.rev == doc.get("_rev"):
            continue
        case_id = doc.get("case_id")
        if not isinstance(case_id, str):
            continue
        if case_id in batch_cases and batch_cases[case_id][1] is not None:
            out[i] = Refusal(*CASE_REFUSED)
            continue
        by_case.setdefault(case_id, []).append(i)
    for case_id, indexes in by_case.items():
        case = batch_cases[case_id][0] if case_id in batch_cases else load_case(case_id)
        if case is None:
            continue
        problems = check(case, load_events(case_id), [docs[i] for i in indexes])
        for i, problem in zip(indexes, problems, strict=True):
            if problem is not None:
                out[i] = Refusal(*problem)
    return out


def _instant(text: Any) -> float:
    """An event time as a number for ordering (a time that does not parse sorts first)."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return float("-inf")
    return moment.timestamp() if moment.tzinfo is not None else float("-inf")


def merge_results(
    docs: Sequence[Any],
    refusals: Sequence[Refusal | None],
    written: list[dict[str, Any]],
    *,
    new_edits: bool,
) -> list[dict[str, Any]]:
    """CouchDB's ``_bulk_docs`` answer for the whole batch, refusals in their places.

    With ``new_edits`` CouchDB answers one entry per written document, in order; without,
    Apache CouchDB lists only failures (pouchdb-server lists every document), so entries
    are matched back by id.
    """
    out: list[dict[str, Any]] = []
    if new_edits:
        it = iter(written)
        for doc, refusal in zip(docs, refusals, strict=True):
            if refusal is None:
                out.append(next(it))
            else:
                out.append(_forbidden(doc, refusal))
        return out
    by_id: dict[str, list[dict[str, Any]]] = {}
    for entry in written:
        by_id.setdefault(entry.get("id", ""), []).append(entry)
    for doc, refusal in zip(docs, refusals, strict=True):
        if refusal is not None:
            out.append(_forbidden(doc, refusal))
            continue
        doc_id = doc.get("_id", "") if isinstance(doc, dict) else ""
        entries = by_id.get(doc_id)
        if entries:
            out.append(entries.pop(0))
    return out


def _forbidden(doc: Any, refusal: Refusal) -> dict[str, Any]:
    entry: dict[str, Any] = {"error": "forbidden", "reason": refusal.reason}
    if isinstance(doc, dict):
        if isinstance(doc.get("_id"), str):
            entry["id"] = doc["_id"]
        if isinstance(doc.get("_rev"), str):
            entry["rev"] = doc["_rev"]
    return entry
