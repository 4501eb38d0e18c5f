"""The typesetting itself, without storage: a county's own template replaces ours, a broken
template is an error that says so, and the glyph check catches a character the embedded
font cannot draw (the check the document tests rely on)."""

from __future__ import annotations

from pathlib import Path

import pdf_checks as pc
import pytest

from server.paper import PaperError, typeset
from server.paper.content import cn_date, cn_datetime


def receipt_data(name: str = "王喆") -> dict:
    return {"kind": "receipt", "title": "回执", "tracking_code": "ABCD234567", "tracking_term": "查询码",
            "track_url": "https://x.example/track/ABCD234567", "issuer": "枫桥县东江镇", "printed_on": "2026年11月30日",
            "case": {"title": "宅基地边界纠纷", "registered_on": "2026年11月20日", "channel": "来访",
                     "category": "邻里纠纷", "area": "枫桥县东江镇", "policy": "信访工作条例"},
            "parties": [{"role": "申请人", "name": name, "id_number": "", "phone": "", "address": ""}],
            "deadlines": [], "received_on": "2026年11月20日 09:30", "handler": "mia"}


def test_a_countys_template_replaces_the_packaged_one(tmp_path: Path) -> None:
    own = (typeset.TEMPLATES / "receipt.typ").read_text("utf-8").replace("现出具回执", "特此回执，请留存")
    (tmp_path / "receipt.typ").write_text(own, "utf-8")
    text = pc.text(typeset.render("receipt.typ", receipt_data(), qr_url="u", override=tmp_path))
    assert "特此回执，请留存" in text and "现出具回执" not in text
    assert "现出具回执" in pc.text(typeset.render("receipt.typ", receipt_data(), qr_url="u"))


def test_a_broken_template_or_a_missing_folder_is_an_error_that_says_so(tmp_path: Path) -> None:
    (tmp_path / "receipt.typ").write_text('#import "common.typ": *\n#let document(d) = { header(d\n', "utf-8")
    with pytest.raises(PaperError) as broken:
        typeset.render("receipt.typ", receipt_data(), override=tmp_path)
    assert "receipt.typ" in broken.value.message_zh and "failed to typeset" in broken.value.message_en
    with pytest.raises(PaperError) as missing:
        typeset.render("receipt.typ", receipt_data(), override=tmp_path / "nowhere")
    assert "FENGQIAO_PAPER_TEMPLATES" in missing.value.message_en


def test_the_glyph_check_catches_a_character_the_font_lacks() -> None:
    fine = typeset.render("receipt.typ", receipt_data("王喆"), qr_url="u")
    assert pc.missing_glyphs(fine) == set()
    # U+20000 (CJK extension B) is not in Noto Serif SC: it prints as a tofu box.
    tofu = typeset.render("receipt.typ", receipt_data("王\U00020000"), qr_url="u")
    assert pc.missing_glyphs(tofu) != set()


def test_dates_are_written_the_chinese_way() -> None:
    assert cn_date("2026-11-20T23:30:00+00:00") == "2026年11月21日"  # China's date
    assert cn_datetime("2026-11-20T01:30:00+00:00") == "2026年11月20日 09:30"
    assert cn_date("2026-01-05") == "2026年1月5日"
    assert cn_date(None) == "" and cn_date("garbage") == ""
