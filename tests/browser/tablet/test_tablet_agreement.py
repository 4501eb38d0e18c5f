"""The 人民调解协议书 on the tablet: a grid worker records a mediation that reached an
agreement with its terms, shows the agreement to the parties in large type offline,
photographs the signed paper, and the photo reaches the server as an attachment of the
case (the workbench shows it; the printed agreement carries the terms typed on the tablet)."""

from __future__ import annotations

import factories as f
from tabletpage import login
from testenv import login as api_login
from testenv import poll

from schemas import validate_document

TERMS = ["李四于2026年12月10日前拆除越界围墙。", "张三放弃其他赔偿请求。"]


def test_agreement_shown_offline_and_the_signed_copy_photographed_back(
        page, live, sync_app, township_db, artifacts):
    kase = f.case(f.GRID_A, "alice", description="两户村民因宅基地边界围墙发生争执。",
                  parties=[{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}])
    township_db.save(kase)
    login(page, live.url)
    page.context.set_offline(True)
    page.wait_for_selector('#netbar[data-net="offline"]')
    page.click(f'#caselist [data-id="{kase["_id"]}"]')
    page.click('[data-action="mediated"]')
    page.select_option("#eventform [name=outcome]", "agreement")
    page.fill("#eventform [name=mediator]", "赵明理")
    page.fill("#eventform [name=terms]", "1. " + TERMS[0] + "\n\n2、" + TERMS[1])
    page.fill("#eventform [name=performance]", "由村民委员会监督履行。")
    page.click("#eventform button[type=submit]")
    page.wait_for_selector('#agreements [data-signed="0"]')

    # The agreement for the parties to read: from the event on the device, in large type.
    page.click("#agreements a.button")
    page.wait_for_selector("#agreement [data-terms]")
    assert page.eval_on_selector_all("#agreement [data-terms] li", "ls => ls.map(l => l.textContent)") == TERMS
    text = page.inner_text("#agreement")
    assert "人民调解协议书" in text and "张三" in text and "李四" in text and "由村民委员会监督履行" in text
    # Found and measured in one script turn: the view may render again between a query and a
    # later evaluation, and a detached element has no computed style (NaN).
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#agreement [data-terms] li')).fontSize)")
    assert size >= 24, size  # large type for the parties
    page.screenshot(path=artifacts / "tablet-agreement.png", full_page=True)

    # Photograph the signed paper (a stand-in image): stored on the case, offline.
    page.set_input_files("#signedphoto", files=[{"name": "signed.png", "mimeType": "image/png",
                                                 "buffer": page.screenshot()}])
    page.wait_for_selector('#signedcopy [data-signed="1"] img.photo')
    assert page.get_attribute("#signedcopy [data-sync]", "data-sync") == "local"
    event_id = page.get_attribute("#agreement", "data-event")
    name = f"agreement-{event_id.rsplit(':', 1)[-1]}.jpg"

    page.context.set_offline(False)
    page.wait_for_selector('#signedcopy [data-sync="synced"]', timeout=60_000)
    stored = poll(lambda: (lambda d: d if name in (d or {}).get("_attachments", {}) else None)(
        township_db.get_or_none(kase["_id"])), timeout=60)
    assert stored["_attachments"][name]["content_type"] == "image/jpeg"
    assert validate_document(stored) == [] and stored["reported_by"] == "alice"
    mediated = poll(lambda: township_db.get_or_none(event_id), timeout=60)
    assert mediated["terms"] == TERMS and mediated["outcome"] == "agreement"

    # The workbench (the case's attachments) and the printed agreement.
    mia = sync_app.test_client()
    assert api_login(mia, "mia", f.PASSWORD).status_code == 200
    photo = mia.get(f"/api/cases/{kase['_id']}/attachments/{name}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data[:2] == b"\xff\xd8"
    assert name in mia.get(f"/api/cases/{kase['_id']}").get_json()["case"]["_attachments"]
    pdf = mia.get(f"/api/cases/{kase['_id']}/documents/agreement.pdf")
    assert pdf.status_code == 200
    from pdf_checks import text as pdf_text

    printed = pdf_text(pdf.data)
    assert all(term in printed for term in TERMS)
