"""Audit records (``audit:<12-digit sequence number>``): who did what to which document,
from where.

Written by the server only, into the append-only audit database ``audit_<county>``
(``server.audit``); never synced to tablets and never edited. Each record is a link of a
hash chain (``seq``, ``prev_hash``, ``hash``: see ``server.audit``), so a change or a
deletion made directly in CouchDB is found by ``fengqiao audit verify``.
"""

from __future__ import annotations

import re

from marshmallow import fields, validate

from schemas.fields import JsonObject, Strict, Text, Timestamp

AUDIT_ID_RE = re.compile(r"^audit:(\d{12})$")
SHA256_HEX = r"[0-9a-f]{64}"

# What an audit record can say happened (``action``), with labels.
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "login": ("登录成功", "logged in"),
    "login_failed": ("登录失败", "login failed"),
    "login_refused_locked": ("账号锁定期间尝试登录", "login refused: account locked"),
    "login_throttled": ("登录失败过多，须稍后再试", "login refused: too many failures, must wait"),
    "login_delays_lifted": ("管理员解除登录限制", "an administrator lifted login delays"),
    "sync_login_failed": ("同步登录失败", "sync login failed"),
    "sync_write_refused": ("同步上传的记录被拒", "records pushed by sync were refused"),
    "logout": ("退出登录", "logged out"),
    "case_read": ("查看案件（个人信息已脱敏）", "read a case (personal data masked)"),
    "parties_revealed": ("查看当事人完整身份证号/电话（附原因）", "revealed parties' full ID numbers/phones (with reason)"),
    "case_created": ("登记案件", "created a case"),
    "case_updated": ("修改案件基本信息", "corrected a case's base record"),
    "event_created": ("记录案件事件", "added a case event"),
    "export": ("导出数据", "exported data"),
    "user_created": ("创建用户", "created a user"),
    "user_updated": ("修改用户角色/区域", "changed a user's role or areas"),
    "user_deactivated": ("停用用户", "deactivated a user"),
    "user_password_reset": ("重置密码", "reset a password"),
    "password_changed": ("修改本人密码", "changed one's own password"),
    "user_list": ("查看用户列表", "listed users"),
    "audit_read": ("查看审计日志", "read the audit log"),
    "risk_created": ("登记风险隐患", "registered a risk"),
    "risk_event_created": ("记录风险事件（研判、化解等）", "added a risk event (review, resolution …)"),
    "review_recorded": ("记录研判会议", "recorded a review meeting"),
    "unit_created": ("新增承办单位", "added a responsible unit"),
    "unit_updated": ("修改承办单位", "changed a responsible unit"),
    "conflict_read": ("查看冲突记录（含个人信息）", "read the conflict queue (personal data)"),
    "conflict_resolved": ("处理数据冲突", "resolved a data conflict"),
    "public_evaluation": ("群众评价（公开查询）", "public evaluation (tracking code)"),
    "document_issued": ("出具文书（PDF，含当事人姓名）", "issued a document (PDF, with parties' names)"),
}


class AuditSchema(Strict):
    """``audit:<seq>``: one audited action, one link of the chain."""

    meta_id = Text(data_key="_id", required=True, max_length=100, pattern=AUDIT_ID_RE.pattern.strip("^$"))
    meta_rev = Text(data_key="_rev", max_length=100)
    type = Text(required=True, max_length=16, pattern="audit")
    schema_version = fields.Integer(required=True, strict=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    prev_hash = Text(required=True, max_length=64, pattern=SHA256_HEX)
    hash = Text(required=True, max_length=64, pattern=SHA256_HEX)
    at = Timestamp(required=True)                  # server time
    action = Text(required=True, max_length=64, pattern=r"[a-z_]{1,64}")
    user = Text(required=True, max_length=64)      # username, or "-" when anonymous
    role = Text(max_length=32)
    doc_id = Text(max_length=300)
    detail = JsonObject(max_bytes=4096)
    remote_addr = Text(max_length=64)
    user_agent = Text(max_length=300)
    method = Text(max_length=10)
    path = Text(max_length=500)
