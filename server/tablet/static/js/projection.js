// A light projection of a case for the tablet list: status, handling level and deadline
// badges (codes only: their labels come from /tablet/vocab.json). The authoritative projection is server/domain/projection.py; this follows the
// same rules for what a list needs, and stays silent when it cannot be sure:
//  * no policy:<name> document on the device → no deadline badge (never a guessed one);
//  * a working-day rule → no badge (the holiday calendar is not on the tablet);
//  * an open pause (挂起) → the clock is stopped, no badge.
// The state rules (which actions a status allows, which policies accept on report, level
// ranks) are not here: they come from the server's one table as /tablet/states.json.

const STATUS_RANK = { reported: 0, accepted: 1, in_progress: 2, resolved: 3, closed: 4 };
const DUE_SOON_DAYS = 3;  // server/domain/reminders.py DEFAULT_LEAD_DAYS
const DAY = 86400000;

/** China calendar date (UTC+8, no DST) of an ISO time, as days since the epoch. */
export function chinaDay(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : Math.floor((t + 8 * 3600000) / DAY);
}
export const dayText = (day) => new Date(day * DAY).toISOString().slice(0, 10);

export function sortEvents(events) {
  return events.slice().sort((a, b) => (Date.parse(a.at) - Date.parse(b.at)) ||
    (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
}

function matches(m, ev) {
  return m.kind === ev.kind && (!m.stage || m.stage === ev.stage);
}

/** The level that first handles a case: grid (15) and village (12) codes start at village. */
const initialLevel = (code) => ({ 6: 'county', 9: 'township' }[String(code).length] || 'village');

/** Does the registration count as acceptance (server/domain/policies.py ACCEPTED_ON_REPORT)? */
export const acceptedOnReport = (caseDoc, rules) =>
  initialLevel(caseDoc.area_code) === 'village' && rules.accepted_on_report.includes(caseDoc.policy);

export function project(caseDoc, events, policy, rules, now = new Date()) {
  const LEVEL_RANK = rules.level_rank;
  let sorted = sortEvents(events.filter((e) => !Number.isNaN(Date.parse(e.at))));
  const onReport = acceptedOnReport(caseDoc, rules);
  let status = onReport ? 'accepted' : 'reported';
  let level = initialLevel(caseDoc.area_code);
  let highest = level;
  const advance = (s) => {
    if (status !== 'declined' && STATUS_RANK[s] > STATUS_RANK[status]) status = s;
  };
  let openPause = null;
  const pauses = [];
  const extensions = {};
  for (const ev of sorted) {
    switch (ev.kind) {
      case 'accepted': advance('accepted'); break;
      case 'declined': if (status === 'reported') status = 'declined'; break;
      case 'assigned': case 'mediated': case 'met': advance('in_progress'); break;
      case 'resolved': advance('resolved'); break;
      case 'closed': if (status !== 'declined') status = 'closed';
        if (openPause) { pauses.push([openPause, ev.at]); openPause = null; } break;
      case 'escalated': case 'returned':
        if (ev.to_level in LEVEL_RANK) level = ev.to_level;
        if (LEVEL_RANK[level] > LEVEL_RANK[highest]) highest = level;
        break;
      case 'paused': if (!openPause) openPause = ev.at; break;
      case 'resumed': if (openPause) { pauses.push([openPause, ev.at]); openPause = null; } break;
      case 'extended': extensions[ev.rule] = (extensions[ev.rule] || 0) + (ev.days || 0); break;
      default: break;
    }
  }
  // The acceptance on report ends the acceptance rule and starts the closure clock.
  if (onReport) sorted = [{ kind: 'accepted', at: caseDoc.created_at }, ...sorted];
  return { status, level, highest, onReport, deadline: policy ? deadline(caseDoc, sorted, policy, pauses, openPause,
    extensions, now) : null };
}

/** The most urgent running deadline: {rule, due, stage: 'overdue'|'due'|'due_soon'|'ok'}. */
function deadline(caseDoc, sorted, policy, pauses, openPause, extensions, now) {
  if (openPause) return null;
  const today = chinaDay(now.toISOString());
  let worst = null;
  for (const rule of policy.rules || []) {
    if (rule.count !== 'calendar') continue;
    const startEv = rule.start.kind === 'reported' ? { at: caseDoc.created_at }
      : sorted.find((e) => matches(rule.start, e));
    if (!startEv) continue;
    const startAt = Date.parse(startEv.at);
    const ended = sorted.some((e) => Date.parse(e.at) >= startAt && rule.end.some((m) => matches(m, e)));
    if (ended) continue;
    // Count the rule's days after the start day, skipping every day a pause covers
    // (from its China date up to, not including, the resume's), as the server does
    // (projection.py _deadline: calendar.add_days with skip).
    const paused = pauses.map(([from, to]) => [chinaDay(from), chinaDay(to)]);
    const ext = Math.min(extensions[rule.name] || 0, rule.max_extension_days || 0);
    let due = chinaDay(startEv.at);
    for (let todo = rule.days + ext; todo > 0;) {
      due += 1;
      if (!paused.some(([a, b]) => a <= due && due < b)) todo -= 1;
    }
    const left = due - today;
    const stage = left < 0 ? 'overdue' : left === 0 ? 'due' : left <= DUE_SOON_DAYS ? 'due_soon' : 'ok';
    if (!worst || due < worst.due) worst = { rule, due, left, stage };
  }
  return worst;
}
