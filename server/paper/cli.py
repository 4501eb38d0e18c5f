"""``fengqiao paper …``: print a case's documents, its 卷宗 or a review's minutes to PDF
from the command line, and copy the templates out for a county to edit.

The CLI acts as the installation itself (no account): it finds a case by id or tracking
code in any database of the county, and records each document in the audit log as user
``cli`` — a printed document with names and ID numbers is a read of personal data,
whoever asked for it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from server.errors import ServerError

from .content import CASE_DOCUMENTS, DOSSIER, MINUTES, WITH_ID_NUMBERS

CLI_USER = "cli"
OUTPUT = click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                      help="输出的 PDF 文件 / the PDF file to write.")


@click.group("paper", help="打印文书（PDF）：协议书、告知书、回执、交办单、督办函、纪要、卷宗 / printed documents (PDF).")
def paper_group() -> None:
    pass


@contextmanager
def _app() -> Iterator[Any]:
    from server.app import create_app
    from server.cli import couch_settings

    with couch_settings() as settings:
        settings["FENGQIAO_STATS_FOLLOW"] = "off"
        app = create_app(settings)
        with app.app_context():
            yield app


def _find_case(ref: str) -> tuple[dict[str, Any], Any]:
    """The case by id (``case:<uuid>`` or the uuid) or by tracking code, and its home database."""
    from server import cases

    ref = ref.strip()
    if len(ref) <= 12 and not ref.startswith("case:"):
        code = ref.upper()
        for db in [cases.county_db(), *cases.township_dbs()]:
            docs = [d for d in db.find({"tracking_code": code}, limit=2)["docs"] if d.get("type") == "case"]
            if docs:
                home = cases.home_db(docs[0]["area_code"])
                return home.get_or_none(docs[0]["_id"]) or docs[0], home
    else:
        case_id = cases.normalise_case_id(ref)
        for db in [cases.county_db(), *cases.township_dbs()]:
            doc = db.get_or_none(case_id) if len(case_id) <= 60 else None
            if doc and doc.get("type") == "case":
                home = cases.home_db(doc["area_code"])
                return home.get_or_none(case_id) or doc, home
    raise ServerError(f"未找到案件 {ref}（案件编号或查询码）", f"no case {ref} (give a case id or a tracking code)",
                      kind="not_found")


def _write(output: Path, make: Callable[[], bytes]) -> None:
    """Make the PDF and write it (a document the case lacks, or one that cannot be typeset,
    is a PaperError: fengqiao prints it)."""
    data = make()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    click.echo(f"已生成 / written: {output} ({len(data):,} bytes)")


@paper_group.command("document", help="打印案件文书 / print one document of a case. KIND: "
                     + ", ".join(f"{k} {v[0]}" for k, v in CASE_DOCUMENTS.items()))
@click.argument("case")
@click.argument("kind", type=click.Choice(list(CASE_DOCUMENTS)))
@OUTPUT
@click.option("--event", default=None, help="交办单/协议书：事件编号（默认最近一次）/ the assignment or mediation event.")
@click.option("--stage", type=click.Choice(["due_soon", "due", "overdue"]), default=None,
              help="督办函的阶段（默认最紧急）/ reminder stage of a supervision letter.")
@click.option("--reason", default=None, help="打印原因（写入审计日志）/ why (audited).")
def paper_document(case: str, kind: str, output: Path, event: str | None, stage: str | None,
                   reason: str | None) -> None:
    from server import audit

    from . import sources

    with _app():
        doc, home = _find_case(case)
        facts = sources.case_facts(doc, home)
        choice: dict[str, Any] = {"event_id": event} if event and kind in ("assignment", "agreement") else {}
        if stage and kind == "supervision":
            choice["stage"] = stage
        _write(output, lambda: sources.case_document_pdf(kind, facts, **choice))
        if kind in WITH_ID_NUMBERS:
            audit.record("parties_revealed", doc_id=doc["_id"], user=CLI_USER,
                         detail={"reason": reason or f"打印{CASE_DOCUMENTS[kind][0]}", "document": kind})
        audit.record("document_issued", doc_id=doc["_id"], user=CLI_USER, detail={"document": kind})


@paper_group.command("dossier", help="打印案件卷宗 / print a case's file (卷宗).")
@click.argument("case")
@OUTPUT
@click.option("--reason", default=None, help="打印原因（写入审计日志）/ why (audited).")
def paper_dossier(case: str, output: Path, reason: str | None) -> None:
    from server import audit

    from . import sources

    with _app():
        doc, home = _find_case(case)
        facts = sources.case_facts(doc, home)
        _write(output, lambda: sources.dossier_pdf(doc, home, facts))
        audit.record("parties_revealed", doc_id=doc["_id"], user=CLI_USER,
                     detail={"reason": reason or f"打印{DOSSIER[0]}", "document": "dossier"})
        audit.record("document_issued", doc_id=doc["_id"], user=CLI_USER, detail={"document": "dossier"})


@paper_group.command("minutes", help=f"打印{MINUTES[0]} / print the minutes of a review meeting.")
@click.argument("review")
@OUTPUT
def paper_minutes(review: str, output: Path) -> None:
    from server import audit, cases

    from . import sources

    with _app():
        review_id = review if review.startswith("review:") else f"review:{review}"
        doc = cases.county_db().get_or_none(review_id) if len(review_id) < 60 else None
        if not doc or doc.get("type") != "review":
            raise ServerError(f"未找到研判记录 {review}", f"no review meeting {review}", kind="not_found")
        _write(output, lambda: sources.minutes_pdf(doc))
        audit.record("document_issued", doc_id=review_id, user=CLI_USER, detail={"document": "minutes"})


@paper_group.command("templates", help="把文书模板复制到目录以便修改（再设 FENGQIAO_PAPER_TEMPLATES）/ "
                     "copy the templates into DIR to edit them (then set FENGQIAO_PAPER_TEMPLATES).")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="覆盖已有文件 / overwrite existing files.")
def paper_templates(directory: Path, force: bool) -> None:
    from .typeset import TEMPLATES

    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(TEMPLATES.glob("*.typ")):
        target = directory / path.name
        if target.exists() and not force:
            click.echo(f"跳过（已存在）/ skipped (exists): {target}")
            continue
        shutil.copyfile(path, target)
        click.echo(f"已复制 / copied: {target}")
    click.echo(f"修改后设置 FENGQIAO_PAPER_TEMPLATES={directory.resolve()} / then set "
               f"FENGQIAO_PAPER_TEMPLATES={directory.resolve()}")
