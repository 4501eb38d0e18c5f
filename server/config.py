"""Settings: each declared once, with its environment variable, default and help.

Read from the environment (``COUCHDB_URL`` and ``FENGQIAO_*``); tests pass a mapping to
``create_app`` instead, and nothing patches globals. The README's configuration table is
generated from ``SETTINGS`` and a test checks it stays complete.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("COUCHDB_URL", None,
            "Apache CouchDB 3.x URL with admin credentials; unset: start the embedded pouchdb-server"),
    Setting("FENGQIAO_HOME", "./var",
            "data directory: embedded CouchDB, boundary versions, statistics read model, logs"),
    Setting("FENGQIAO_ENV", "development",
            "`production` refuses insecure set-ups (CouchDB without admin credentials, no secret key)"),
    Setting("FENGQIAO_SECRET_KEY", None,
            "key that signs session cookies; required in production, random per start otherwise"),
    Setting("FENGQIAO_COUNTY", "339901",
            "6-digit county code (GB/T 2260) this installation serves"),
    Setting("FENGQIAO_DB_PREFIX", "",
            "prefix for every database name (tests use a random one; several counties may share a server)"),
    Setting("FENGQIAO_LOG_LEVEL", "INFO", "log level: DEBUG, INFO, WARNING, ERROR"),
    Setting("FENGQIAO_HOST", "127.0.0.1", "address `serve` and `demo` listen on"),
    Setting("FENGQIAO_PORT", 8000, "port `serve` and `demo` listen on", int),
    Setting("FENGQIAO_SESSION_TIMEOUT", 1800,
            "seconds of inactivity after which a login session ends", int),
    Setting("FENGQIAO_STATS_FOLLOW", "lazy",
            "statistics read model follower: lazy (first request starts it), eager, or off"),
    Setting("FENGQIAO_STATS_PATH", None,
            "DuckDB file of the statistics read model (default: $FENGQIAO_HOME/stats.duckdb)"),
    Setting("FENGQIAO_TRACK_RATE_MAX", 30,
            "public tracking-code lookups allowed per address per minute", int),
    Setting("FENGQIAO_PASSWORD_CHANGE", "production",
            "when an administrator's password must be changed at first login before anything else: "
            "`production` (with FENGQIAO_ENV=production), `always` or `never`"),
    Setting("FENGQIAO_SYNC_MAX_BODY_MB", 80,
            "largest sync request body in MB (413 beyond, refused before it is read)", int),
    Setting("FENGQIAO_API_MAX_BODY_MB", 16,
            "largest API request body in MB (413 beyond, refused before it is read)", int),
    Setting("FENGQIAO_TRUSTED_PROXIES", 0,
            "reverse proxies in front of the server whose `X-Forwarded-For`/`-Proto` are believed "
            "(1 behind nginx); 0: the connecting address is the client", int),
    Setting("FENGQIAO_PUBLIC_URL", None,
            "the address people and tablets use, e.g. `https://tiaojie.example.gov.cn`; "
            "`check-deploy` requires https"),
    Setting("FENGQIAO_PAPER_TEMPLATES", None,
            "folder of a county's own document templates (`.typ`); a file there replaces the packaged "
            "template of the same name (docs/paper.md)"),
    Setting("FENGQIAO_NOTIFY_WORKER", "thread",
            "notification loop (feed of synced events, daily reminders, sending): `thread` runs it inside "
            "each `serve` process, `off` leaves it to `fengqiao worker`; several may run at once"),
    Setting("FENGQIAO_NOTIFY_INTERVAL", 15, "seconds between two passes of the notification loop", float),
    Setting("FENGQIAO_NOTIFY_REMINDER_HOUR", 8,
            "China hour from which the day's 临期/到期/逾期 reminders are queued (once a day)", int),
    Setting("FENGQIAO_NOTIFY_MAX_AGE_DAYS", 7,
            "an event that arrives by sync more than this many days after it happened notifies nobody", float),
    Setting("FENGQIAO_SMS_PROVIDER", "log",
            "SMS gateway: `log` (write to the log only), `aliyun` (Aliyun SMS) or `tencent` (Tencent Cloud SMS)"),
    Setting("FENGQIAO_SMS_KEY_ID", None, "SMS provider AccessKey ID (Aliyun) or SecretId (Tencent)"),
    Setting("FENGQIAO_SMS_KEY_SECRET", None, "SMS provider AccessKey secret (Aliyun) or SecretKey (Tencent)"),
    Setting("FENGQIAO_SMS_SIGN_NAME", None, "approved SMS signature (短信签名), e.g. `某某县矛调中心`"),
    Setting("FENGQIAO_SMS_APP_ID", None, "Tencent Cloud SmsSdkAppId (Tencent only)"),
    Setting("FENGQIAO_SMS_REGION", "ap-guangzhou", "Tencent Cloud region of the SMS API (Tencent only)"),
    Setting("FENGQIAO_SMS_TEMPLATES", None,
            "approved SMS templates, `case.accepted=ID,case.assigned=ID,case.closed=ID,case.followed_up=ID`; "
            "each template has one variable, the tracking code (Aliyun `${code}`, Tencent `{1}`)"),
    Setting("FENGQIAO_SMS_ENDPOINT", None,
            "SMS API address instead of the provider's public one (a government cloud's private endpoint)"),
    Setting("FENGQIAO_REPORT_TARGETS", None,
            "the county's targets for 月报/季报, overriding the defaults, e.g. "
            "`timely_acceptance>=1,on_time_closure>=1,satisfaction>=0.98,evaluation_rate>=0.8,online_repeat_share<0.4`"),
    Setting("FENGQIAO_PARTY_KEY", None,
            "key of the keyed hashes (HMAC-SHA256) that stand for parties' ID numbers and name+phone "
            "in the statistics read model; unset: derived from FENGQIAO_SECRET_KEY in production, "
            "a random key kept in $FENGQIAO_HOME/party.key otherwise; changing it rebuilds the read model"),
)


# Not a setting (no environment variable): the CLI sets it when it started or attached to
# the embedded pouchdb-server, so /healthz can show that server's supervision state.
EMBEDDED_COUCH = "EMBEDDED_COUCH"


def password_change_enforced(settings: Mapping[str, Any]) -> bool:
    """Must a password an administrator set be changed at first login before anything
    else (API and sync)? ``FENGQIAO_PASSWORD_CHANGE``; the demo runs in development."""
    when = settings.get("FENGQIAO_PASSWORD_CHANGE", "production")
    return when == "always" or (when == "production" and settings.get("FENGQIAO_ENV") == "production")


class ConfigError(Exception):
    """A setting has a value that cannot work; ``message_zh``/``message_en`` say which."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None, *, strict: bool = True) -> dict[str, Any]:
    """Every setting, from defaults < environment < ``overrides``.

    ``strict=False`` (``fengqiao check-deploy``) returns the values as configured, without
    refusing a production set-up and without inventing a secret key, so every problem
    can be listed instead of the first one raised."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = overrides.get(setting.name, environ.get(setting.name, setting.default))
        if raw is not None and setting.kind in (int, float):
            try:
                raw = setting.kind(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"配置 {setting.name} 应为数字，实际为 {raw!r}",
                    f"setting {setting.name} must be a number, got {raw!r}",
                ) from exc
        values[setting.name] = raw
    for key, value in overrides.items():
        values.setdefault(key, value)
    values["FENGQIAO_HOME"] = str(Path(values["FENGQIAO_HOME"]).resolve())
    county = str(values["FENGQIAO_COUNTY"])
    if not (county.isdigit() and len(county) == 6):
        raise ConfigError(
            f"FENGQIAO_COUNTY 应为 6 位行政区划代码，实际为 {county!r}（例：520381）",
            f"FENGQIAO_COUNTY must be a 6-digit county code, got {county!r} (e.g. 520381)",
        )
    if not strict:
        return values
    if values["FENGQIAO_ENV"] == "production" and not values["FENGQIAO_SECRET_KEY"]:
        raise ConfigError(
            "生产环境必须设置 FENGQIAO_SECRET_KEY",
            "FENGQIAO_SECRET_KEY must be set in production",
        )
    if not values["FENGQIAO_SECRET_KEY"]:
        values["FENGQIAO_SECRET_KEY"] = secrets.token_hex(32)
    return values


def party_key(settings: Mapping[str, Any]) -> bytes:
    """The key of parties' keyed hashes in the read model (``schemas.privacy.party_keys``).

    It must stay the same across restarts and processes (the CLI's ``stats rebuild`` and
    the server must agree, or repeat detection breaks), and it must not be stored with the
    read model it protects. So: ``FENGQIAO_PARTY_KEY``; else, in production, one derived
    from ``FENGQIAO_SECRET_KEY`` (required there); else (development) a random key kept
    in ``$FENGQIAO_HOME/party.key`` (mode 0600).
    """
    import hashlib
    import hmac

    if settings.get("FENGQIAO_PARTY_KEY"):
        return str(settings["FENGQIAO_PARTY_KEY"]).encode()
    if settings.get("FENGQIAO_ENV") == "production":
        return hmac.new(str(settings["FENGQIAO_SECRET_KEY"]).encode(), b"fengqiao party key",
                        hashlib.sha256).digest()
    path = Path(settings.get("FENGQIAO_HOME") or ".") / "party.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
