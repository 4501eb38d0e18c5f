"""Code lists (the values stored in documents) with their Chinese and English labels.

Codes are stable English identifiers (stored, synced, used in SQL); labels are for people.
Change a label freely; never rename a code without a schema_version bump.

This module is the one vocabulary of the product: the tablet, the dashboard, public
tracking, exports and error messages all read their labels from here (JavaScript through
``/tablet/vocab.json`` and ``/dashboard/vocab.json``). ``tests/schemas/test_one_vocabulary.py``
fails when a screen or export keeps its own copy. Where the wording was contested, the
choice follows the wording of the product's source articles (受理, 办理, 办结, 化解, 查询;
quoted in docs/sources.md, "the sources" below) and the reason is given beside the table.
"""

from __future__ import annotations

# 来信 / 来访 / 电话 / 网上 / 网格员发现
CHANNELS: dict[str, tuple[str, str]] = {
    "letter": ("来信", "letter"),
    "visit": ("来访", "visit"),
    "phone": ("电话", "phone"),
    "online": ("网上", "online"),
    "grid_worker": ("网格员发现", "found by grid worker"),
}

CATEGORIES: dict[str, tuple[str, str]] = {
    "marriage_family": ("婚姻家庭", "marriage and family"),
    "neighbourhood": ("邻里纠纷", "neighbours"),
    "land_forest": ("土地山林", "land and forest"),
    "expropriation": ("征地拆迁", "land expropriation and demolition"),
    "labour": ("劳动争议", "labour dispute"),
    "contract_debt": ("合同债务", "contract and debt"),
    "property_management": ("物业管理", "property management"),
    "medical": ("医疗纠纷", "medical dispute"),
    "traffic": ("交通事故", "traffic accident"),
    "environment": ("环境污染", "environmental pollution"),
    "other": ("其他", "other"),
}

# 诉访分离: matters with a legal channel leave the petition track. "诉讼", not "诉讼（法院）"
# (the API's refusal used the longer form): the sources speak of 诉讼权利救济, and the route
# names a procedure, as 仲裁 and 行政复议 do, not the body that runs it.
LEGAL_ROUTES: dict[str, tuple[str, str]] = {
    "none": ("无", "none"),
    "court": ("诉讼", "court"),
    "arbitration": ("仲裁", "arbitration"),
    "administrative_review": ("行政复议", "administrative review"),
}

PARTY_ROLES: dict[str, tuple[str, str]] = {
    "applicant": ("申请人/信访人", "applicant / petitioner"),
    "respondent": ("被申请人", "respondent"),
    "other": ("其他当事人", "other party"),
}

# Where a matter was finally resolved (小事不出村、大事不出镇、矛盾不上交).
RESOLUTION_LEVELS: dict[str, tuple[str, str]] = {
    "grid": ("网格", "grid"),
    "village": ("村(社区)", "village"),
    "township": ("乡镇(街道)", "township"),
    "county": ("县(市、区)", "county"),
    "above": ("县级以上", "above county"),
}

# The level currently handling a case (a grid has no mediation body of its own).
CASE_LEVELS: dict[str, tuple[str, str]] = {
    "village": ("村(社区)", "village"),
    "township": ("乡镇(街道)", "township"),
    "county": ("县(市、区)", "county"),
    "above": ("县级以上", "above county"),
}

UNIT_TYPES: dict[str, tuple[str, str]] = {
    "functional": ("职能部门", "functional department"),
    "territorial": ("属地", "territorial unit"),
}

MEDIATION_OUTCOMES: dict[str, tuple[str, str]] = {
    "agreement": ("达成协议", "agreement reached"),
    "partial": ("部分达成", "partial agreement"),
    "no_agreement": ("未达成", "no agreement"),
}

# 人民调解 (people's mediation committees), 行政调解 (by an administrative organ), 司法调解
# (by a court) — the three of the 三调联动 the sources name.
MEDIATION_TYPES: dict[str, tuple[str, str]] = {
    "people": ("人民调解", "people's mediation"),
    "administrative": ("行政调解", "administrative mediation"),
    "judicial": ("司法调解", "judicial mediation"),
}

EVALUATIONS: dict[str, tuple[str, str]] = {
    "satisfied": ("满意", "satisfied"),
    "basically_satisfied": ("基本满意", "basically satisfied"),
    "dissatisfied": ("不满意", "dissatisfied"),
}

# Who gave an evaluation: the party themself (public tracking code: counts in 满意率/参评率)
# or the party's answer taken by staff on the phone (its own event kind, never counted as
# the party's own evaluation).
EVALUATION_SOURCES: dict[str, tuple[str, str]] = {
    "public": ("当事人评价", "evaluated by the party"),
    "phone": ("电话回访评价", "evaluation taken by phone"),
}

# A case's status (``server.domain.projection``; the read model's ``status`` column).
#   reported: "待受理", not "已登记" (the tablet's word): every case is registered, so
#     已登记 says nothing; the sources measure 及时受理率, and the status names the step
#     that is due next, as 已受理 and 已办结 name the step that was taken.
#   in_progress: "办理中", not "调处中" (the dashboard's word): the sources speak of 信访事项
#     办理 and 按期办理率 throughout; a case in progress may be with a department that
#     reports back (交办/反馈), not only in mediation; 调处 names the centre (矛盾纠纷调处
#     化解中心), not a case's stage.
CASE_STATUSES: dict[str, tuple[str, str]] = {
    "reported": ("待受理", "reported"),
    "accepted": ("已受理", "accepted"),
    "in_progress": ("办理中", "in progress"),
    "resolved": ("已化解", "resolved"),
    "closed": ("已办结", "closed"),
    "declined": ("不予受理", "declined"),
}

# The statuses of a case still open (the map's shading, "未结").
OPEN_CASE_STATUSES: tuple[str, ...] = ("reported", "accepted", "in_progress")

# Case events (``schemas.events``): what happened, as a timeline shows it. The event
# "closed" is the act (办结答复: the formal reply closes it); the status is 已办结.
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "accepted": ("受理", "accepted"),
    "declined": ("不予受理", "not accepted"),
    "assigned": ("交办", "assigned"),
    "feedback": ("反馈", "unit reported back"),
    "met": ("见面沟通/双签", "met the petitioner (double sign)"),
    "mediated": ("调解", "mediated"),
    "resolved": ("化解", "resolved"),
    "escalated": ("上交", "escalated"),
    "returned": ("退回", "returned"),
    "paused": ("挂起", "paused"),
    "resumed": ("恢复", "resumed"),
    "extended": ("延期", "deadline extended"),
    "closed": ("办结答复", "closed with formal reply"),
    "followed_up": ("回访", "followed up"),
    "evaluated": EVALUATION_SOURCES["public"],
    "evaluated_by_phone": EVALUATION_SOURCES["phone"],
    "review_requested": ("申请复查/复核", "review requested"),
    "review_decided": ("复查/复核意见", "review decided"),
    "commented": ("备注", "commented"),
}

# Deadline policies (``server.domain.policies.POLICY_TABLE`` has their rules) and the
# names of their rules.
POLICIES: dict[str, tuple[str, str]] = {
    "regulation": ("信访工作条例", "Regulation on Petition Work"),
    "520": ("“520”工作法", "520 method (accept in 5, close in 20)"),
    "green_channel": ("绿色通道", "green channel"),
    "double_sign": ("双签", "double sign"),
}
DEADLINE_RULES: dict[str, tuple[str, str]] = {
    "accept": ("受理告知", "decision on acceptance"),
    "close": ("办结", "closure"),
    "review": ("复查", "review"),
    "re_review": ("复核", "re-review"),
    "first_feedback": ("首次反馈", "first feedback"),
    "meet": ("见面沟通(双签)", "meet the petitioner"),
}

# 我的待办: the groups of a work list (``/api/todo``), most pressing first.
TODO_GROUPS: dict[str, tuple[str, str]] = {
    "to_accept": ("待受理", "awaiting acceptance"),
    "sent_up": ("上交本级", "sent up to my level"),
    "awaiting_feedback": ("待单位反馈", "awaiting units' feedback"),
    "overdue": ("逾期", "overdue"),
    "due_soon": ("临期（3 日内到期）", "due within 3 days"),
    "repeats": ("疑似重复访", "possible repeat visits"),
    "anomalies": ("记录异常", "records with anomalies"),
    "risks_due": ("风险临期/逾期", "risks due or overdue"),
    "reviews_due": ("待研判风险", "risks awaiting review"),
    "unit_pending": ("待本单位反馈", "awaiting my unit's feedback"),
    "unit_done": ("本单位已反馈", "reported back by my unit"),
}

# Single terms shown beside values.
#   tracking_code: "查询码", not "编号" or "受理编号" (the dashboard and the exports): the
#     code is printed on the receipt at registration, before any 受理, and the party uses
#     it to 查询 progress and evaluate (the sources: 所有渠道信访事项都能通过网络终端等进行查询);
#     编号 is also every document's ``_id``.
#   registered: the registration itself, first line of a timeline (the status is 待受理).
TERMS: dict[str, tuple[str, str]] = {
    "tracking_code": ("查询码", "tracking code"),
    "registered": ("登记", "registered"),
}

REVIEW_STAGES: dict[str, tuple[str, str]] = {
    "review": ("复查", "review"),
    "re_review": ("复核", "re-review"),
}

RISK_LEVELS: dict[str, tuple[str, str]] = {
    "ordinary": ("一般", "ordinary"),
    "serious": ("较大", "serious"),
    "major": ("重大", "major"),
}

# A risk's status in the register.
RISK_STATUSES: dict[str, tuple[str, str]] = {
    "open": ("未化解", "open"),
    "resolved": ("已化解", "resolved"),
}

# What happened to a risk (``schemas.risk``); 化解 and 备注 are the case events' words.
RISK_EVENT_KINDS: dict[str, tuple[str, str]] = {
    "screened": ("排查", "screened in a round"),
    "reviewed": ("研判", "reviewed"),
    "resolved": EVENT_KINDS["resolved"],
    "commented": EVENT_KINDS["commented"],
}

# Who held a 研判 meeting (``/api/reviews``): a township's mediation sub-centre or the county.
REVIEW_LEVELS: dict[str, tuple[str, str]] = {
    "township": ("乡镇研判", "township review"),
    "county": ("县级研判", "county review"),
}

# 三级隐患排查: the round (and so the level) that screened a risk.
SCREENING_ROUNDS: dict[str, tuple[str, str]] = {
    "village": ("村级排查", "village round"),
    "township": ("乡镇排查", "township round"),
    "county": ("县级排查", "county round"),
}

# "县级研判员", not "县级研判人员" (sync.users had the longer form): one pattern with 网格员
# and 调解员, and short enough for a badge.
ROLES: dict[str, tuple[str, str]] = {
    "grid_worker": ("网格员", "grid worker"),
    "township_mediator": ("乡镇调解员", "township mediator"),
    "county_reviewer": ("县级研判员", "county reviewer"),
    "admin": ("管理员", "administrator"),
    # An account of a 承办单位 (a functional department or a territorial unit): sees only
    # the cases assigned to its unit and records that unit's feedback (双交办双反馈).
    "unit_officer": ("承办单位人员", "unit officer"),
}

# The fields of the action forms (case events, units, review meetings), as forms label them.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "reason": ("理由", "reason"),
    "legal_route": ("法定途径（诉访分离）", "legal route"),
    "units": ("承办单位", "units"),
    "unit": ("承办单位", "unit"),
    "unit_id": ("承办单位", "unit"),
    "unit_type": ("单位类型", "unit type"),
    "content": ("反馈内容", "feedback"),
    "commitment_signed": ("已签双向承诺书", "two-way commitment signed"),
    "mediation_type": ("调解类型", "type of mediation"),
    "outcome": ("调解结果", "outcome"),
    "mediator": ("调解员", "mediators"),
    "terms": ("协议条款（每行一条）", "agreed terms, one per line"),
    "performance": ("履行方式与期限", "how and when performed"),
    "resolution_level": ("化解层级", "resolved at level"),
    "summary": ("化解情况", "summary"),
    "to_level": ("层级", "to level"),
    "rule": ("时限", "deadline"),
    "days": ("延长天数", "days added"),
    "reply": ("答复意见", "reply to the party"),
    "result": ("回访情况", "follow-up result"),
    "rating": ("评价", "rating"),
    "comment": ("意见", "comment"),
    "stage": ("阶段", "stage"),
    "decision": ("意见/决定", "decision"),
    "text": ("备注内容", "text"),
    "note": ("说明", "note"),
    "name": ("名称", "name"),
    "area_code": ("区划编码", "area code"),
    "active": ("启用", "active"),
    "contact": ("联系人/电话", "contact"),
    "held_on": ("会议日期", "meeting date"),
    "title": ("标题", "title"),
    "attendees": ("参会人员", "attendees"),
    "level": ("等级", "level"),
    "owner": ("责任人", "owner"),
    "due": ("化解时限", "resolve by"),
    "description": ("情况描述", "description"),
    "category": ("类别", "category"),
    "screening_round": ("排查层级", "screening round"),
    "lead_official": ("包案领导", "leader in charge"),
}

AREA_LEVELS: dict[str, tuple[str, str]] = {
    "county": ("县(市、区)", "county"),
    "township": ("乡镇(街道)", "township"),
    "village": ("村(社区)", "village"),
    "grid": ("网格", "grid"),
}

# Code length of each area level (GB/T 2260 county + 3 township + 3 village + 3 grid).
AREA_CODE_LENGTHS: dict[str, int] = {"county": 6, "township": 9, "village": 12, "grid": 15}

CRS: dict[str, tuple[str, str]] = {
    "wgs84": ("WGS84", "WGS84"),
    "cgcs2000": ("CGCS2000 国家大地坐标系", "CGCS2000"),
    "gcj02": ("GCJ-02 火星坐标", "GCJ-02"),
    "bd09": ("BD-09 百度坐标", "BD-09"),
}

NOTIFICATION_CHANNELS: dict[str, tuple[str, str]] = {
    "sms": ("短信", "SMS"),
    "in_app": ("应用内", "in app"),
    "wechat": ("微信", "WeChat"),
    "email": ("邮件", "e-mail"),
}

NOTIFICATION_STATUSES: dict[str, tuple[str, str]] = {
    "queued": ("待发送", "queued"),
    "sending": ("发送中", "sending"),
    "sent": ("已发送", "sent"),
    "failed": ("发送失败", "failed"),
    "cancelled": ("已取消", "cancelled"),
}

CONFLICT_STATUSES: dict[str, tuple[str, str]] = {
    "open": ("待处理", "open"),
    "resolved": ("已处理", "resolved"),
}

DAY_COUNTS: dict[str, tuple[str, str]] = {
    "calendar": ("自然日", "calendar days"),
    "working": ("工作日", "working days"),
}


def zh(table: dict[str, tuple[str, str]], code: str) -> str:
    """The Chinese label of ``code`` in ``table``, or the code itself when the table does
    not know it: an unknown code (a newer client's) stays visible instead of blank."""
    return table[code][0] if code in table else code
