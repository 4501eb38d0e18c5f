"""The ``fengqiao`` command line: one click group; each package
adds its own commands (``grid``, ``calendar``, ``bench`` …).

Every command is mounted lazily (``server/cli_plugins.py``): its module is imported when the
command runs or shows its own help, so ``fengqiao --help`` imports click and nothing else of
weight (issue 16: importing every command cost 1.4 s per invocation). Keep this module's
top-level imports light; ``tests/server/test_cli_imports.py`` checks it.

Errors: a command raises the error of its package (``GridError``, ``SyncError``,
``ServerError`` …) and :class:`FengqiaoGroup` — the one CLI translator — prints its message
in both languages with the exit code of its kind (``server.errors.KINDS``: 1 refused, 2
usage, 3 configuration, 4 unavailable, 5 failed), never a traceback.

Commands that need CouchDB use ``COUCHDB_URL`` when it is set, otherwise they start the
embedded pouchdb-server under ``FENGQIAO_HOME`` for their own duration, supervised (restarted
on the same URL if it dies) — or attach to the one a running ``fengqiao demo``/``serve``
already started there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import click

from .config import EMBEDDED_COUCH, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from sync.topology import Topology


@cache
def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def __getattr__(name: str) -> Any:
    """``from server.cli import console``: the rich console, made on first use (rich costs ~0.1 s)."""
    if name == "console":
        return _console()
    raise AttributeError(name)


class FengqiaoGroup(click.Group):
    """The one translator of errors for every ``fengqiao`` command (``grid``'s too): an error
    of any of the four families (or a file that cannot be read or written) becomes its
    message in both languages and its kind's exit code (``server.errors.cli_answer``),
    never a traceback. Anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors (exit 2), --help, Ctrl-C
        except Exception as exc:
            from .errors import cli_answer  # here: fengqiao --help stays light

            answer = cli_answer(exc)
            if answer is None:
                raise
            code, message = answer
            click.echo(message, err=True)
            sys.exit(code)


@click.group(cls=FengqiaoGroup, help="枫桥 fengqiao：网格化矛盾纠纷调处 / grid-based dispute mediation.")
@click.version_option(package_name="fengqiao")
def main() -> None:
    pass


@contextmanager
def couch_settings(**overrides: Any) -> Iterator[dict[str, Any]]:
    """Settings with a working ``COUCHDB_URL`` (embedded server started if needed)."""
    from sync.embedded import couchdb

    settings = load_settings({k: v for k, v in overrides.items() if v is not None})
    embedded = not settings["COUCHDB_URL"]
    # An embedded server this command starts is supervised (restarted if it dies) for as
    # long as the command runs: for serve and demo, that is gunicorn's arbiter process.
    with couchdb(settings["COUCHDB_URL"], settings["FENGQIAO_HOME"]) as url:
        settings["COUCHDB_URL"] = url
        settings[EMBEDDED_COUCH] = embedded  # /healthz then shows the supervisor's state
        yield settings


def topology_from(settings: dict[str, Any], townships: str | None) -> Topology:
    """The county's databases; township codes from ``--townships`` (comma-separated)."""
    from grid.codes import is_valid_code, is_within

    from .databases import topology_for

    codes = tuple(c.strip() for c in (townships or "").split(",") if c.strip())
    county = settings["FENGQIAO_COUNTY"]
    for code in codes:
        if not (is_valid_code(code, "township") and is_within(code, county)):
            raise click.BadParameter(
                f"乡镇代码 {code!r} 应为以县代码 {county} 开头的 9 位数字 / "
                f"township code {code!r} must be 9 digits starting with county code {county}",
                param_hint="--townships",
            )
    return topology_for(settings).with_townships(codes)


def _mount_commands() -> None:
    """Every command, this package's and the others', named here and imported when used."""
    from . import cli_plugins

    cli_plugins.mount(main)


_mount_commands()
