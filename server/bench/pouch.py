"""Driving real PouchDB clients: ``pouch_driver.js`` (beside this module, shipped in the
wheel) in one Node process holding any number of in-memory PouchDB databases, one per
simulated tablet. Used by ``bench sync``, the chaos tests and, through ``tests/pouch.py``,
every test that syncs a real PouchDB.

Node finds ``pouchdb-node`` through ``NODE_PATH`` = :func:`sync.embedded.node_modules_dir`
(``FENGQIAO_NODE_MODULES``, else ``node_modules`` beside the sources), never through where
the script happens to sit, so an installed package works as a checkout does.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from sync.embedded import node_modules_dir

from .errors import BenchError, PouchFailed

DRIVER = Path(__file__).resolve().with_name("pouch_driver.js")
NEEDED = ("pouchdb-node", "pouchdb-adapter-memory")


class PouchProcess:
    """One Node process running :data:`DRIVER`; ``call`` is thread-safe (one command at a
    time, answers in order). ``node_modules``: the npm folder (default: the setting)."""

    def __init__(self, node_modules: Path | str | None = None) -> None:
        node = shutil.which("node")
        modules = node_modules_dir(node_modules)
        if node is None:
            raise BenchError("找不到 node，请安装 Node.js 20", "node not found on PATH: install Node.js 20",
                             kind="config")
        missing = [name for name in NEEDED if not (modules / name).is_dir()]
        if missing or not DRIVER.is_file():
            raise BenchError(
                f"找不到 {', '.join(missing) or DRIVER}：请在项目根目录运行 `npm ci`，或设置 FENGQIAO_NODE_MODULES",
                f"{', '.join(missing) or DRIVER} not found in {modules}: run `npm ci` in the project "
                "root, or set FENGQIAO_NODE_MODULES", kind="config")
        env = {**os.environ, "NODE_PATH": os.pathsep.join(
            p for p in (str(modules), os.environ.get("NODE_PATH", "")) if p)}
        self.proc = subprocess.Popen([node, str(DRIVER)], cwd=DRIVER.parent, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def call(self, op: str, **args: Any) -> Any:
        """Send one command and wait for its answer; raises :class:`PouchFailed` with
        PouchDB's error, :class:`BenchError` when the driver has exited."""
        with self._lock:
            msg_id = next(self._ids)
            assert self.proc.stdin and self.proc.stdout
            try:
                self.proc.stdin.write(json.dumps({"id": msg_id, "op": op, **args}) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                line = ""
            else:
                line = self.proc.stdout.readline()
        if not line:
            raise BenchError("PouchDB 驱动已退出", "the PouchDB driver exited", kind="unavailable")
        answer = json.loads(line)
        if answer.get("id") != msg_id:
            raise BenchError("PouchDB 驱动应答错位", f"the PouchDB driver answered {answer.get('id')} to {msg_id}")
        if not answer["ok"]:
            raise PouchFailed(answer["error"])
        return answer["result"]

    def replicate(self, db: str, url: str, direction: str, auth: dict[str, str] | None = None,
                  keep_alive: bool = False, **opts: Any) -> dict[str, Any]:
        """Replicate local ``db`` with ``url`` (``direction``: ``pull`` or ``push``); the
        result has PouchDB's figures, its errors and denials, and ``ms`` taken in Node.
        ``keep_alive``: keep connections open, as a browser does (node-fetch closes each)."""
        return self.call("replicate", db=db, url=url, auth=auth, direction=direction, opts=opts,
                         keepAlive=keep_alive)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> PouchProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
