// #/agreement/<case>/<event>: the agreement in large type for the parties to read, and the
// photo of the signed paper (agreement.js): offline, stored as an attachment of the case,
// synced like other photos.
import { $, esc, label, store, view, vocab } from './shared.js';
import { syncBadge } from './badges.js';
import { attachmentUrl, resizePhoto } from './photo.js';
import { agreementHtml, attachSignedCopy, signedCopyName } from './agreement.js';

export async function renderAgreement(caseId, eventId) {
  let doc;
  let ev;
  try {
    [doc, ev] = await Promise.all([store.local.get(caseId), store.local.get(eventId)]);
  } catch {
    view().innerHTML = '<p class="form-error">本机没有此协议 / not on this device</p><a class="button" href="#/list">返回 Back</a>';
    return;
  }
  const name = signedCopyName(ev);
  let photo = '<p class="muted" data-signed="0">尚未拍摄签字后的协议书。No photo of the signed copy yet.</p>';
  if (doc._attachments && doc._attachments[name]) {
    const seqs = await store.localSeqs();
    try {
      const url = await attachmentUrl(caseId, name);
      photo = `<div data-signed="1">${syncBadge(store.syncState(doc, seqs))}<br>
        <img class="photo" alt="签字协议 signed agreement" src="${url}"></div>`;
    } catch { photo = '<p class="muted" data-signed="1">照片尚未下载 / photo not on device</p>'; }
  }
  const day = (iso) => new Date(iso).toLocaleDateString('zh-CN', { year: 'numeric', month: 'long', day: 'numeric' });
  view().innerHTML = `<p><a href="#/case/${encodeURIComponent(caseId)}" class="button secondary">← 返回案件 Back to the case</a></p>
    ${agreementHtml(doc, ev, vocab, { esc, label, day })}
    <h2>签字协议照片 <small>Signed copy</small></h2>
    <p class="muted">请当事人在纸质协议书上签字、按指印后拍照留存。Photograph the paper agreement once the parties have signed it.</p>
    <div id="signedcopy">${photo}</div>
    <form id="signform"><p class="actions"><label class="button" for="signedphoto">拍摄签字协议 Photograph the signed copy</label></p>
    <input type="file" accept="image/*" capture="environment" id="signedphoto" hidden>
    <p data-photoinfo class="muted"></p></form>`;
  // While the camera is open, a sync must not redraw the page under it (formDirty).
  view().querySelector('label[for=signedphoto]').onclick = () => { $('#signform').dataset.dirty = '1'; };
  $('#signedphoto').onchange = async (e) => {
    const file = e.target.files[0];
    const info = view().querySelector('[data-photoinfo]');
    if (!file) return;
    info.textContent = '正在压缩… Compressing…';
    try {
      const blob = await resizePhoto(file, vocab.limits.attachment_bytes);
      await attachSignedCopy(store.local, caseId, name, blob, vocab.limits);
    } catch (err) {
      info.className = 'form-error';
      info.textContent = `未能保存照片：${err.message}`;
      return;
    }
    await renderAgreement(caseId, eventId);
  };
}
