// Building the tablet's forms: code-list options from vocab.json, the grid select, the
// location widget (GPS or a tap on the grid map), the errors docs.js finds shown at their
// fields, and the dirty mark that keeps a sync from redrawing a form being filled in.
import { esc, vocab } from './shared.js';
import { gridMap, pointInGeometry } from './map.js';

export const options = (table, selected, { blank = false, only = null } = {}) =>
  (blank ? '<option value="">请选择 / choose</option>' : '') +
  Object.entries(vocab[table]).filter(([c]) => !only || only.includes(c)).map(([c, l]) =>
    `<option value="${esc(c)}"${c === selected ? ' selected' : ''}>${esc(l.zh)}（${esc(l.en)}）</option>`).join('');

// Do not re-render a form the worker is typing into when sync data arrives.
// A form with input, or an action form the worker has opened, is never redrawn under them
// by a sync event (the case view refreshes once the form is saved or closed).
export const formDirty = () => !!document.querySelector('form[data-dirty="1"]');

/** Marks the form dirty on its first input. */
export function watchDirty(form) {
  form.addEventListener('input', () => { form.dataset.dirty = '1'; });
}

export function showErrors(form, errors) {
  form.querySelectorAll('.field-error').forEach((n) => n.remove());
  const summary = form.querySelector('.form-error');
  if (summary) summary.remove();
  if (errors.ok) return true;
  const msgs = [];
  for (const [field, list] of Object.entries(errors.map)) {
    const anchor = form.querySelector(`[data-field="${field}"]`);
    const text = list.join('；');
    msgs.push(text);
    if (anchor) anchor.insertAdjacentHTML('afterend', `<div class="field-error" role="alert">${esc(text)}</div>`);
  }
  form.insertAdjacentHTML('afterbegin', `<div class="form-error" role="alert">请更正以下 ${msgs.length} 处错误后再保存 / please fix the marked fields</div>`);
  const first = form.querySelector('.field-error');
  if (first) first.scrollIntoView({ block: 'center' });
  return false;
}

export function gridSelect(areas) {
  const codes = areas.codes;
  return `<label for="area_code">网格 <small>Grid</small></label>
    <select id="area_code" name="area_code" data-field="area_code">
      ${codes.length === 1 ? '' : '<option value="">请选择 / choose</option>'}
      ${codes.map((c) => `<option value="${esc(c)}">${esc(areas.names[c] || c)}（${esc(c)}）</option>`).join('')}
    </select>`;
}

/** Fills the form's [data-location] box; the point picked goes to state.location. */
export function locationWidget(form, state, areas) {
  const box = form.querySelector('[data-location]');
  box.innerHTML = `<div class="row">
      <button type="button" class="secondary" data-gps>使用 GPS 定位 Use GPS</button>
      <span data-loctext class="muted">未定位；可在下方地图上点选 Not set: tap the map below</span></div>
    <div class="map" data-map></div>`;
  const text = box.querySelector('[data-loctext]');
  const show = () => {
    if (!state.location) return;
    const grid = areas.grids.find((g) => g.code === form.querySelector('[name=area_code]').value);
    const outside = grid && !pointInGeometry(state.location.lon, state.location.lat, grid.geometry);
    text.innerHTML = `经度 ${state.location.lon}，纬度 ${state.location.lat}（WGS84）` +
      (outside ? ' <strong class="reason">⚠ 该点不在所选网格内，请核对</strong>' : '');
    text.className = '';
  };
  const m = gridMap(box.querySelector('[data-map]'), areas.grids,
    { onPick: (loc) => { state.location = loc; form.dataset.dirty = '1'; show(); }, location: state.location });
  box.querySelector('[data-gps]').onclick = () => {
    if (!navigator.geolocation) { text.textContent = '本设备不支持定位 / no geolocation'; return; }
    text.textContent = '正在定位… Locating…';
    navigator.geolocation.getCurrentPosition((pos) => {
      // The Geolocation API reports WGS84, which is what we store (crs "wgs84").
      state.location = { lon: +pos.coords.longitude.toFixed(6), lat: +pos.coords.latitude.toFixed(6) };
      m.place(state.location.lat, state.location.lon);
      show();
    }, (err) => { text.textContent = `定位失败：${err.message}（可在地图上点选）/ GPS failed, tap the map`; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  };
  form.querySelector('[name=area_code]').addEventListener('change', show);
  setTimeout(() => m.map.invalidateSize(), 50);
}
