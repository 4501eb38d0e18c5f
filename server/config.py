"""Settings: each declared once, with its environment variable, default and help.

Read from the environment (``COUCHDB_URL`` and ``FENGQIAO_*``); tests pass a mapping to
``create_app`` instead, and nothing patches globals. ``SETTINGS`` is the one list: the
README's configuration table is generated from it (``python -m server.config --readme``
rewrites it; ``tests/server/test_settings.py`` fails when it is stale), and the same
test fails when product code names a ``FENGQIAO_*`` variable that is not declared here.

Why one list: a setting read in one module with its own default, and documented in the
README with another, drifts — the help texts had already started to disagree.

Two settings are read outside this module, each for a reason given beside it:
``FENGQIAO_NODE_MODULES`` by ``sync.embedded`` (``sync`` never imports ``server``) and
``FENGQIAO_HOME`` by ``grid.versions.default_home`` (the ``grid`` CLI's default store).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError  # re-exported: settings errors are raised from here


@dataclass(frozen=True)
class Setting:
    """One setting. ``default`` is what the code uses when nothing sets it; ``shown``
    says it in words where it is computed at run time (``None`` is shown as "unset").
    ``from_env=False``: only the mapping given to ``create_app`` can set it (a value that
    is not text, such as the test clock); the environment is never read for it."""

    name: str
    default: Any
    help: str
    kind: type = str
    shown: str | None = None
    from_env: bool = True
    choices: tuple[str, ...] = ()  # the only values that work, checked by ``load_settings``

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "unset"
        if self.default == "":
            return "empty"
        if isinstance(self.default, float):
            return f"`{self.default:g}`"
        return f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    Setting("COUCHDB_URL", None,
            "Apache CouchDB 3.x URL with admin credentials; unset: start the embedded pouchdb-server"),
    Setting("FENGQIAO_HOME", "./var",
            "data directory: embedded CouchDB, boundary versions, statistics read model, logs"),
    Setting("FENGQIAO_ENV", "development",
            "`production` refuses insecure set-ups (CouchDB without admin credentials, no secret key)"),
    Setting("FENGQIAO_SECRET_KEY", None,
            "key that signs session cookies; required in production (`check-deploy`: ≥ 32 characters)",
            shown="random per start"),
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
            "statistics read model follower: `lazy` (the first request that needs it starts it), `eager` "
            "(started with the app), or `off` (each request applies pending changes itself: tests, tools)",
            choices=("lazy", "eager", "off")),
    Setting("FENGQIAO_STATS_PATH", None, "DuckDB file of the statistics read model",
            shown="`$FENGQIAO_HOME/stats.duckdb`"),
    Setting("FENGQIAO_STATS_SOCKET", None,
            "Unix socket of the process that owns the statistics read model (`fengqiao stats serve`); "
            "set, the server reads statistics there instead of opening the file itself. `serve --workers N` "
            "with N > 1 starts that process and sets this",
            shown="unset (in-process)"),
    Setting("FENGQIAO_TRACK_RATE_MAX", 30,
            "public tracking-code lookups allowed per address within `FENGQIAO_TRACK_RATE_WINDOW`", int),
    Setting("FENGQIAO_TRACK_RATE_WINDOW", 60.0,
            "seconds of the sliding window in which `FENGQIAO_TRACK_RATE_MAX` lookups are counted",
            float),
    Setting("FENGQIAO_PASSWORD_CHANGE", "production",
            "when an administrator's password must be changed at first login before anything else: "
            "`production` (with `FENGQIAO_ENV=production`), `always` or `never`"),
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
            "template of the same name ([docs/paper.md](docs/paper.md))"),
    Setting("FENGQIAO_NOTIFY_WORKER", "thread",
            "notification loop (feed of synced events, daily reminders, sending): `thread` runs it inside "
            "each `serve` process, `off` leaves it to `fengqiao worker`; several may run at once"),
    Setting("FENGQIAO_NOTIFY_INTERVAL", 15.0, "seconds between two passes of the notification loop", float),
    Setting("FENGQIAO_NOTIFY_REMINDER_HOUR", 8,
            "China hour from which the day's 临期/到期/逾期 reminders are queued (once a day)", int),
    Setting("FENGQIAO_NOTIFY_MAX_AGE_DAYS", 7.0,
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
            "SMS API address instead of the provider's public one (a government cloud's private endpoint)",
            shown="provider's"),
    Setting("FENGQIAO_REPORT_TARGETS", None,
            "the county's targets for 月报/季报 over the defaults (the source articles' targets, "
            "[docs/sources.md](docs/sources.md)), e.g. "
            "`satisfaction>=0.98,evaluation_rate>=80%,online_repeat_share<0.4`",
            shown="the sources' targets"),
    Setting("FENGQIAO_PARTY_KEY", None,
            "key of the keyed hashes (HMAC-SHA256) that stand for parties' ID numbers and name+phone "
            "in the statistics read model; unset: derived from FENGQIAO_SECRET_KEY in production, "
            "a random key kept in $FENGQIAO_HOME/party.key otherwise; changing it rebuilds the read model",
            shown="derived / `$FENGQIAO_HOME/party.key`"),
    # Read by sync.embedded.node_modules_dir (sync never imports server); declared here all the same.
    Setting("FENGQIAO_NODE_MODULES", None,
            "folder of the pinned npm packages (`npm ci`) from which the embedded pouchdb-server and "
            "the PouchDB driver of `bench sync`/`bench load` are started (`sync.embedded.node_modules_dir`; "
            "set it where the package is installed from a wheel); the tablet's and workbench's "
            "browser libraries are always read from the `node_modules` beside the sources",
            shown="`node_modules` beside the sources"),
    Setting("FENGQIAO_CLOCK", None,
            "the one clock (`server.clock.now`): a function returning the current aware datetime; "
            "only a mapping given to `create_app` sets it (tests), never the environment",
            shown="the system clock", from_env=False),
)


# Not a setting (no environment variable): the CLI sets it when it started or attached to
# the embedded pouchdb-server, so /healthz can show that server's supervision state.
EMBEDDED_COUCH = "EMBEDDED_COUCH"


def set_in_environment(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment sets ``name``: a command with a default of its own (the demo
    follows the read model eagerly) yields to what the operator set."""
    return name in (os.environ if environ is None else environ)


def password_change_enforced(settings: Mapping[str, Any]) -> bool:
    """Must a password an administrator set be changed at first login before anything
    else (API and sync)? ``FENGQIAO_PASSWORD_CHANGE``; the demo runs in development."""
    when = settings.get("FENGQIAO_PASSWORD_CHANGE", "production")
    return when == "always" or (when == "production" and settings.get("FENGQIAO_ENV") == "production")


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
        from_environ = environ.get(setting.name, setting.default) if setting.from_env else setting.default
        raw = overrides.get(setting.name, from_environ)
        if raw is not None and setting.kind in (int, float):
            try:
                raw = setting.kind(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"配置 {setting.name} 应为数字，实际为 {raw!r}",
                    f"setting {setting.name} must be a number, got {raw!r}",
                ) from exc
        if setting.choices and raw not in setting.choices:
            raise ConfigError(f"配置 {setting.name} 应为 {'、'.join(setting.choices)} 之一，实际为 {raw!r}",
                              f"setting {setting.name} must be one of {', '.join(setting.choices)}, got {raw!r}")
        values[setting.name] = raw
    if values.get("COUCHDB_URL"):
        from sync.couch import split_credentials

        try:
            split_credentials(str(values["COUCHDB_URL"]))
        except ValueError as exc:
            zh, _, en = str(exc).partition(" ; ")
            raise ConfigError(zh, en or zh) from None
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
    targets = report_targets_problem(values)  # a typo must not surface at month's end
    if targets is not None:
        raise targets
    if values["FENGQIAO_ENV"] == "production" and not values["FENGQIAO_SECRET_KEY"]:
        raise ConfigError(
            "生产环境必须设置 FENGQIAO_SECRET_KEY",
            "FENGQIAO_SECRET_KEY must be set in production",
        )
    if not values["FENGQIAO_SECRET_KEY"]:
        values["FENGQIAO_SECRET_KEY"] = secrets.token_hex(32)
    return values


def report_targets_problem(values: Mapping[str, Any]) -> ConfigError | None:
    """What is wrong with ``FENGQIAO_REPORT_TARGETS``; None when it reads. Checked when the
    settings load (``serve`` refuses to start) and by ``check-deploy``, so a mistyped
    target is found at deployment, not when the 月报 is due."""
    from server.reports.targets import parse_targets

    try:
        parse_targets(values.get("FENGQIAO_REPORT_TARGETS"))
    except ConfigError as exc:
        return exc
    return None


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


# -- the README's configuration table ------------------------------------------------------------

README_BEGIN = "<!-- settings: generated from server/config.py SETTINGS by `python -m server.config --readme`; edit there -->"
README_END = "<!-- end of settings -->"


def settings_table() -> str:
    """The configuration table in Markdown, one row per setting of ``SETTINGS``."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        meaning = s.help.replace("|", "\\|")
        rows.append(f"| `{s.name}` | {s.shown_default()} | {meaning} |")
    return "\n".join(rows) + "\n"


def readme_with_settings(readme: str) -> str:
    """``readme`` with the text between the two markers replaced by :func:`settings_table`.
    ValueError (both languages) when the markers are missing."""
    head, sep, rest = readme.partition(README_BEGIN + "\n")
    _, sep2, tail = rest.partition(README_END)
    if not (sep and sep2):
        raise ValueError("README 缺少配置表标记 / the README lacks the settings table markers: "
                         f"{README_BEGIN} … {README_END}")
    return f"{head}{README_BEGIN}\n{settings_table()}{README_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """``python -m server.config``: print the table; ``--readme [PATH]``: rewrite it in the
    README (default: the README.md of this source tree)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.stdout.write(settings_table())
        return 0
    if argv[0] != "--readme" or len(argv) > 2:
        sys.stderr.write("用法 / usage: python -m server.config [--readme [README.md]]\n")
        return 2
    path = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parents[1] / "README.md"
    text = path.read_text(encoding="utf-8")
    new = readme_with_settings(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
        sys.stdout.write(f"updated {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
