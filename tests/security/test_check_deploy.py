"""``fengqiao check-deploy`` refuses each insecure production setting and lists what passes."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from server.cli import main
from server.config import load_settings
from server.demo import DEMO_PASSWORD
from server.deploy import deploy_checks
from sync.users import UserStore

GRID = "339901001201001"


@pytest.fixture
def good_env(couch_url: str, cleanup_prefix: str) -> dict[str, str | None]:
    """A production configuration with nothing wrong but what the test server cannot give:
    the embedded test server has no admin credentials (Apache CouchDB runs have them)."""
    return {"FENGQIAO_ENV": "production", "FENGQIAO_SECRET_KEY": "9f" * 32,
            "FENGQIAO_PUBLIC_URL": "https://tiaojie.example.gov.cn", "FENGQIAO_TRUSTED_PROXIES": "1",
            "COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": cleanup_prefix, "FENGQIAO_COUNTY": "339901"}


def failures(env: dict[str, str | None]) -> set[str]:
    settings = load_settings(environ={k: v for k, v in env.items() if v is not None}, strict=False)
    return {c.name for c in deploy_checks(settings) if not c.ok}


def baseline(couch_url: str) -> set[str]:
    return set() if urlsplit(couch_url).password else {"couchdb_credentials"}


def run(env: dict[str, str | None]):  # type: ignore[no-untyped-def]
    full = {"COUCHDB_URL": None, "FENGQIAO_SECRET_KEY": None, "FENGQIAO_PUBLIC_URL": None,
            "FENGQIAO_TRUSTED_PROXIES": None, "FENGQIAO_ENV": None, "FENGQIAO_PASSWORD_CHANGE": None, **env}
    return CliRunner().invoke(main, ["check-deploy"], env=full)


def test_a_good_configuration_fails_only_where_the_test_server_lacks_credentials(good_env, couch_url):  # type: ignore[no-untyped-def]
    assert failures(good_env) == baseline(couch_url)
    result = run(good_env)
    assert "FENGQIAO_SECRET_KEY is set" in result.output and "public address uses HTTPS" in result.output
    assert result.output.count("✓ 通过 pass") >= 4
    assert result.exit_code == (1 if baseline(couch_url) else 0)


@pytest.mark.parametrize(("change", "problem", "text"), [
    ({"FENGQIAO_ENV": None}, "environment", "production needs production"),
    ({"FENGQIAO_SECRET_KEY": None}, "secret_key", "FENGQIAO_SECRET_KEY is missing"),
    ({"FENGQIAO_SECRET_KEY": "short"}, "secret_key", "shorter than 32 characters"),
    ({"FENGQIAO_PUBLIC_URL": None}, "tls", "not an https:// address"),
    ({"FENGQIAO_PUBLIC_URL": "http://tiaojie.example.gov.cn"}, "tls", "TLS reverse proxy"),
    ({"FENGQIAO_TRUSTED_PROXIES": "0"}, "trusted_proxies", "FENGQIAO_TRUSTED_PROXIES is 0"),
    ({"FENGQIAO_PASSWORD_CHANGE": "never"}, "password_change", "may be used for ever"),
    ({"COUCHDB_URL": None}, "couchdb_credentials", "embedded pouchdb-server is for development"),
    ({"FENGQIAO_REPORT_TARGETS": "happiness>=1"}, "report_targets", "cannot read 'happiness>=1'"),
])
def test_each_insecure_setting_is_refused_in_both_languages(good_env, couch_url, change, problem, text):  # type: ignore[no-untyped-def]
    env = {**good_env, **change}
    assert failures(env) == baseline(couch_url) | {problem}
    result = run(env)
    assert result.exit_code == 1
    assert text in result.output and "✗ 不通过 FAIL" in result.output
    assert "拒绝部署" in result.output and "checks failed" in result.output


def test_unreadable_report_targets_stop_the_server_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Not at month's end: the settings refuse them, naming the setting in both languages."""
    from server.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_settings({"FENGQIAO_REPORT_TARGETS": "satisfaction>=98%,happiness>=1",
                       "FENGQIAO_HOME": str(tmp_path)}, environ={})
    assert "FENGQIAO_REPORT_TARGETS" in caught.value.message_zh and "happiness" in caught.value.message_en
    assert load_settings({"FENGQIAO_REPORT_TARGETS": "satisfaction>=98%", "FENGQIAO_HOME": str(tmp_path)},
                         environ={})["FENGQIAO_REPORT_TARGETS"] == "satisfaction>=98%"


def test_couchdb_without_admin_credentials_is_refused(good_env, couch_url):  # type: ignore[no-untyped-def]
    parts = urlsplit(couch_url)
    bare = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port}", parts.path, "", ""))
    env = {**good_env, "COUCHDB_URL": bare}
    assert failures(env) == {"couchdb_credentials"}
    result = run(env)
    assert result.exit_code == 1 and "has no user and password" in result.output and "管理员凭据" in result.output


@pytest.mark.skipif("not __import__('os').environ.get('COUCHDB_URL')",
                    reason="needs Apache CouchDB with admin credentials (COUCHDB_URL)")
def test_accounts_with_the_demo_password_are_refused_and_named(good_env, couch, cleanup_prefix):  # type: ignore[no-untyped-def]
    store = UserStore(couch, cleanup_prefix, "339901")
    store.ensure_db()
    store.add("demo1", "grid_worker", [GRID], DEMO_PASSWORD)
    store.add("real1", "grid_worker", [GRID], "Another0password")
    assert failures(good_env) == {"demo_passwords"}
    result = run(good_env)
    assert result.exit_code == 1 and "demo1" in result.output and "real1" not in result.output


def test_the_demo_password_check_names_the_accounts(couch, couch_url, cleanup_prefix):  # type: ignore[no-untyped-def]
    """The same check on the embedded test server, called directly (it has no credentials)."""
    from server.deploy import _demo_passwords

    store = UserStore(couch, cleanup_prefix, "339901")
    store.ensure_db()
    store.add("demo1", "grid_worker", [GRID], DEMO_PASSWORD)
    store.add("real1", "grid_worker", [GRID], "Another0password")
    check = _demo_passwords(couch, store.db.name)
    assert not check.ok and "demo1" in check.message_en and "real1" not in check.message_en
    assert "演示密码" in check.message_zh
    store.add("demo1", "grid_worker", [GRID], "Changed0password", replace=True)
    assert _demo_passwords(couch, store.db.name).ok


def test_wrong_couchdb_credentials_are_refused(good_env, couch_url):  # type: ignore[no-untyped-def]
    parts = urlsplit(couch_url)
    wrong = urlunsplit((parts.scheme, f"nobody:wrong@{parts.hostname}:{parts.port}", parts.path, "", ""))
    env = {**good_env, "COUCHDB_URL": wrong}
    assert failures(env) == {"couchdb_reachable"}
    result = run(env)
    assert result.exit_code == 1 and "cannot check CouchDB with COUCHDB_URL" in result.output
    assert "401" in result.output and "wrong" not in result.output  # the password is never shown
