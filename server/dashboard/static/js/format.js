// Formatting only: the numbers themselves come from /api/stats as they are.

export const CARD_KEYS = [
  "stays_in_village", "stays_in_township", "stays_in_county",
  "timely_acceptance", "on_time_closure", "satisfaction", "evaluation_rate",
  "repeat_share", "avg_duration_days", "avg_duration_working_days",
];

// Breakdown columns: the cards plus the other two metrics of /api/stats.
export const TABLE_KEYS = [...CARD_KEYS, "resolution_rate", "backlog"];

const trimZero = (text) => text.replace(/\.0$/, "");

/** The displayed value of one metric of /api/stats ("—" when there is nothing to divide by). */
export function formatValue(metric) {
  if (metric.value === null || metric.value === undefined) return "—";
  if (metric.kind === "rate") return `${(metric.value * 100).toFixed(1)}%`;
  if (metric.kind === "mean") return `${metric.value.toFixed(1)} 天`;
  return String(Math.round(metric.value));
}

/** The small text under the value: numerator / denominator as the API gives them. */
export function formatFraction(metric) {
  if (metric.kind === "rate") return `${trimZero(String(metric.numerator))} / ${metric.denominator}`;
  if (metric.kind === "mean") {
    return `合计 ${trimZero(Number(metric.numerator).toFixed(1))} 天 / ${metric.denominator} 件`;
  }
  return `${metric.denominator} 件`;
}

export function fractionTitle(metric) {
  if (metric.kind === "rate") {
    return `分子 numerator ${metric.numerator} ／ 分母 denominator ${metric.denominator}`;
  }
  if (metric.kind === "mean") {
    return `合计天数 sum ${metric.numerator} ／ 已办结 closed cases ${metric.denominator}`;
  }
  return `计数 count ${metric.denominator}`;
}

// Labels come from /dashboard/vocab.json (schemas.vocab): no label is kept here.
export function label(vocab, table, code) {
  const row = vocab?.[table]?.[code];
  return row ? row.zh : (code ?? "");
}

/** "zh en" of a code, as column heads and legends show it (the code when unknown). */
export function labelBoth(vocab, table, code) {
  const row = vocab?.[table]?.[code];
  return row ? `${row.zh} ${row.en}` : (code ?? "");
}

/** A single term of the vocabulary (e.g. the tracking code's name), zh and en. */
export const termText = (vocab, term) => labelBoth(vocab, "terms", term);

export function byKey(metrics) {
  return Object.fromEntries((metrics || []).map((m) => [m.key, m]));
}

export const LEVEL_RANK = { major: 3, serious: 2, ordinary: 1 };
