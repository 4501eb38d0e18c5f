"""Real PouchDB clients for the tests, on the project's one PouchDB driver
(``server/bench/pouch_driver.js``, driven by ``server.bench.pouch.PouchProcess``, the
class ``bench sync`` and the chaos tests use).

Each ``PouchNode`` is one Node process holding any number of in-memory PouchDB databases
(one per simulated tablet); requests are JSON lines, answered in order.
"""

from __future__ import annotations

import base64
import itertools
import shutil
from typing import Any

from server.bench.pouch import PouchProcess


class PouchNode(PouchProcess):
    """A :class:`PouchProcess` that hands out tablets and devices."""

    def __init__(self) -> None:
        assert shutil.which("node"), "node is needed for the PouchDB tests"
        super().__init__()
        self._devices = itertools.count(1)

    def tablet(self, name: str, url: str, username: str, password: str) -> Tablet:
        return Tablet(self, name, url, {"username": username, "password": password})

    def device(self, server_url: str, username: str, password: str) -> Tablet:
        """A fresh device of ``username`` syncing with ``{server_url}/sync/<username>``."""
        return self.tablet(f"device{next(self._devices)}", f"{server_url}/sync/{username}", username, password)


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
        return self.node.replicate(self.name, self.url, "push", self.auth, **opts)

    def pull(self, **opts: Any) -> dict[str, Any]:
        return self.node.replicate(self.name, self.url, "pull", self.auth, **opts)

    def destroy(self) -> None:
        self.node.call("destroy", db=self.name)
