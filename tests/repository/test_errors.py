"""One error family per package, translated in one place each (issue 17).

* every exception class of the product descends from its package's root
  (``SchemaError``, ``GridError``, ``SyncError``, ``ServerError``) and names a kind of the
  one table (``server.errors.KINDS``);
* an error of any family that escapes a view is answered with its kind's status and both
  messages — an input problem never as 500, nothing as the old 503 ``sync_error``;
* ``fengqiao`` answers bad input or configuration with both messages and the kind's exit
  code, never a traceback.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import grid.errors as grid_errors
import schemas.errors as schema_errors
import server.errors as server_errors
import sync.errors as sync_errors
from server.cli import FengqiaoGroup, main
from server.errors import KINDS, ApiError, ServerError, answer_for, cli_answer

ROOTS = {"schemas": schema_errors.SchemaError, "grid": grid_errors.GridError,
         "sync": sync_errors.SyncError, "server": ServerError}

def _product_modules() -> list[str]:
    names = []
    for package in ROOTS:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return names


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for name in _product_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                found.append(cls)
    return found


def test_every_exception_class_descends_from_its_packages_root() -> None:
    classes = _exception_classes()
    assert len(classes) > 30  # the walk found the families
    strays = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes
                    if not issubclass(cls, ROOTS[cls.__module__.split(".")[0]]))
    assert strays == []  # no exemptions: the benchmarks' harness errors are ServerErrors too


def test_every_class_names_a_kind_of_the_one_table() -> None:
    wrong = sorted(f"{cls.__module__}.{cls.__qualname__}: {cls.kind!r}" for cls in _exception_classes()
                   if isinstance(getattr(cls, "kind", None), str) and cls.kind not in KINDS)
    assert wrong == []
    assert {ApiError(status, "x", "甲", "a").kind for status in (400, 401, 404, 409, 422, 500, 503)} <= set(KINDS)


def test_each_package_draws_its_tree_in_its_errors_module() -> None:
    for module, names in ((schema_errors, ["SchemaError", "DocumentInvalid"]),
                          (grid_errors, ["GridError", "InputError", "VersionError"]),
                          (sync_errors, ["SyncError", "CouchUnreachable", "BadBody", "NotAcceptable",
                                         "UserError", "ConflictError"]),
                          (server_errors, ["ServerError", "ApiError", "ConfigError", "ReadModelError",
                                           "AuditChainError", "BackupError", "PaperError", "NotAvailable",
                                           "PeriodError", "SendError", "BenchError", "PouchFailed",
                                           "SessionFailed"])):
        doc = module.__doc__ or ""
        assert "└──" in doc and all(name in doc for name in names), module.__name__
    for kind, row in KINDS.items():  # the table in server/errors.py's docstring is KINDS
        assert f"{kind} " in (server_errors.__doc__ or "") and str(row.status) in (server_errors.__doc__ or "")


# -- HTTP ----------------------------------------------------------------------------------------

def _examples() -> list[tuple[Exception, int, str]]:
    """(error, HTTP status, code) — one of each kind of problem a view may let through."""
    from schemas.errors import DocumentInvalid, FieldError
    from server.audit import AuditChainError
    from server.backup import BackupError
    from server.config import ConfigError
    from server.paper import NotAvailable, PaperError
    from server.readmodel import ReadModelError
    from server.reports import PeriodError
    from sync.conflicts import ConflictError
    from sync.users import UserError

    return [
        (UserError("password", "密码至少 10 位", "at least 10 characters"), 422, "validation_error"),
        (UserError("username", "用户 a 已存在", "user a exists already", kind="conflict"), 409, "conflict"),
        (ConflictError("冲突记录已被他人修改，请刷新", "the conflict record changed meanwhile"), 409, "conflict"),
        (grid_errors.BadCode("编码无效", "invalid code", file="a.geojson", feature=3, field="code"), 422,
         "validation_error"),
        (grid_errors.VersionError("边界版本 9 不存在", "boundary version 9 does not exist", kind="not_found"),
         404, "not_found"),
        (grid_errors.GridError("坐标无效", "invalid coordinate"), 422, "validation_error"),
        (DocumentInvalid([FieldError("channel", "取值无效", "invalid value")]), 422, "validation_error"),
        (PeriodError("月份应为 YYYY-MM", "month must be YYYY-MM"), 422, "validation_error"),
        (NotAvailable("该事项尚未办结", "the matter is not closed yet"), 409, "not_available"),
        (PaperError("缺少文书字体", "document fonts missing"), 503, "paper_failed"),
        (ConfigError("配置有误", "a setting is wrong"), 503, "misconfigured"),
        (ReadModelError("统计库被占用", "statistics database locked"), 503, "unavailable"),
        (AuditChainError("审计记录未能写入", "audit record not written"), 503, "unavailable"),
        (BackupError("备份目录不为空", "backup directory is not empty", kind="conflict"), 409, "conflict"),
        (sync_errors.BadBody("请求体须为 JSON 对象", "the body must be a JSON object"), 400, "bad_request"),
        (sync_errors.NotAcceptable(), 406, "not_acceptable"),
        (sync_errors.CouchUnreachable("http://127.0.0.1:1/", "refused"), 503, "couchdb_unreachable"),
        (sync_errors.couch_error(404, "not_found", "missing"), 404, "not_found"),
        (sync_errors.EmbeddedServerError("找不到 node", "node not found"), 503, "unavailable"),
    ]


@pytest.fixture
def raising_app(app):  # type: ignore[no-untyped-def]
    """The app with a route that raises whatever the test puts in ``app.config``."""
    def boom() -> Any:
        raise app.config["TEST_ERROR"]

    app.add_url_rule("/test-boom", "test_boom", boom)
    # An endpoint of the "sync" blueprint: answered in CouchDB's shape, like the gateway's routes.
    app.add_url_rule("/sync-test-boom", "sync.test_boom", boom)
    app.testing = False  # let the handlers answer, as in production
    return app


@pytest.mark.parametrize(("index"), range(len(_examples())))
def test_each_family_escaping_a_view_is_its_kinds_answer_in_both_languages(raising_app, index: int) -> None:
    error, status, code = _examples()[index]
    raising_app.config["TEST_ERROR"] = error
    response = raising_app.test_client().get("/test-boom")
    body = response.get_json()
    assert (response.status_code, body["code"]) == (status, code), type(error).__name__
    assert body["message_zh"] and body["message_en"] and body["message_zh"] != body["message_en"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_field_errors_reach_the_form(raising_app) -> None:
    from schemas.errors import DocumentInvalid, FieldError
    from sync.users import UserError

    client = raising_app.test_client()
    raising_app.config["TEST_ERROR"] = DocumentInvalid([FieldError("parties.0.phone", "手机号无效", "invalid phone")])
    assert client.get("/test-boom").get_json()["errors"] == {
        "parties.0.phone": [{"message_zh": "手机号无效", "message_en": "invalid phone"}]}
    raising_app.config["TEST_ERROR"] = UserError("password", "密码过于常见", "too common")
    body = client.get("/test-boom").get_json()
    assert body["errors"] == {"password": [{"message_zh": "密码过于常见", "message_en": "too common"}]}
    assert (body["message_zh"], body["message_en"]) == ("密码过于常见", "too common")


def test_under_sync_the_same_errors_take_couchdbs_shape(raising_app) -> None:
    client = raising_app.test_client()
    raising_app.config["TEST_ERROR"] = sync_errors.BadBody("请求体须为 JSON 对象", "the body must be a JSON object")
    response = client.get("/sync-test-boom")
    assert response.status_code == 400
    assert response.get_json() == {"error": "bad_request", "reason": "请求体须为 JSON 对象 / the body must be a JSON object"}
    raising_app.config["TEST_ERROR"] = sync_errors.couch_error(409, "conflict", "Document update conflict.")
    response = client.get("/sync-test-boom")
    assert (response.status_code, response.get_json()) == (409, {"error": "conflict", "reason": "Document update conflict."})
    raising_app.config["TEST_ERROR"] = sync_errors.CouchUnreachable("http://127.0.0.1:1/", "refused")
    response = client.get("/sync-test-boom")
    assert response.status_code == 503 and " / " in response.get_json()["reason"]
    assert "127.0.0.1" not in response.get_data(as_text=True)
    raising_app.config["TEST_ERROR"] = RuntimeError("secret internals")
    response = client.get("/sync-test-boom")
    assert response.status_code == 500 and "secret" not in response.get_data(as_text=True)
    assert response.get_json()["error"] == "internal_error"


def test_a_couchdb_error_passes_through_only_where_the_caller_can_act() -> None:
    assert answer_for(sync_errors.couch_error(412, "file_exists", "exists")).status == 412
    for status in (400, 401, 500):
        answer = answer_for(sync_errors.couch_error(status, "x", "secret reason"))
        assert (answer.status, answer.code) == (502, "couchdb_error") and "secret" not in answer.message_en
    assert answer_for(sync_errors.couch_error(400, "bad_request", "r"), sync=True).status == 400


# -- CLI -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("index"), range(len(_examples())))
def test_each_family_has_an_exit_code_and_both_messages(index: int) -> None:
    error, status, _ = _examples()[index]
    answer = cli_answer(error)
    assert answer is not None
    code, text = answer
    expected = {400: 1, 404: 1, 406: 1, 409: 1, 422: 1}.get(status)
    if expected is not None:
        assert code == expected, type(error).__name__
    else:
        assert code in (3, 4), type(error).__name__
    assert text.startswith("错误：") and "\nError: " in text


def test_the_exit_codes_are_the_documented_ones() -> None:
    assert {kind: row.exit_code for kind, row in KINDS.items()} == {
        "malformed": 1, "invalid": 1, "not_found": 1, "conflict": 1, "config": 3, "unavailable": 4,
        "failed": 5}
    doc = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
    text = doc.read_text(encoding="utf-8")
    for kind, row in KINDS.items():
        assert f"| `{kind}` |" in text and f"| {row.exit_code} |" in text


def test_an_unexpected_exception_keeps_its_traceback() -> None:
    """A bug is not dressed up as a message: its traceback is what a report needs."""
    group = FengqiaoGroup("t")

    @group.command("bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    @group.command("bad")
    def bad() -> None:
        raise ServerError("坏了", "broken", kind="invalid")

    result = CliRunner().invoke(group, ["bug"])
    assert isinstance(result.exception, RuntimeError)
    result = CliRunner().invoke(group, ["bad"])
    assert result.exit_code == 1 and "错误：坏了" in result.output and "Error: broken" in result.output


def _clean(result: Any) -> str:
    assert "Traceback" not in result.output
    assert "错误" in result.output and "Error" in result.output
    return result.output


def test_bad_input_to_commands_is_exit_1_with_both_languages(tmp_path: Path) -> None:
    runner = CliRunner()
    period = runner.invoke(main, ["report", "--month", "2026-13", "--area", "339901"])
    assert period.exit_code == 1 and "YYYY-MM" in _clean(period)
    version = runner.invoke(main, ["grid", "activate", "9", "--home", str(tmp_path / "grid"), "--commit"])
    assert version.exit_code == 1 and "version 9 does not exist" in _clean(version)
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    imported = runner.invoke(main, ["grid", "import", str(bad), "--home", str(tmp_path / "grid")])
    assert imported.exit_code == 1 and "bad.geojson" in _clean(imported)
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    templates = runner.invoke(main, ["paper", "templates", str(blocked / "sub")])
    assert templates.exit_code == 1 and "a-file" in _clean(templates)


@pytest.mark.parametrize(("env", "words"), [
    ({"FENGQIAO_COUNTY": "12"}, "FENGQIAO_COUNTY"),
    ({"FENGQIAO_REPORT_TARGETS": "happiness>=1"}, "FENGQIAO_REPORT_TARGETS"),
    ({"FENGQIAO_PORT": "eighty"}, "FENGQIAO_PORT"),
])
def test_bad_configuration_is_exit_3_with_both_languages(env: dict[str, str], words: str, tmp_path: Path) -> None:
    for args in (["stats", "status"], ["report", "--month", "2026-11", "--area", "339901"]):
        result = CliRunner().invoke(main, args, env={"FENGQIAO_HOME": str(tmp_path), **env})
        assert result.exit_code == 3, result.output
        assert words in _clean(result)


def test_click_usage_errors_stay_exit_2() -> None:
    result = CliRunner().invoke(main, ["report", "--area", "339901", "--month", "2026-11", "--quarter", "2026Q4"])
    assert result.exit_code == 2
    assert isinstance(click.UsageError("x"), click.ClickException)


def test_a_period_the_calendar_lacks_is_an_input_problem_not_a_500() -> None:
    """``0000-01`` matches YYYY-MM but names no month (schemathesis found it as a 500)."""
    from server.reports import PeriodError, month, quarter

    for make, text in ((month, "0000-01"), (month, "9999-12"), (quarter, "0000Q1")):
        with pytest.raises(PeriodError) as info:
            make(text)
        assert answer_for(info.value).status == 422
