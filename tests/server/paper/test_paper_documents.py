"""Printed documents through the API: what each PDF says (names, dates, terms, tracking
code), that every character is drawn by the embedded font (no tofu), who may print which
document, and that printing is audited."""

from __future__ import annotations

import factories as f
import pdf_checks as pc
import pytest

from schemas import vocab
from server.audit import audit_db_name
from server.paper import CASE_DOCUMENTS

PDF = "application/pdf"


def get_pdf(client, url: str) -> bytes:  # type: ignore[no-untyped-def]
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.get_json(silent=True))
    assert r.mimetype == PDF
    assert r.headers["Cache-Control"] == "no-store"
    assert r.data.startswith(b"%PDF-")
    return r.data


def assert_printable(pdf: bytes, page: int = 0, qr: bool = True) -> None:
    """Every character has a glyph in the embedded font, fonts are embedded, and the
    page (the first) has ink where the heading, the text and the footer are."""
    assert pc.missing_glyphs(pdf) == set()
    assert pc.fonts(pdf) and all(pc.fonts(pdf).values())
    bands = pc.ink(pdf, page)
    assert bands[0] > 0.002 and bands[1] > 0.002, bands  # heading and first lines drew
    assert (bands[9] > 0.002) is qr, bands  # the footer: tracking code and QR code


def doc_url(case: dict, kind: str) -> str:
    return f"/api/cases/{case['_id']}/documents/{kind}.pdf"


@pytest.fixture(scope="module")
def closed(paper_cases):  # type: ignore[no-untyped-def]
    return paper_cases["closed"]


def test_receipt_acceptance_assignment_reply_carry_their_facts(paper_client, closed):  # type: ignore[no-untyped-def]
    mia = paper_client("mia")
    code = closed["tracking_code"]
    expected = {
        "receipt": ["回执", "王喆", "宅基地边界纠纷", "2026年11月20日", "邻里纠纷", "枫桥县东江镇东村东村第一网格",
                    "“520”工作法"],
        "acceptance": ["受理告知书", "王喆", "2026年11月20日", "依法受理"],
        "assignment": ["交办单", "东江镇司法所", "东村村民委员会", "双交办", "2026年11月21日", "陈书记",
                       "王喆与李堃因宅基地边界围墙发生争执"],
        "reply": ["答复意见书", "经调解双方已达成协议，围墙已拆除。", "2026年11月28日", "30日内"],
    }
    for kind, words in expected.items():
        pdf = get_pdf(mia, doc_url(closed, kind))
        text = pc.text(pdf)
        for word in [*words, code, vocab.TERMS["tracking_code"][0], "枫桥县东江镇",
                     f"tiaojie.example.gov.cn/track/{code}"]:
            assert word in text, (kind, word, text[:400])
        assert "330102199001011234" not in text, kind  # ID numbers only on the agreement
        assert_printable(pdf)


def test_agreement_has_parties_in_full_terms_performance_and_signature_blocks(paper_client, closed):  # type: ignore[no-untyped-def]
    text = pc.text(get_pdf(paper_client("mia"), doc_url(closed, "agreement")))
    for word in ["人民调解协议书", "东江镇人民调解委员会", "王喆", "330102199001011234", "东村12号", "李堃",
                 "330102198505051235", "王喆与李堃因宅基地边界围墙发生争执。",
                 "一、李堃于2026年12月10日前拆除越界部分围墙。", "二、王喆放弃其他赔偿请求。",
                 "由东村村民委员会监督履行。", "赵明理", "按指印", "（签名）", "司法确认", "2026年11月25日",
                 closed["tracking_code"]]:
        assert word in text, (word, text)
    assert text.count("（签名）") == 3  # each party (with a fingerprint box) and the mediator


def test_non_acceptance_names_the_legal_route(paper_client, paper_cases):  # type: ignore[no-untyped-def]
    case = paper_cases["declined"]
    pdf = get_pdf(paper_client("mia"), doc_url(case, "non_acceptance"))
    text = pc.text(pdf)
    for word in ["不予受理告知书", "孙淼", "属于民间借贷纠纷，应通过诉讼途径解决。", vocab.LEGAL_ROUTES["court"][0],
                 "人民法院", "2026年11月23日", case["tracking_code"]]:
        assert word in text, (word, text)
    assert_printable(pdf)


def test_supervision_letter_for_an_overdue_case_goes_up_a_level(paper_client, paper_cases):  # type: ignore[no-untyped-def]
    case = paper_cases["overdue"]
    pdf = get_pdf(paper_client("mia"), doc_url(case, "supervision"))
    text = pc.text(pdf)
    # 520: accepted on registration (11-01), closure due 20 days later (11-21); today 11-30.
    for word in ["督办函", "逾期问责", "2026年11月21日", "逾期9天", "周犇", "土地承包纠纷", "枫桥县东江镇东村",
                 "抄送枫桥县东江镇", case["tracking_code"]]:
        assert word in text, (word, text)
    assert_printable(pdf)
    r = paper_client("mia").get(doc_url(case, "supervision") + "?stage=due_soon")
    assert r.status_code == 409 and "临期提示" in r.get_json()["message_zh"]


def test_the_case_lists_which_documents_it_has(paper_client, paper_cases):  # type: ignore[no-untyped-def]
    body = paper_client("mia").get(f"/api/cases/{paper_cases['declined']['_id']}/documents").get_json()
    available = {d["kind"]: d["available"] for d in body["documents"]}
    assert available == {"receipt": True, "acceptance": False, "non_acceptance": True, "assignment": False,
                         "agreement": False, "reply": False, "supervision": False}
    assert set(available) == set(CASE_DOCUMENTS)
    entry = next(d for d in body["documents"] if d["kind"] == "agreement")
    assert entry["url"] == f"/api/cases/{paper_cases['declined']['_id']}/documents/agreement.pdf"
    assert entry["id_numbers"] is True and entry["reason_zh"] and entry["reason_en"]
    assert body["dossier_url"].endswith("/dossier.pdf")


def test_a_document_the_case_has_not_reached_is_409_in_both_languages(paper_client, paper_cases):  # type: ignore[no-untyped-def]
    r = paper_client("mia").get(doc_url(paper_cases["declined"], "agreement"))
    assert r.status_code == 409
    body = r.get_json()
    assert body["code"] == "not_available" and "协议" in body["message_zh"] and "agreement" in body["message_en"]
    r = paper_client("mia").get(doc_url(paper_cases["closed"], "contract"))
    assert r.status_code == 404 and r.get_json()["message_en"].startswith("no document kind")
    r = paper_client("mia").get(doc_url(paper_cases["closed"], "supervision") + "?stage=later")
    assert r.status_code == 422


def test_scope_and_roles_are_those_of_the_case_detail(paper_client, paper_cases, paper_app):  # type: ignore[no-untyped-def]
    closed = paper_cases["closed"]
    # Another township's mediator and a grid worker of another grid: the case does not exist.
    assert paper_client("noah").get(doc_url(closed, "receipt")).status_code == 404
    assert paper_client("bob").get(doc_url(closed, "receipt")).status_code == 404
    assert paper_client("noah").get(f"/api/cases/{closed['_id']}/dossier.pdf").status_code == 404
    # The grid worker of the case and the county reviewer may print it, agreement included.
    assert paper_client("alice").get(doc_url(closed, "agreement")).status_code == 200
    assert paper_client("rex").get(doc_url(closed, "receipt")).status_code == 200
    # An administrator sees the case but may not reveal ID numbers.
    assert paper_client("root").get(doc_url(closed, "receipt")).status_code == 200
    assert paper_client("root").get(doc_url(closed, "agreement")).status_code == 403
    assert paper_client("root").get(f"/api/cases/{closed['_id']}/dossier.pdf").status_code == 403
    # Anonymous: 401.
    assert paper_app.test_client().get(doc_url(closed, "receipt")).status_code == 401


def test_printing_is_audited_and_id_numbers_as_a_reveal(paper_client, paper_cases, couch, shared_site):  # type: ignore[no-untyped-def]
    closed = paper_cases["closed"]
    r = paper_client("rex").get(doc_url(closed, "agreement") + "?reason=当事人申请司法确认")
    assert r.status_code == 200
    audit = couch.db(audit_db_name(shared_site.prefix, f.COUNTY))
    rows = audit.all_docs(include_docs=True, descending=True, limit=10, startkey="audit:1",
                          endkey="audit:0")["rows"]
    mine = [row["doc"] for row in rows if row["doc"].get("user") == "rex" and row["doc"].get("doc_id") == closed["_id"]]
    actions: dict = {}
    for d in mine:  # newest first: the records of this request
        actions.setdefault(d["action"], d.get("detail"))
    assert actions["parties_revealed"] == {"reason": "当事人申请司法确认", "document": "agreement"}
    assert actions["document_issued"]["document"] == "agreement"


def test_the_dossier_files_every_document_the_timeline_and_the_photo(paper_client, paper_cases):  # type: ignore[no-untyped-def]
    closed = paper_cases["closed"]
    pdf = get_pdf(paper_client("mia"), f"/api/cases/{closed['_id']}/dossier.pdf")
    text = pc.text(pdf)
    for word in ["卷宗", "卷内目录", "回执", "受理告知书", "交办单", "人民调解协议书", "答复意见书", "办理过程", "照片",
                 "330102199001011234", "围墙现场.png", vocab.EVENT_KINDS["mediated"][0], "mia",
                 vocab.MEDIATION_OUTCOMES["agreement"][0], closed["tracking_code"]]:
        assert word in text, (word, text[:600])
    assert "不予受理告知书" not in text and "督办函" not in text
    assert pc.pages(pdf) >= 8
    assert_printable(pdf, page=2)  # the cover is mostly white; page 3 is the receipt
    # The last page holds the photo: red stripes drawn in the upper part of the page.
    pixels = pc.render(pdf, pc.pages(pdf) - 1, scale=0.5)
    assert (pixels[: pixels.shape[0] // 2] < 128).mean() > 0.05


def test_minutes_of_a_review_meeting(paper_client, paper_cases):  # type: ignore[no-untyped-def]
    overdue = paper_cases["overdue"]
    r = paper_client("rex").post("/api/reviews", json={
        "held_on": "2026-11-29", "title": "十一月矛盾纠纷研判会", "attendees": ["县委政法委 钱主任", "东江镇 陈书记"],
        "items": [{"case_id": overdue["_id"], "decision": "由东江镇包案化解，十日内办结。"}]},
        headers={"X-CSRF-Token": paper_client("rex").get_cookie("fq_csrf").value})
    assert r.status_code == 201, r.get_json()
    review_id = r.get_json()["review"]["_id"]
    pdf = get_pdf(paper_client("rex"), f"/api/reviews/{review_id}/minutes.pdf")
    text = pc.text(pdf)
    for word in ["研判会议纪要", "十一月矛盾纠纷研判会", "2026年11月29日", "县委政法委钱主任", "由东江镇包案化解，十日内办结。",
                 "土地承包纠纷", overdue["tracking_code"], "枫桥县"]:
        assert word in text, (word, text)
    assert_printable(pdf, qr=False)  # a meeting has no tracking code of its own
    # The township's mediator gets the minutes of their items; another township: 404.
    assert paper_client("mia").get(f"/api/reviews/{review_id}/minutes.pdf").status_code == 200
    assert paper_client("noah").get(f"/api/reviews/{review_id}/minutes.pdf").status_code == 404
    assert paper_client("alice").get(f"/api/reviews/{review_id}/minutes.pdf").status_code == 403
