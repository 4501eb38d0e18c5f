"""fengqiao users add / import / list."""

from __future__ import annotations

import httpx
from apps import LiveServer
from click.testing import CliRunner

from server.cli import main


def _env(couch_url, prefix):
    return {"COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix, "FENGQIAO_COUNTY": "339901"}


def test_users_add_is_enough_for_a_client_to_sync(couch_url, couch, cleanup_prefix, make_app):
    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "wang.wei", "--role", "grid_worker",
                                  "--area", "339901003201001", "--password-stdin",
                                  "--display-name", "王伟"],
                           input="Grid2026pass\n", env=_env(couch_url, cleanup_prefix))
    assert result.exit_code == 0, result.output
    assert "/sync/wang.wei" in result.output
    # The township database, its replications and the public profile exist.
    township = couch.db(f"{cleanup_prefix}tw_339901003")
    profile = township.get("user:wang.wei")
    assert profile["display_name"] == "王伟" and "password_hash" not in profile
    with LiveServer(make_app()) as live:
        answer = httpx.get(f"{live.url}/sync/wang.wei/_all_docs", auth=("wang.wei", "Grid2026pass"))
    assert answer.status_code == 200
    assert [r["id"] for r in answer.json()["rows"]] == ["user:wang.wei"]


def test_users_add_rejects_weak_passwords_and_wrong_area_lengths(couch_url, cleanup_prefix):
    runner = CliRunner()
    env = _env(couch_url, cleanup_prefix)
    weak = runner.invoke(main, ["users", "add", "li.na", "--role", "grid_worker", "--area",
                                "339901003201001", "--password-stdin"], input="short\n", env=env)
    assert weak.exit_code == 1 and "password" in weak.output and "密码" in weak.output
    wrong = runner.invoke(main, ["users", "add", "li.na", "--role", "township_mediator", "--area",
                                 "339901003201001", "--password-stdin"], input="Good2026pass\n", env=env)
    assert wrong.exit_code == 1 and "9-digit" in wrong.output


def test_users_import_is_all_or_nothing_and_names_the_bad_row(couch_url, couch, cleanup_prefix, tmp_path):
    runner = CliRunner()
    env = _env(couch_url, cleanup_prefix)
    bad = tmp_path / "bad.csv"
    bad.write_text("username,role,area_codes,password,display_name\n"
                   "zhao.yi,grid_worker,339901001201001;339901001201002,Grid2026pass,赵一\n"
                   "qian.er,township_mediator,3399010,Grid2026pass,钱二\n", encoding="utf-8")
    result = runner.invoke(main, ["users", "import", str(bad)], env=env)
    assert result.exit_code == 1
    assert "bad.csv:3" in result.output and "area_codes" in result.output
    assert not couch.db(f"{cleanup_prefix}users_339901").exists() or \
        couch.db(f"{cleanup_prefix}users_339901").get_or_none("user:zhao.yi") is None

    good = tmp_path / "good.csv"
    good.write_text("username,role,area_codes,password,display_name\n"
                    "zhao.yi,grid_worker,339901001201001;339901001201002,Grid2026pass,赵一\n"
                    "qian.er,township_mediator,339901001,Grid2026pass,钱二\n", encoding="utf-8")
    result = runner.invoke(main, ["users", "import", str(good)], env=env)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["users", "list"], env=env)
    assert "zhao.yi" in listed.output and "qian.er" in listed.output
    again = runner.invoke(main, ["users", "import", str(good)], env=env)
    assert again.exit_code == 1 and "zhao.yi" in again.output  # exists: nothing imported
