// The usage page: balance and ledger, what the caller's sessions ran and cost, the prices, and
// monthly statements (reports.js), GPU-hours and spend per day as a chart (charts.js).
import { currentLanguage, t } from "./i18n.js";
import { api } from "./api.js";
import { h, show, table } from "./dom.js";
import { duration, money } from "./format.js";
import { stopLive } from "./live.js";
import { statementCard } from "./reports.js";
import { usageChartCard } from "./charts.js";

export async function renderUsage() {
  stopLive();
  const [usage, prices, balance] = await Promise.all([
    api("GET", "/api/v1/usage"), api("GET", "/api/v1/prices"), api("GET", "/api/v1/balance")]);
  const rows = usage.sessions.slice().reverse().map((line) => h("tr", {},
    h("td", {}, h("code", {}, line.id)), h("td", {}, t(`state.${line.state}`)),
    h("td", {}, `${line.gpus} × ${line.gpu_model}`), h("td", {}, new Date(line.started_at).toLocaleString(currentLanguage())),
    h("td", { class: "figure" }, duration(line.billed_seconds)), h("td", { class: "figure" }, money(line.hourly_rate)),
    h("td", { class: "figure" }, money(line.cost))));
  const entries = balance.entries.map((entry) => h("tr", {},
    h("td", {}, new Date(entry.at).toLocaleString(currentLanguage())), h("td", {}, t(`ledger.${entry.kind}`)),
    h("td", { class: "figure" }, money(entry.amount)), h("td", {}, entry.session ? h("code", {}, entry.session) : entry.note)));
  show(h("h1", {}, t("usage.title")),
    h("section", { class: "card", "aria-labelledby": "balance-title" },
      h("h2", { id: "balance-title" }, t("balance.title", { balance: money(balance.balance) })),
      h("p", { class: "help" }, t(balance.prepaid ? "balance.prepaid" : "balance.postpaid",
        { running: money(balance.running_cost) })),
      entries.length === 0 ? h("p", {}, t("balance.none")) :
        table("ledger", ["balance.at", "balance.kind", "balance.amount", "balance.what"], entries)),
    usageChartCard(),
    h("section", { class: "card", "aria-labelledby": "usage-total" },
      h("h2", { id: "usage-total" }, t("usage.total", { cost: money(usage.total_cost) })),
      usage.by_model.length === 0 ? h("p", {}, t("usage.none")) :
        table("usage-models", ["usage.model", "usage.gpuHours", "usage.cost"], usage.by_model.map((model) => h("tr", {},
          h("th", { scope: "row" }, model.gpu_model), h("td", { class: "figure" }, model.gpu_hours.toFixed(3)),
          h("td", { class: "figure" }, money(model.cost)))))),
    h("section", { class: "card wide", "aria-label": t("usage.sessions") }, h("h2", {}, t("usage.sessions")),
      rows.length === 0 ? h("p", {}, t("usage.none")) :
        table("usage-sessions", ["usage.session", "sessions.state", "sessions.gpus", "usage.started", "usage.ran",
          "usage.rate", "usage.cost"], rows)),
    h("section", { class: "card", "aria-label": t("usage.prices") }, h("h2", {}, t("usage.prices")),
      prices.prices.length === 0 ? h("p", {}, t("usage.free")) :
        table("prices-list", ["usage.model", "usage.rate"], prices.prices.map((price) => h("tr", {},
          h("th", { scope: "row" }, price.gpu_model), h("td", { class: "figure" }, money(price.per_gpu_hour)))))),
    statementCard(false));
}
