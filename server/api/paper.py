"""Printed documents (文书) as PDF, under the same scope and audit rules as the case detail.

::

    GET /api/cases/<id>/documents                 which documents the case has now (JSON)
    GET /api/cases/<id>/documents/<kind>.pdf      one of them (receipt, acceptance,
                                                  non_acceptance, assignment, agreement,
                                                  reply, supervision)
    GET /api/cases/<id>/dossier.pdf               the 卷宗
    GET /api/reviews/<id>/minutes.pdf             研判会议纪要

A case outside the caller's area is 404, as for ``GET /api/cases/<id>`` (``cases.locate``).
Documents carry parties' full names (they go to the parties and the archive); the
agreement and the 卷宗 also carry full ID numbers, so they are only for
``cases.REVEAL_ROLES`` (403 otherwise) and are audited as a reveal (``parties_revealed``,
with the reason given or the document's title). Every document issued is audited
(``document_issued``). A document the case has not reached yet (an agreement before any
mediation reached one) is 409 naming the missing step.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response

from schemas.api_paper import DocumentArgsSchema, DocumentListSchema, DossierArgsSchema
from server.paper import (
    CASE_DOCUMENTS,
    DOSSIER,
    MINUTES,
    WITH_ID_NUMBERS,
    content,
    sources,
)

from .. import audit, cases
from ..auth import require_user
from ..errors import ApiError
from ..risks import visible_review
from . import ApiBlueprint

blp = ApiBlueprint("paper", __name__, url_prefix="/api",
                   description="文书（PDF）：协议书、告知书、回执、答复意见书、交办单、督办函、研判纪要、卷宗 — printed documents")

PDF_RESPONSE = {200: {"description": "PDF", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}
REVIEW_ROLES = ("township_mediator", "county_reviewer", "admin")


def _pdf(data: bytes, title: str, code: str) -> Response:
    name = f"{title}-{code}.pdf"
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"document.pdf\"; filename*=UTF-8''{quote(name)}"})


def _unknown_kind(kind: str) -> ApiError:
    return ApiError(404, "not_found", f"没有“{kind[:40]}”这种文书，可选：{'、'.join(CASE_DOCUMENTS)}",
                    f"no document kind {kind[:40]!r}; one of: {', '.join(CASE_DOCUMENTS)}")


def _audit_reveal(case_id: str, kind: str, reason: str | None, title: str) -> None:
    audit.record("parties_revealed", doc_id=case_id, detail={"reason": reason or f"打印{title}",
                                                            "document": kind})


@blp.get("/cases/<case_id>/documents")
@blp.response(200, DocumentListSchema)
def list_documents(case_id: str):  # type: ignore[no-untyped-def]
    """The case's documents: for each kind, whether it exists now (else why not), its
    URL, and whether it prints full ID numbers (then only for those who may see them).
    404 when the case does not exist or is outside your area."""
    user = require_user()
    case, home = cases.locate(case_id, user)
    facts = sources.case_facts(case, home)
    base = f"/api/cases/{case['_id']}"
    out = []
    for kind, (available, why_zh, why_en) in content.availability(facts).items():
        title_zh, title_en = CASE_DOCUMENTS[kind]
        out.append({"kind": kind, "title_zh": title_zh, "title_en": title_en, "available": available,
                    "reason_zh": why_zh, "reason_en": why_en, "url": f"{base}/documents/{kind}.pdf",
                    "id_numbers": kind in WITH_ID_NUMBERS})
    return {"case_id": case["_id"], "tracking_code": case["tracking_code"], "documents": out,
            "dossier_url": f"{base}/dossier.pdf"}


@blp.get("/cases/<case_id>/documents/<kind>.pdf")
@blp.arguments(DocumentArgsSchema, location="query")
@blp.doc(responses=PDF_RESPONSE)
def case_document(args: dict[str, Any], case_id: str, kind: str):  # type: ignore[no-untyped-def]
    """One document of the case as PDF. ``event`` picks an assignment (交办单) or a
    mediation (协议书), default the latest; ``stage`` the reminder stage of a 督办函,
    default the most urgent. The agreement prints full ID numbers: only for those who
    handle the case (403 otherwise), audited as a reveal with ``reason``.
    404 unknown kind or case not visible · 409 the case has no such document yet."""
    if kind not in CASE_DOCUMENTS:
        require_user()
        raise _unknown_kind(kind)
    title = CASE_DOCUMENTS[kind][0]
    user = require_user(*cases.REVEAL_ROLES) if kind in WITH_ID_NUMBERS else require_user()
    case, home = cases.locate(case_id, user)
    facts = sources.case_facts(case, home)
    choice: dict[str, Any] = {}
    if kind in ("assignment", "agreement") and args.get("event"):
        choice["event_id"] = args["event"]
    if kind == "supervision" and args.get("stage"):
        choice["stage"] = args["stage"]
    pdf = sources.case_document_pdf(kind, facts, **choice)  # NotAvailable: 409 (server.errors)
    if kind in WITH_ID_NUMBERS:
        _audit_reveal(case["_id"], kind, args.get("reason"), title)
    audit.record("document_issued", doc_id=case["_id"],
                 detail={"document": kind, **({"reason": args["reason"]} if args.get("reason") else {}),
                         **({"event": choice["event_id"]} if "event_id" in choice else {})})
    return _pdf(pdf, title, case["tracking_code"])


@blp.get("/cases/<case_id>/dossier.pdf")
@blp.arguments(DossierArgsSchema, location="query")
@blp.doc(responses=PDF_RESPONSE)
def dossier(args: dict[str, Any], case_id: str):  # type: ignore[no-untyped-def]
    """The case's 卷宗 as PDF: cover, catalogue, every document the case has, the
    timeline and the photos (attachments of the case). Prints full ID numbers: only for
    those who handle the case (403 otherwise), audited as a reveal. 404 case not visible."""
    user = require_user(*cases.REVEAL_ROLES)
    case, home = cases.locate(case_id, user)
    facts = sources.case_facts(case, home)
    pdf = sources.dossier_pdf(case, home, facts)
    _audit_reveal(case["_id"], "dossier", args.get("reason"), DOSSIER[0])
    audit.record("document_issued", doc_id=case["_id"], detail={"document": "dossier"})
    return _pdf(pdf, DOSSIER[0], case["tracking_code"])


@blp.get("/reviews/<review_id>/minutes.pdf")
@blp.doc(responses=PDF_RESPONSE)
def review_minutes(review_id: str):  # type: ignore[no-untyped-def]
    """研判会议纪要 of a review meeting as PDF, as ``GET /api/reviews/<id>`` shows it to
    you (a township mediator gets only the items of their township). 404 when none of
    it is visible to you."""
    user = require_user(*REVIEW_ROLES)
    review_id = review_id if review_id.startswith("review:") else f"review:{review_id}"
    doc = cases.county_db().get_or_none(review_id) if len(review_id) < 60 else None
    visible = visible_review(doc, user) if doc and doc.get("type") == "review" else None
    if visible is None:
        raise ApiError(404, "not_found", "未找到该研判记录", "review meeting not found")
    pdf = sources.minutes_pdf(visible)
    audit.record("document_issued", doc_id=doc["_id"], detail={"document": "minutes"})
    return _pdf(pdf, MINUTES[0], doc["held_on"])
