"""Reading what a document needs from CouchDB, inside the app (API and CLI share it).

The case and its events are found by the caller (the API through ``cases.locate``, with
the caller's scope; the CLI by id): this module adds the names a document prints — areas
(``area:<code>`` in the county database) and people (display names of the accounts) — and
the photos (the case document's attachments), and turns it into a PDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import current_app, has_request_context, request

from server import cases
from server.domain.workdays import china_date
from sync.couch import Database

from . import content, typeset
from .qr import track_url

# Photo types Typst can place on a page; other attachments (HEIC, PDF) are listed by name.
PRINTABLE = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
# The tablet's photo of a signed 人民调解协议书, named after its mediation event
# (server/tablet/static/js/agreement.js).
SIGNED_AGREEMENT = re.compile(r"^agreement-.+\.jpg$")


def today() -> date:
    return china_date(cases.now())


def public_base() -> str:
    """The address people reach the server at: ``FENGQIAO_PUBLIC_URL``, else (in a
    request) the address this request came to, else the configured host and port."""
    configured = current_app.config.get("FENGQIAO_PUBLIC_URL")
    if configured:
        return str(configured)
    if has_request_context():
        return request.host_url
    return f"http://{current_app.config.get('FENGQIAO_HOST')}:{current_app.config.get('FENGQIAO_PORT')}"


def area_names(codes: Iterable[str]) -> dict[str, str]:
    """Area code → name for every prefix (county, township, village, grid) of ``codes``."""
    wanted = sorted({code[:n] for code in codes for n in (6, 9, 12, 15) if len(code) >= n})
    if not wanted:
        return {}
    docs = cases.county_db().find({"_id": {"$in": [f"area:{c}" for c in wanted]}},
                                  fields=["_id", "name"], limit=len(wanted))["docs"]
    return {d["_id"].split(":", 1)[1]: str(d.get("name") or "") for d in docs}


def people(usernames: Iterable[Any]) -> dict[str, str]:
    """Username → display name (the username itself for an account that is gone)."""
    store = current_app.extensions["sync_gateway"].users
    out: dict[str, str] = {}
    for name in {str(u) for u in usernames if u}:
        doc = store.get(name) if name != "public" else None
        out[name] = str((doc or {}).get("display_name") or name)
    return out


def case_facts(case: dict[str, Any], home: Database) -> content.CaseFacts:
    """Everything the documents of ``case`` (already found and checked) need."""
    events = cases.events_of(case, home)
    projection = cases.project(case, events)
    actors = [case.get("reported_by"), case.get("first_handler"), *(e.get("actor") for e in events)]
    return content.CaseFacts(case=case, events=events, projection=projection,
                             area_names=area_names([str(case["area_code"])]), people=people(actors),
                             track_url=track_url(public_base(), case["tracking_code"]), today=today())


def case_photos(case: Mapping[str, Any], home: Database) -> tuple[list[dict[str, str]], list[tuple[str, bytes]]]:
    """(captions for the template, files to write) of the case document's attachments.

    Files are renamed ``photo-<n>.<ext>``: an attachment's own name came from a device.
    """
    captions: list[dict[str, str]] = []
    files: list[tuple[str, bytes]] = []
    for n, (name, stub) in enumerate(sorted((case.get("_attachments") or {}).items()), 1):
        kind = str(stub.get("content_type", "")).split(";")[0].strip().lower()
        if kind in PRINTABLE:
            data, _ = home.get_attachment(case["_id"], name, rev=case.get("_rev"))
            file = f"photo-{n}.{PRINTABLE[kind]}"
            files.append((file, data))
            what = "签字协议书" if SIGNED_AGREEMENT.match(name) else "照片"
            captions.append({"file": file, "caption": f"{what} {n}：{name}"})
        else:
            captions.append({"file": "", "caption": f"附件 {n}：{name}（{kind or '未知类型'}，不能排版，见电子卷宗）"})
    return captions, files


def case_document_pdf(kind: str, facts: content.CaseFacts, **choice: Any) -> bytes:
    """One case document as PDF (:class:`content.NotAvailable` when the case has none)."""
    data = content.document(kind, facts, **choice)
    return typeset.render(f"{kind}.typ", data, qr_url=facts.track_url, override=_override())


def dossier_pdf(case: dict[str, Any], home: Database, facts: content.CaseFacts) -> bytes:
    captions, files = case_photos(case, home)
    return typeset.render("dossier.typ", content.dossier(facts, captions), qr_url=facts.track_url,
                          files=files, override=_override())


def minutes_pdf(review: Mapping[str, Any]) -> bytes:
    """研判会议纪要 of ``review`` as the reader may see it (already cut to their items)."""
    items = review.get("items", [])
    county = cases.county_db()
    codes: dict[str, str] = {}
    for item in items:
        if item.get("case_id"):
            doc = county.get_or_none(str(item["case_id"]))
            if doc and doc.get("tracking_code"):
                codes[str(item["case_id"])] = str(doc["tracking_code"])
    county_code = str(current_app.config["FENGQIAO_COUNTY"])
    names = area_names([str(i.get("area_code", "")) for i in items] + [county_code])
    data = content.minutes(review, area_names=names, people=people([review.get("recorded_by")]),
                           tracking_codes=codes, issuer=names.get(county_code, ""), today=today())
    return typeset.render("minutes.typ", data, override=_override())


def _override() -> str | None:
    return current_app.config.get("FENGQIAO_PAPER_TEMPLATES") or None
