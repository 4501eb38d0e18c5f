"""``fengqiao check-deploy``: does this configuration meet what production needs?

What 等保 2.0 level 3 and PIPL ask of an installation, checked where a program can check it
(the rest is in ``docs/deploy.md``): it runs as production, sessions are signed with a
real secret, initial passwords must be changed, people and tablets reach it only over TLS through a reverse proxy whose
forwarded client address is believed (so per-address limits and the audit log see the
client), CouchDB requires admin credentials and refuses anonymous callers, and no account
still has the published demo password. Every check is listed, passed or not, so one run
shows all that is left to do; any failure exits 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync.couch import CouchClient, mask_url, split_credentials
from sync.errors import SyncError
from sync.users import users_db_name

from .config import report_targets_problem
from .demo import DEMO_PASSWORD

MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Check:
    """One requirement: ``ok``, and what it means for a person (zh and en)."""

    name: str
    ok: bool
    message_zh: str
    message_en: str


def _check(name: str, ok: bool, passed: tuple[str, str], failed: tuple[str, str]) -> Check:
    return Check(name, ok, *(passed if ok else failed))


def deploy_checks(settings: Mapping[str, Any]) -> list[Check]:
    """Every check for ``settings`` (from ``load_settings(strict=False)``), in order."""
    checks = [
        _check("environment", settings["FENGQIAO_ENV"] == "production",
               ("FENGQIAO_ENV=production", "FENGQIAO_ENV=production"),
               (f"FENGQIAO_ENV 为 {settings['FENGQIAO_ENV']!r}，生产环境应为 production",
                f"FENGQIAO_ENV is {settings['FENGQIAO_ENV']!r}; production needs production")),
        _check("secret_key", len(settings["FENGQIAO_SECRET_KEY"] or "") >= MIN_SECRET_LENGTH,
               ("已设置会话签名密钥 FENGQIAO_SECRET_KEY", "FENGQIAO_SECRET_KEY is set"),
               (f"未设置 FENGQIAO_SECRET_KEY 或少于 {MIN_SECRET_LENGTH} 个字符（可用 `openssl rand -hex 32` 生成）",
                f"FENGQIAO_SECRET_KEY is missing or shorter than {MIN_SECRET_LENGTH} characters "
                "(make one with `openssl rand -hex 32`)")),
    ]
    change = settings.get("FENGQIAO_PASSWORD_CHANGE", "production")
    checks.append(_check(
        "password_change", change != "never",
        (f"管理员设置的初始密码须在首次登录时修改（FENGQIAO_PASSWORD_CHANGE={change}）",
         f"initial passwords set by an administrator must be changed at first login "
         f"(FENGQIAO_PASSWORD_CHANGE={change})"),
        ("FENGQIAO_PASSWORD_CHANGE=never：管理员设置的初始密码可一直使用",
         "FENGQIAO_PASSWORD_CHANGE=never: passwords an administrator set may be used for ever")))
    public = settings["FENGQIAO_PUBLIC_URL"] or ""
    checks.append(_check(
        "tls", urlsplit(public).scheme == "https" and bool(urlsplit(public).hostname),
        (f"对外地址使用 HTTPS：{public}", f"public address uses HTTPS: {public}"),
        ("FENGQIAO_PUBLIC_URL 未设置或不是 https:// 地址：须经 TLS 反向代理（nginx）对外提供服务",
         "FENGQIAO_PUBLIC_URL is unset or not an https:// address: serve through a TLS reverse proxy (nginx)")))
    proxies = settings["FENGQIAO_TRUSTED_PROXIES"]
    checks.append(_check(
        "trusted_proxies", proxies >= 1,
        (f"信任 {proxies} 层反向代理的 X-Forwarded-For（按来源地址限流、审计记录真实客户端）",
         f"X-Forwarded-For of {proxies} reverse prox{'y' if proxies == 1 else 'ies'} believed "
         "(per-address limits and the audit log see the client)"),
        ("FENGQIAO_TRUSTED_PROXIES 为 0：经 TLS 反向代理时所有请求都来自代理地址，按地址限流和审计失效（nginx 后面应为 1）",
         "FENGQIAO_TRUSTED_PROXIES is 0: behind the TLS proxy every request comes from its address, so "
         "per-address limits and the audit log cannot tell clients apart (1 behind nginx)")))
    targets = report_targets_problem(settings)
    checks.append(Check("report_targets", targets is None,
                        *(("月报/季报目标 FENGQIAO_REPORT_TARGETS 可以读取", "report targets (FENGQIAO_REPORT_TARGETS) read")
                          if targets is None else (targets.message_zh, targets.message_en))))
    checks += _couch_checks(settings)
    return checks


def _couch_checks(settings: Mapping[str, Any]) -> list[Check]:
    url = settings["COUCHDB_URL"]
    parts = urlsplit(url or "")
    has_credentials = bool(parts.username) and bool(parts.password)
    checks = [_check(
        "couchdb_credentials", has_credentials,
        (f"CouchDB 使用管理员凭据：{mask_url(url or '')}", f"CouchDB with admin credentials: {mask_url(url or '')}"),
        ("COUCHDB_URL 未设置（内置 pouchdb-server 仅供开发演示）或不含用户名和密码：生产环境应使用 "
         "Apache CouchDB 3.x 及管理员凭据",
         "COUCHDB_URL is unset (the embedded pouchdb-server is for development and demos) or has no "
         "user and password: production needs Apache CouchDB 3.x with admin credentials"))]
    if not has_credentials:
        return checks
    prefix, county = settings["FENGQIAO_DB_PREFIX"], settings["FENGQIAO_COUNTY"]
    users = users_db_name(prefix, county)
    try:
        with CouchClient(url) as client:
            roles = client.json("GET", "_session", params={"basic": "true"}).get("userCtx", {}).get("roles", [])
            checks.append(_check(
                "couchdb_admin", "_admin" in roles,
                ("COUCHDB_URL 的用户是 CouchDB 管理员", "the user of COUCHDB_URL is a CouchDB admin"),
                ("COUCHDB_URL 的用户不是 CouchDB 管理员（数据库按管理员专用设置）",
                 "the user of COUCHDB_URL is not a CouchDB admin (the databases are admin-only)")))
            # The accounts database if it exists (a missing one answers 404 to anyone), else the
            # list of databases (admin-only by default in CouchDB 3.x).
            target = users if client.db(users).exists() else "_all_dbs"
            anonymous = httpx.get(split_credentials(url)[0] + target, timeout=10)
            checks.append(_check(
                "couchdb_anonymous", anonymous.status_code in (401, 403),
                (f"CouchDB 拒绝匿名读取 {target}", f"CouchDB refuses anonymous reads of {target}"),
                (f"CouchDB 允许匿名读取 {target}（HTTP {anonymous.status_code}）：请关闭 admin party 并设置管理员",
                 f"CouchDB lets anonymous callers read {target} (HTTP {anonymous.status_code}): "
                 "end the admin party, set an admin")))
            checks.append(_demo_passwords(client, users))
    except (SyncError, httpx.HTTPError) as exc:
        zh, en = (exc.message_zh, exc.message_en) if isinstance(exc, SyncError) else (str(exc), str(exc))
        checks.append(Check("couchdb_reachable", False, f"无法用 COUCHDB_URL 检查 CouchDB：{zh}",
                            f"cannot check CouchDB with COUCHDB_URL: {en}"))
    return checks


def _demo_passwords(client: CouchClient, users_db: str) -> Check:
    """Accounts whose password is the demo password printed by ``fengqiao demo`` (argon2
    verify of each account: ~20 ms each)."""
    db = client.db(users_db)
    if not db.exists():
        return Check("demo_passwords", True, f"尚无账号数据库 {users_db}", f"no accounts database {users_db} yet")
    rows = db.all_docs(startkey="user:", endkey="user:\ufff0", include_docs=True)["rows"]
    hasher = PasswordHasher()
    weak = []
    for row in rows:
        try:
            if hasher.verify(str(row["doc"].get("password_hash", "")), DEMO_PASSWORD):
                weak.append(row["doc"].get("username", row["id"]))
        except (VerificationError, InvalidHashError):
            pass
    names = ", ".join(weak[:20]) + (" …" if len(weak) > 20 else "")
    return _check(
        "demo_passwords", not weak,
        (f"{len(rows)} 个账号均未使用演示密码", f"none of {len(rows)} accounts has the demo password"),
        (f"{len(weak)} 个账号仍使用演示密码（fengqiao demo 公开打印的密码）：{names}；请重置密码或停用",
         f"{len(weak)} accounts still have the demo password (printed by fengqiao demo): {names}; "
         "reset their passwords or deactivate them"))
