// What every view of the workbench shares: the signed-in user, the code lists and form
// descriptions from the server, the status line, and links between views.

export const shared = {
  user: null, vocab: {}, forms: null,
  // statistics view
  root: null, options: new Map(), area: null, from: null, to: null,
  stats: null, chart: null, loading: 0, cache: new Map(), statsShown: false,
  status(text) { document.getElementById("status").textContent = text || ""; },
};

/** The link to a case page. */
export const caseHref = (id) => `#/case/${encodeURIComponent(id)}`;

export function reset() {
  Object.assign(shared, {
    root: null, options: new Map(), area: null, from: null, to: null, stats: null,
    loading: 0, statsShown: false,
  });
  shared.cache.clear();
  if (shared.chart) { shared.chart.destroy(); shared.chart = null; }
}
