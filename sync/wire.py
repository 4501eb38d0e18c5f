"""The gateway's wire format: CouchDB-shaped answers, strict JSON bodies, typed query
arguments.

Why typed arguments: the gateway forwards some arguments to CouchDB, and a value CouchDB
(or the embedded pouchdb-server) does not expect can fail a request deep inside it — or,
measured on pouchdb-server 4.2.0, end the whole server (``latest=true`` with a revision
the document does not have). So every endpoint names the arguments it understands, each
is parsed to its type here, a wrong value is a 400 with a reason in Chinese and English,
and only parsed values are ever forwarded. Arguments an endpoint does not name are
ignored, as CouchDB ignores them (PouchDB adds some, e.g. ``_nonce``), and never forwarded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, request

from .errors import BadBody

MAX_SAFE_INTEGER = 2**53 - 1  # beyond this JavaScript (PouchDB, pouchdb-server) loses digits
REV_RE = re.compile(r"^[1-9]\d{0,8}-[0-9a-f]{1,64}$")
SEQ_RE = re.compile(r"^(now|\d+|\d+-[A-Za-z0-9_\-]+)$")


def couch_json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype="application/json")


def couch_error(status: int, error: str, reason_zh: str, reason_en: str) -> Response:
    return couch_json({"error": error, "reason": f"{reason_zh} / {reason_en}"}, status)


# -- bodies -------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text[:20]}… is too large")
    return value


def _safe_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]}… is too large")
    return value


def parse_json(raw: bytes | str) -> Any:
    """Strict JSON: no NaN/Infinity, integers within JavaScript's safe range, bounded
    nesting. Anything else is a 400 here rather than an error deep inside CouchDB."""
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_int=_safe_int,
                          parse_float=_safe_float)
    except RecursionError as exc:
        raise BadBody("JSON 嵌套过深", "JSON nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"不是合法的 JSON：{exc}", f"not valid JSON: {exc}") from exc


def body() -> Any:
    """The request's JSON body (an empty body is ``{}``); malformed: 400, never a 500.
    The size limit (``request.max_content_length``) is enforced before anything is read."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    return parse_json(raw)


def object_body() -> dict[str, Any]:
    value = body()
    if not isinstance(value, dict):
        raise BadBody("请求体须为 JSON 对象", "the body must be a JSON object")
    return value


def str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadBody(f"{what} 须为字符串列表", f"{what} must be a list of strings")
    return value


def rev_list(value: Any, what: str) -> list[str]:
    revs = str_list(value, what)
    if not all(REV_RE.match(r) for r in revs):
        raise BadBody(f"{what} 中的版本号格式不正确", f"{what} holds a malformed revision")
    return revs


# -- query arguments ----------------------------------------------------------------------------

Parser = Callable[[str, str], Any]  # (name, raw text) -> value, or BadBody


def boolean(name: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise BadBody(f"参数 {name} 须为 true 或 false", f"parameter {name} must be true or false")
    return raw == "true"


def count(name: str, raw: str) -> int:
    """A non-negative integer within JavaScript's safe range."""
    if not raw.isdigit() or int(raw) > MAX_SAFE_INTEGER:
        raise BadBody(f"参数 {name} 须为非负整数", f"parameter {name} must be a non-negative integer")
    return int(raw)


def rev(name: str, raw: str) -> str:
    if not REV_RE.match(raw):
        raise BadBody(f"参数 {name} 的版本号格式不正确", f"parameter {name} is not a revision")
    return raw


def since(name: str, raw: str) -> str:
    if not SEQ_RE.match(raw):
        raise BadBody("since 须为序列号或 now", "since must be a sequence or 'now'")
    return raw


def json_value(name: str, raw: str) -> Any:
    try:
        return parse_json(raw)
    except BadBody as exc:
        raise BadBody(f"参数 {name}：{exc.message_zh}", f"parameter {name}: {exc.message_en}") from exc


def json_string(name: str, raw: str) -> str:
    value = json_value(name, raw)
    if not isinstance(value, str):
        raise BadBody(f"参数 {name} 须为 JSON 字符串", f"parameter {name} must be a JSON string")
    return value


def json_strings(name: str, raw: str) -> list[str]:
    return str_list(json_value(name, raw), name)


def json_revs(name: str, raw: str) -> list[str]:
    return rev_list(json_value(name, raw), name)


def open_revs(name: str, raw: str) -> str | list[str]:
    return "all" if raw == "all" else json_revs(name, raw)


def one_of(*choices: str) -> Parser:
    def parse(name: str, raw: str) -> str:
        if raw not in choices:
            raise BadBody(f"参数 {name} 须为 {' / '.join(choices)} 之一",
                          f"parameter {name} must be one of {', '.join(choices)}")
        return raw
    return parse


def heartbeat(name: str, raw: str) -> int | bool:
    return True if raw == "true" else count(name, raw)


def args(spec: Mapping[str, Parser]) -> dict[str, Any]:
    """The request's query arguments that ``spec`` names, each parsed to its type.
    A repeated argument is refused (which value would CouchDB take?)."""
    out: dict[str, Any] = {}
    for name, parse in spec.items():
        values = request.args.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            raise BadBody(f"参数 {name} 重复", f"parameter {name} is given more than once")
        out[name] = parse(name, values[0])
    return out
