// 登记纠纷: the registration form. Checked by docs.js (the same rules as schemas/, tested
// against them) and saved to the local database, offline too; the photo is an attachment.
import { $, esc, myAreas, policies, rules, store, view, vocab } from './shared.js';
import { gridSelect, locationWidget, options, showErrors, watchDirty } from './forms.js';
import { resizePhoto } from './photo.js';
import { buildCase, validateCase } from './docs.js';
import { acceptedOnReport } from './projection.js';

function partyFields(i) {
  return `<fieldset class="party" data-party="${i}"><legend>当事人 ${i + 1} <small>Party</small></legend>
    <div class="row">
      <div><label>身份 <small>Role</small></label><select name="role" data-field="parties.${i}.role">${options('party_roles', i === 0 ? 'applicant' : 'respondent')}</select></div>
      <div><label>姓名 <small>Name</small></label><input name="name" maxlength="50" data-field="parties.${i}.name"></div>
    </div>
    <div class="row">
      <div><label>身份证号（选填） <small>ID number, optional</small></label><input name="id_number" maxlength="18" autocapitalize="characters" data-field="parties.${i}.id_number"></div>
      <div><label>电话（选填） <small>Phone, optional</small></label><input name="phone" type="tel" maxlength="20" data-field="parties.${i}.phone"></div>
    </div></fieldset>`;
}

export async function renderNewCase() {
  const [areas, pol] = await Promise.all([myAreas(), policies()]);
  const policyTable = Object.keys(pol).length
    ? Object.fromEntries(Object.values(pol).map((p) => [p.name, { zh: p.label_zh, en: p.label_en }]))
    : vocab.policies;
  vocab.policy_choices = policyTable;
  const state = { location: null, photo: null };
  view().innerHTML = `<form id="caseform" novalidate>
    <h1>登记矛盾纠纷 <small>New dispute</small></h1>
    ${gridSelect(areas)}
    <div class="row">
      <div><label for="channel">来源渠道 <small>Channel</small></label><select id="channel" name="channel" data-field="channel">${options('channels', 'grid_worker')}</select></div>
      <div><label for="category">纠纷类别 <small>Category</small></label><select id="category" name="category" data-field="category">${options('categories', '', { blank: true })}</select></div>
      <div><label for="policy">时限政策 <small>Deadline policy</small></label><select id="policy" name="policy" data-field="policy">${options('policy_choices', policyTable['520'] ? '520' : Object.keys(policyTable)[0])}</select></div>
    </div>
    <p class="muted" data-policy-hint></p>
    <label for="title">标题（选填） <small>Title, optional</small></label><input id="title" name="title" maxlength="100" data-field="title">
    <label for="description">纠纷情况 <small>Description</small></label>
    <textarea id="description" name="description" maxlength="5000" data-field="description" placeholder="时间、地点、起因、诉求…"></textarea>
    <h2>当事人 <small>Parties</small></h2><div data-field="parties"></div>
    <div id="parties">${partyFields(0)}</div>
    <button type="button" class="secondary" id="addparty">＋ 添加当事人 Add party</button>
    <h2>位置 <small>Location</small></h2><div data-field="location"></div>
    <div data-location></div>
    <h2>照片（选填） <small>Photo, optional</small></h2>
    <input type="file" accept="image/*" capture="environment" id="photo" data-field="photo">
    <p data-photoinfo class="muted"></p>
    <p class="actions"><button type="submit" id="savecase">保存（离线也可） Save</button>
      <a class="button secondary" href="#/list">取消 Cancel</a></p>
  </form>`;
  const form = $('#caseform');
  watchDirty(form);
  locationWidget(form, state, areas);
  const hint = () => {
    const onReport = acceptedOnReport({ area_code: form.area_code.value || areas.codes[0] || '', policy: form.policy.value }, rules);
    form.querySelector('[data-policy-hint]').textContent = onReport
      ? '按此政策，登记即为村级受理，可直接调解、化解、办结。Under this policy the report is the acceptance: mediate, resolve and close here.'
      : '按此政策，须由乡镇受理后方可办理。Under this policy the township must accept the case before it is handled.';
  };
  form.policy.addEventListener('change', hint);
  hint();
  let n = 1;
  $('#addparty').onclick = () => { $('#parties').insertAdjacentHTML('beforeend', partyFields(n++)); };
  $('#photo').onchange = async (e) => {
    const file = e.target.files[0];
    const info = form.querySelector('[data-photoinfo]');
    state.photo = null;
    if (!file) { info.textContent = ''; return; }
    info.textContent = '正在压缩… Resizing…';
    try {
      state.photo = await resizePhoto(file, vocab.limits.attachment_bytes);
      info.textContent = `已压缩为 JPEG，${Math.round(state.photo.size / 1024)} KB`;
    } catch (err) {
      info.textContent = `无法读取照片：${err.message}`;
    }
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const fields = {
      area_code: form.area_code.value, channel: form.channel.value, category: form.category.value,
      policy: form.policy.value, title: form.title.value, description: form.description.value,
      location: state.location, photo: state.photo,
      parties: [...form.querySelectorAll('[data-party]')].map((fs) => ({
        role: fs.querySelector('[name=role]').value, name: fs.querySelector('[name=name]').value,
        id_number: fs.querySelector('[name=id_number]').value.trim().toUpperCase(),
        phone: fs.querySelector('[name=phone]').value.trim() }))
        .filter((p, i) => i === 0 || p.name.trim() || p.id_number || p.phone),
    };
    if (!showErrors(form, validateCase(fields, vocab))) return;
    const doc = buildCase(fields, store.session);
    if (state.photo) doc._attachments = { 'photo.jpg': { content_type: 'image/jpeg', data: state.photo } };
    try {
      await store.local.put(doc);
    } catch (err) {
      form.insertAdjacentHTML('afterbegin', `<div class="form-error">保存失败：${esc(err.message)}</div>`);
      return;
    }
    delete form.dataset.dirty;
    location.hash = `#/case/${encodeURIComponent(doc._id)}`;
  };
}
