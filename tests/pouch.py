"""Drive real PouchDB clients (``tests/pouch_driver.js``) from pytest.

Each ``PouchNode`` is one Node process holding any number of in-memory PouchDB databases
(one per simulated tablet); requests are JSON lines, answered in order.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).with_name("pouch_driver.js")
ROOT = Path(__file__).resolve().parents[1]


class PouchError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(json.dumps(error, ensure_ascii=False))
        self.error = error


class PouchNode:
    def __init__(self) -> None:
        node = shutil.which("node")
        assert node, "node is needed for the PouchDB tests"
        self.proc = subprocess.Popen(
            [node, str(DRIVER)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1,
        )
        self._ids = itertools.count(1)
        self._devices = itertools.count(1)

    def call(self, op: str, **args: Any) -> Any:
        msg_id = next(self._ids)
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"id": msg_id, "op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("PouchDB driver exited")
        answer = json.loads(line)
        assert answer["id"] == msg_id
        if not answer["ok"]:
            raise PouchError(answer["error"])
        return answer["result"]

    def tablet(self, name: str, url: str, username: str, password: str) -> Tablet:
        return Tablet(self, name, url, {"username": username, "password": password})

    def device(self, server_url: str, username: str, password: str) -> Tablet:
        """A fresh device of ``username`` syncing with ``{server_url}/sync/<username>``."""
        return self.tablet(f"device{next(self._devices)}", f"{server_url}/sync/{username}", username, password)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Tablet:
    """One grid worker's device: a local PouchDB and the sync URL it replicates with."""

    def __init__(self, node: PouchNode, name: str, url: str, auth: dict[str, str]) -> None:
        self.node, self.name, self.url, self.auth = node, name, url, auth

    def put(self, doc: dict[str, Any]) -> dict[str, Any]:
        return self.node.call("put", db=self.name, doc=doc)

    def bulk(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.node.call("bulk", db=self.name, docs=docs)

    def get(self, docid: str, **opts: Any) -> dict[str, Any]:
        return self.node.call("get", db=self.name, docid=docid, opts=opts)

    def put_with_attachments(self, doc: dict[str, Any], attachments: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
        """Put ``doc`` with binary attachments ``{name: (content_type, bytes)}``."""
        atts = {name: {"content_type": ctype, "base64": base64.b64encode(data).decode()}
                for name, (ctype, data) in attachments.items()}
        return self.node.call("putWithAttachments", db=self.name, doc=doc, attachments=atts)

    def attachment(self, docid: str, name: str) -> tuple[bytes, dict[str, Any]]:
        """An attachment's bytes from the local database, and its stub (type, digest)."""
        got = self.node.call("getAttachment", db=self.name, docid=docid, name=name)
        return base64.b64decode(got.pop("base64")), got

    def ids(self) -> set[str]:
        rows = self.node.call("allDocs", db=self.name, opts={})["rows"]
        return {r["id"] for r in rows}

    def push(self, **opts: Any) -> dict[str, Any]:
        return self.node.call("replicate", db=self.name, url=self.url, auth=self.auth,
                              direction="push", opts=opts)

    def pull(self, **opts: Any) -> dict[str, Any]:
        return self.node.call("replicate", db=self.name, url=self.url, auth=self.auth,
                              direction="pull", opts=opts)

    def destroy(self) -> None:
        self.node.call("destroy", db=self.name)
