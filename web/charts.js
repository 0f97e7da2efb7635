// Charts (uPlot, from npm): the pool's GPUs over the last day or week for admins — how many
// there are, how many sessions hold and how many are busy — and one's own GPU-hours and spend
// per day. Each chart has a one-line summary in words beside it, for screen readers and print.
import uPlot from "./vendor/uPlot.esm.js";
import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, toast } from "./dom.js";
import { money } from "./format.js";

const width = (element) => Math.max(320, Math.min(1000, (element.clientWidth || 900) - 16));

function draw(holder, options, data) {
  holder.replaceChildren();
  return new uPlot({ width: width(holder), height: 260, ...options }, data, holder);
}

const max = (values) => values.reduce((a, b) => Math.max(a, b), 0);
const mean = (values) => values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

export function poolChartCard() {
  const holder = h("div", { class: "chart", id: "pool-chart", role: "img", "aria-label": t("chart.pool") });
  const summary = h("p", { id: "pool-chart-summary", class: "help" });
  const load = async (range) => {
    try {
      const series = await api("GET", `/api/v1/charts/pool?range=${range}`);
      draw(holder, {
        scales: { x: { time: true, range: () => [series.from, series.to] } },
        series: [{}, { label: t("chart.gpus"), stroke: "#9ca3af" },
          { label: t("chart.held"), stroke: "#2563eb", fill: "rgba(37, 99, 235, 0.12)" },
          { label: t("chart.busy"), stroke: "#16a34a", fill: "rgba(22, 163, 74, 0.12)" }],
        axes: [{}, { label: t("chart.gpus") }],
      }, [series.at, series.gpus, series.allocated, series.busy]);
      summary.textContent = series.at.length === 0 ? t("chart.noSamples") : t("chart.poolSummary", {
        gpus: max(series.gpus), held: max(series.allocated).toFixed(1),
        busy: mean(series.busy).toFixed(2), heldMean: mean(series.allocated).toFixed(2) });
    } catch (failure) { toast(failure.message); }
  };
  const button = (range) => h("button", { type: "button", class: "secondary", onclick: () => load(range) },
    t(`chart.${range}`));
  queueMicrotask(() => load("day"));
  return h("section", { class: "card wide", "aria-labelledby": "pool-chart-title" },
    h("h2", { id: "pool-chart-title" }, t("chart.pool")), h("p", {}, button("day"), " ", button("week")),
    holder, summary);
}

export function usageChartCard() {
  const holder = h("div", { class: "chart", id: "usage-chart", role: "img", "aria-label": t("chart.usage") });
  const summary = h("p", { id: "usage-chart-summary", class: "help" });
  queueMicrotask(async () => {
    try {
      const series = await api("GET", "/api/v1/charts/usage?days=30");
      draw(holder, {
        scales: { x: { time: true, range: () => [series.at[0], series.at[series.at.length - 1] + 86400] }, credits: {} },
        series: [{}, { label: t("usage.gpuHours"), stroke: "#2563eb", fill: "rgba(37, 99, 235, 0.12)" },
          { label: t("chart.spend"), stroke: "#b45309", scale: "credits" }],
        axes: [{}, { label: t("usage.gpuHours") }, { scale: "credits", side: 1, label: t("chart.spend"), grid: { show: false } }],
      }, [series.at, series.gpu_hours, series.spend]);
      summary.textContent = t("chart.usageSummary", {
        hours: series.gpu_hours.reduce((a, b) => a + b, 0).toFixed(2),
        spend: money(series.spend.reduce((a, b) => a + b, 0)) });
    } catch (failure) { toast(failure.message); }
  });
  return h("section", { class: "card wide", "aria-labelledby": "usage-chart-title" },
    h("h2", { id: "usage-chart-title" }, t("chart.usage")), holder, summary);
}
