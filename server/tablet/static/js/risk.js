// 隐患上报: the form for a risk found in a screening round (排查), checked by docs.js and
// saved locally, offline too; the 研判 decisions on it come down by sync (list.js shows them).
import { $, esc, myAreas, store, view, vocab } from './shared.js';
import { gridSelect, locationWidget, options, showErrors, watchDirty } from './forms.js';
import { buildRisk, validateRisk } from './docs.js';

export async function renderRisk() {
  const areas = await myAreas();
  const due = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  const state = { location: null };
  view().innerHTML = `<form id="riskform" novalidate>
    <h1>隐患上报 <small>Report a risk</small></h1>
    ${gridSelect(areas)}
    <label for="rtitle">隐患名称 <small>Title</small></label><input id="rtitle" name="title" maxlength="100" data-field="title">
    <div class="row">
      <div><label for="level">风险等级 <small>Level</small></label><select id="level" name="level" data-field="level">${options('risk_levels', 'ordinary')}</select></div>
      <div><label for="rcategory">类别 <small>Category</small></label><select id="rcategory" name="category" data-field="category">${options('categories', '', { blank: true })}</select></div>
      <div><label for="round">排查轮次 <small>Screening round</small></label><select id="round" name="screening_round" data-field="screening_round">${options('screening_rounds', 'village')}</select></div>
    </div>
    <label for="rdesc">隐患情况 <small>Description</small></label><textarea id="rdesc" name="description" maxlength="5000" data-field="description"></textarea>
    <div class="row">
      <div><label for="owner">责任人 <small>Responsible person</small></label><input id="owner" name="owner" maxlength="50" value="${esc(store.session.display_name)}" data-field="owner"></div>
      <div><label for="due">化解时限 <small>Resolve by</small></label><input id="due" name="due" type="date" value="${due}" data-field="due"></div>
    </div>
    <h2>位置（选填） <small>Location</small></h2><div data-field="location"></div><div data-location></div>
    <p class="actions"><button type="submit" id="saverisk">上报（离线也可） Report</button><a class="button secondary" href="#/list">取消 Cancel</a></p>
  </form>`;
  const form = $('#riskform');
  watchDirty(form);
  locationWidget(form, state, areas);
  form.onsubmit = async (e) => {
    e.preventDefault();
    const fields = { area_code: form.area_code.value, title: form.title.value, level: form.level.value,
      category: form.category.value, screening_round: form.screening_round.value,
      description: form.description.value, owner: form.owner.value, due: form.due.value, location: state.location };
    if (!showErrors(form, validateRisk(fields, vocab))) return;
    await store.local.put(buildRisk(fields, store.session));
    delete form.dataset.dirty;
    location.hash = '#/list';
  };
}
