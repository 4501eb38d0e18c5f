// Building documents exactly as schemas/ says (case.py, events.py, risk.py, ids.py), and
// validating them on the tablet with the same limits, so a worker learns of a mistake at
// once instead of after the next sync. The gateway still decides; its refusals are shown.
import { termsProblem } from './agreement.js';

const TRACKING_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';
const MOBILE_RE = /^1[3-9]\d{9}$/;
const LANDLINE_RE = /^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$/;

function randomHex(bytes) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const h = randomHex(16).split('');
  h[12] = '4';
  h[16] = '89ab'[parseInt(h[16], 16) & 3];
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** ISO 8601 with the device's own UTC offset, e.g. 2026-11-23T09:30:00.123+08:00. */
export function nowIso(d = new Date()) {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** <utc yyyymmddThhmmss.fffZ>-<8 hex> (schemas.ids.time_sortable_id). */
export function timeSortableId(d = new Date()) {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.` +
    `${pad(d.getUTCMilliseconds(), 3)}Z-${randomHex(4)}`;
}

function checkChar(body) {
  let total = 0;
  for (let i = 0; i < body.length; i++) total += (i + 1) * TRACKING_ALPHABET.indexOf(body[i]);
  return TRACKING_ALPHABET[total % TRACKING_ALPHABET.length];
}

export function newTrackingCode() {
  const a = new Uint8Array(9);
  crypto.getRandomValues(a);
  // 31 symbols: rejection-free modulo bias is negligible for a public lookup code.
  const body = Array.from(a, (b) => TRACKING_ALPHABET[b % 31]).join('');
  return body + checkChar(body);
}

export function idNumberProblem(value) {
  if (!/^\d{17}[\dX]$/.test(value)) return '身份证号须为 17 位数字加 1 位数字或大写 X';
  const y = +value.slice(6, 10), m = +value.slice(10, 12), d = +value.slice(12, 14);
  const born = new Date(Date.UTC(y, m - 1, d));
  if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d ||
      y < 1880 || born > new Date()) return '身份证号中的出生日期无效';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += +value[i] * ID_WEIGHTS[i];
  if (ID_CHECK[sum % 11] !== value[17]) return '身份证号校验位不正确，请核对';
  return null;
}

export const isValidPhone = (v) => MOBILE_RE.test(v) || LANDLINE_RE.test(v);

/** Collects field errors: errors.add(field, message); errors.ok. */
export class Errors {
  constructor() { this.map = {}; }
  add(field, msg) { (this.map[field] ||= []).push(msg); }
  get ok() { return Object.keys(this.map).length === 0; }
}

export function checkText(errors, field, value, { required = false, max }) {
  const text = value ?? '';
  if (!text.trim()) {
    if (required) errors.add(field, '此项必填 / required');
    return;
  }
  if (text.length > max) errors.add(field, `长度不能超过 ${max} 个字符（现 ${text.length}）`);
}

export function checkLocation(errors, field, loc) {
  if (!loc) return;
  if (!(loc.lon >= 73 && loc.lon <= 136)) errors.add(field, '经度须在 73 到 136 之间（中国境内）');
  if (!(loc.lat >= 3 && loc.lat <= 54)) errors.add(field, '纬度须在 3 到 54 之间（中国境内）');
}

export function checkParty(errors, i, p, limits) {
  const f = (name) => `parties.${i}.${name}`;
  if (!p.role) errors.add(f('role'), '请选择当事人身份');
  checkText(errors, f('name'), p.name, { required: true, max: limits.name });
  if (p.id_number) {
    const problem = idNumberProblem(p.id_number);
    if (problem) errors.add(f('id_number'), problem);
  }
  if (p.phone && !isValidPhone(p.phone)) {
    errors.add(f('phone'), '电话号码格式不正确（手机 11 位，座机须带区号）');
  }
}

/** case:<uuid> (schemas/case.py). Empty optional fields are left out, never sent as "". */
export function buildCase(form, session) {
  const doc = {
    _id: `case:${uuid4()}`, type: 'case', schema_version: 1,
    area_code: form.area_code, tracking_code: newTrackingCode(),
    channel: form.channel, category: form.category,
    description: form.description.trim(),
    parties: form.parties.map((p) => {
      const party = { role: p.role, name: p.name.trim() };
      if (p.id_number) party.id_number = p.id_number;
      if (p.phone) party.phone = p.phone;
      return party;
    }),
    reported_by: session.username, first_handler: session.username,
    created_at: nowIso(), policy: form.policy,
  };
  if (form.title && form.title.trim()) doc.title = form.title.trim();
  if (form.location) doc.location = { lon: form.location.lon, lat: form.location.lat, crs: 'wgs84' };
  return doc;
}

export function validateCase(form, vocab) {
  const e = new Errors();
  const L = vocab.limits;
  if (!form.area_code) e.add('area_code', '请选择网格（账号尚未同步到网格时请稍候）');
  if (!vocab.channels[form.channel]) e.add('channel', '请选择来源渠道');
  if (!vocab.categories[form.category]) e.add('category', '请选择纠纷类别');
  if (!form.policy) e.add('policy', '请选择时限政策');
  checkText(e, 'title', form.title, { max: L.title });
  checkText(e, 'description', form.description, { required: true, max: L.description });
  if (!form.parties.length) e.add('parties', '至少填写一名当事人');
  if (form.parties.length > 20) e.add('parties', '当事人最多 20 名');
  form.parties.forEach((p, i) => checkParty(e, i, p, L));
  checkLocation(e, 'location', form.location);
  if (form.photo && form.photo.size > L.attachment_bytes) e.add('photo', '照片压缩后仍超过 2 MB');
  return e;
}

/** event:<case uuid>:<tsid> (schemas/events.py): never edited once written. */
export function buildEvent(caseDoc, kind, fields, session) {
  const now = new Date();
  const doc = {
    _id: `event:${caseDoc._id.slice(5)}:${timeSortableId(now)}`, type: 'event', schema_version: 1,
    case_id: caseDoc._id, kind, at: nowIso(now), actor: session.username,
    area_code: caseDoc.area_code,
  };
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) { if (v.length) doc[k] = v; continue; }  // e.g. an agreement's terms
    if (v !== '' && v !== undefined && v !== null) doc[k] = typeof v === 'string' ? v.trim() : v;
  }
  return doc;
}

// Required fields per event kind a grid worker records (schemas/events.py).
export const EVENT_FORMS = {
  mediated: { required: ['outcome'], optional: ['mediator', 'terms', 'performance', 'note'] },
  resolved: { required: ['resolution_level'], optional: ['summary', 'note'] },
  escalated: { required: ['reason'], optional: ['note'], fixed: { to_level: 'township' } },
  followed_up: { required: ['result'], optional: ['note'] },
  evaluated_by_phone: { required: ['rating'], optional: ['comment'] },
  closed: { required: ['reply'], optional: ['note'] },
};

export function validateEvent(kind, fields, vocab) {
  const e = new Errors();
  const L = vocab.limits;
  const choice = { outcome: vocab.mediation_outcomes, resolution_level: vocab.resolution_levels,
    rating: vocab.evaluations };
  const max = { mediator: L.name, summary: L.description, reason: L.note, result: L.note,
    comment: L.note, note: L.note, reply: L.description, performance: L.note };
  const spec = EVENT_FORMS[kind];
  for (const name of spec.required) {
    if (choice[name]) {
      if (!choice[name][fields[name]]) e.add(name, '请选择 / please choose');
    } else {
      checkText(e, name, fields[name], { required: true, max: max[name] });
    }
  }
  for (const name of spec.optional) {
    if (name === 'terms') {  // a list (agreement.js termsFromText), checked there
      const problem = termsProblem(fields.terms || [], L);
      if (problem) e.add('terms', problem);
    } else {
      checkText(e, name, fields[name], { max: max[name] });
    }
  }
  return e;
}

/** risk:<uuid> (schemas/risk.py). */
export function buildRisk(form, session) {
  const doc = {
    _id: `risk:${uuid4()}`, type: 'risk', schema_version: 1,
    area_code: form.area_code, title: form.title.trim(), description: form.description.trim(),
    category: form.category, level: form.level, screening_round: form.screening_round,
    owner: form.owner.trim(), due: form.due, reported_by: session.username, created_at: nowIso(),
  };
  if (form.location) doc.location = { lon: form.location.lon, lat: form.location.lat, crs: 'wgs84' };
  return doc;
}

export function validateRisk(form, vocab) {
  const e = new Errors();
  const L = vocab.limits;
  if (!form.area_code) e.add('area_code', '请选择网格');
  checkText(e, 'title', form.title, { required: true, max: L.title });
  checkText(e, 'description', form.description, { required: true, max: L.description });
  if (!vocab.categories[form.category]) e.add('category', '请选择类别');
  if (!vocab.risk_levels[form.level]) e.add('level', '请选择风险等级');
  if (!vocab.screening_rounds[form.screening_round]) e.add('screening_round', '请选择排查轮次');
  checkText(e, 'owner', form.owner, { required: true, max: L.name });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(form.due || '')) e.add('due', '请填写化解时限（日期）');
  checkLocation(e, 'location', form.location);
  return e;
}
