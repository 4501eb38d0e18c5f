"""``fengqiao paper``: documents by tracking code or case id, audited as user ``cli``."""

from __future__ import annotations

from pathlib import Path

import factories as f
import pdf_checks as pc
from click.testing import CliRunner

from server.cli import main


def run(args: list[str], couch_url: str, prefix: str, home: Path):  # type: ignore[no-untyped-def]
    env = {"COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix, "FENGQIAO_HOME": str(home),
           "FENGQIAO_COUNTY": f.COUNTY, "FENGQIAO_SECRET_KEY": "test-secret",
           "FENGQIAO_PUBLIC_URL": "https://tiaojie.example.gov.cn"}
    return CliRunner().invoke(main, ["paper", *args], env=env, catch_exceptions=False)


def test_paper_document_and_dossier_by_tracking_code(paper_cases, couch_url, shared_site, tmp_path):  # type: ignore[no-untyped-def]
    closed = paper_cases["closed"]
    out = tmp_path / "agreement.pdf"
    result = run(["document", closed["tracking_code"], "agreement", "-o", str(out)], couch_url, shared_site.prefix, tmp_path)
    assert result.exit_code == 0, result.output
    text = pc.text(out.read_bytes())
    assert "人民调解协议书" in text and "330102199001011234" in text and closed["tracking_code"] in text

    out = tmp_path / "dossier.pdf"
    result = run(["dossier", closed["_id"], "-o", str(out)], couch_url, shared_site.prefix, tmp_path)
    assert result.exit_code == 0, result.output
    assert "卷内目录" in pc.text(out.read_bytes())


def test_paper_refuses_what_does_not_exist_with_a_message(paper_cases, couch_url, shared_site, tmp_path):  # type: ignore[no-untyped-def]
    result = run(["document", "NOSUCHCODE", "receipt", "-o", str(tmp_path / "x.pdf")], couch_url, shared_site.prefix, tmp_path)
    assert result.exit_code == 1 and "未找到案件" in result.output and "no case" in result.output
    declined = paper_cases["declined"]
    result = run(["document", declined["_id"], "reply", "-o", str(tmp_path / "x.pdf")], couch_url, shared_site.prefix, tmp_path)
    assert result.exit_code == 1 and "尚未办结" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_paper_templates_copies_them_out_for_editing(tmp_path):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["paper", "templates", str(tmp_path / "tpl")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "tpl").glob("*.typ"))
    assert {"common.typ", "agreement.typ", "dossier.typ", "minutes.typ"} <= set(names)
    assert "FENGQIAO_PAPER_TEMPLATES" in result.output
