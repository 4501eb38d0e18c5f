// 人民调解协议书 on the tablet: the agreed terms of a mediation, in large type for the
// parties to read before they sign the paper copy, and the photo of the signed copy.
//
// The terms come from the `mediated` event (schemas/events.py: terms, performance), which is
// on the device, so this works offline. The photo is stored as an attachment of the case
// document, named after the event (`agreement-<event suffix>.jpg`), because events are
// never edited once written (sync/push.py) while the case document may be updated by the
// workers of its area; it syncs like the registration photo and the workbench's case page
// shows it with the other photos. Which outcomes make an agreement (达成协议, 部分达成) and
// the document's title are the server's (vocab.json: agreement_outcomes, documents).

/** The mediations of a case that reached an agreement, latest first. */
export function agreementEvents(events, vocab) {
  return events.filter((ev) => ev.kind === 'mediated' && vocab.agreement_outcomes.includes(ev.outcome))
    .sort((a, b) => String(b.at).localeCompare(String(a.at)));
}

/** The attachment name of the signed copy of one agreement. */
export const signedCopyName = (ev) => `agreement-${ev._id.split(':').pop()}.jpg`;

/** The terms typed on the tablet's mediation form: one clause per line, numbering removed. */
export function termsFromText(text) {
  return String(text || '').split(/\r?\n/)
    .map((line) => line.trim().replace(/^(\d+|[一二三四五六七八九十]+)[.、．)）]\s*/, '').trim())
    .filter(Boolean);
}

/** Problems with the terms (schemas/events.py: at most `agreement_terms`, each ≤ `note`). */
export function termsProblem(terms, limits) {
  if (terms.length > limits.agreement_terms) {
    return `协议条款最多 ${limits.agreement_terms} 条 / at most ${limits.agreement_terms} terms`;
  }
  const long = terms.findIndex((t) => t.length > limits.note);
  return long >= 0 ? `第 ${long + 1} 条超过 ${limits.note} 字 / term ${long + 1} is too long` : null;
}

/** The agreement as the parties read it (HTML). `h`: { esc, label, day }. */
export function agreementHtml(caseDoc, ev, vocab, { esc, label, day }) {
  const title = vocab.documents.agreement;
  const parties = (caseDoc.parties || []).map((p) =>
    `<li>${esc(label('party_roles', p.role))}：<strong>${esc(p.name)}</strong></li>`).join('');
  const terms = (ev.terms || []).length
    ? `<ol data-terms>${ev.terms.map((t) => `<li>${esc(t)}</li>`).join('')}</ol>`
    : '<p data-terms class="notice">协议条款未录入本机，以书面协议书为准。The terms were not entered on the tablet: read them on the paper agreement.</p>';
  return `<article class="agreement" id="agreement" data-event="${esc(ev._id)}">
    <h1>${esc(title.zh)} <small>${esc(title.en)}</small></h1>
    <p>${esc(vocab.terms.tracking_code.zh)}：${esc(caseDoc.tracking_code)}</p>
    <h2>当事人 <small>Parties</small></h2><ul>${parties}</ul>
    <h2>纠纷事项 <small>The dispute</small></h2><p>${esc(caseDoc.description)}</p>
    <h2>调解结果 <small>Outcome</small></h2>
    <p>${esc(label('mediation_outcomes', ev.outcome))}（${esc(day(ev.at))}${ev.mediator ? `，调解员 ${esc(ev.mediator)}` : ''}）</p>
    <h2>协议内容 <small>Agreed terms</small></h2>${terms}
    ${ev.performance ? `<h2>履行方式、期限 <small>Performance</small></h2><p>${esc(ev.performance)}</p>` : ''}
  </article>`;
}

/** Attach the photo of the signed copy to the case document (replacing an earlier photo of
 *  the same agreement). Throws Error with a message for the worker when the case already
 *  holds as many attachments as a document may (schemas/fields.py). */
export async function attachSignedCopy(local, caseId, name, blob, limits) {
  const doc = await local.get(caseId);
  const attachments = doc._attachments || {};
  if (!attachments[name] && Object.keys(attachments).length >= limits.attachments) {
    throw new Error(`本案件已有 ${limits.attachments} 个附件，不能再添加 / the case already has ${limits.attachments} attachments`);
  }
  doc._attachments = { ...attachments, [name]: { content_type: 'image/jpeg', data: blob } };
  return local.put(doc);
}
