// Monthly statements (the usage page; admins name any user or group) and the admins'
// efficiency report: chosen by month, shown as tables, printable, and downloadable as CSV.
import { currentLanguage, t } from "./i18n.js";
import { api } from "./api.js";
import { h, table, toast } from "./dom.js";
import { money } from "./format.js";

const thisMonth = () => new Date().toISOString().slice(0, 7);
const hours = (value) => value.toFixed(2);
const when = (time) => new Date(time).toLocaleString(currentLanguage());

function csvLink(path) {
  const separator = path.includes("?") ? "&" : "?";
  return h("a", { class: "button secondary", href: `${path}${separator}format=csv`, download: "" }, t("report.csv"));
}

function totalsTable(id, rows, nameKey) {
  return table(id, [nameKey, "usage.gpuHours", "report.charged"], rows.map((row) => h("tr", {},
    h("th", { scope: "row" }, row.gpu_model ?? row.user ?? row.node), h("td", { class: "figure" }, hours(row.gpu_hours)),
    h("td", { class: "figure" }, money(row.charged)))));
}

function statementView(statement, path) {
  const lines = statement.lines.map((line) => h("tr", {},
    h("td", {}, when(line.at)), ...(statement.scope === "group" ? [h("td", {}, line.user)] : []),
    h("td", {}, t(`ledger.${line.kind}`)), h("td", {}, line.session ? h("code", {}, line.session) : line.note),
    h("td", {}, line.gpu_model), h("td", { class: "figure" }, line.kind === "charge" ? hours(line.gpu_hours) : ""),
    h("td", { class: "figure" }, money(line.amount))));
  const balances = statement.scope === "user" ? h("p", {}, t("report.balances",
    { opening: money(statement.opening_balance), closing: money(statement.closing_balance) })) : "";
  return h("div", { class: "printable", id: "statement" },
    h("h3", {}, t(`report.statementOf.${statement.scope}`, { subject: statement.subject, month: statement.month })),
    balances,
    h("p", {}, t("report.totals", { topUps: money(statement.top_ups), charges: money(statement.charges),
      adjustments: money(statement.adjustments) })),
    statement.by_model.length === 0 ? "" : totalsTable("statement-models", statement.by_model, "usage.model"),
    statement.by_member ? totalsTable("statement-members", statement.by_member, "report.member") : "",
    lines.length === 0 ? h("p", {}, t("report.nothing")) :
      table("statement-lines", ["balance.at", ...(statement.scope === "group" ? ["report.member"] : []), "balance.kind",
        "balance.what", "usage.model", "usage.gpuHours", "balance.amount"], lines),
    h("p", { class: "actions" }, h("button", { type: "button", onclick: () => window.print() }, t("report.print")), " ",
      csvLink(path)));
}

// `admin`: may name a user or a group.
export function statementCard(admin) {
  const shown = h("div", {});
  const month = h("input", { name: "month", type: "month", value: thisMonth(), required: true });
  const subject = admin ? h("input", { name: "subject", placeholder: t("report.subjectHint"), maxlength: 40 }) : null;
  const form = h("form", { class: "inline", "aria-label": t("report.statement") },
    h("label", {}, t("report.month"), month),
    subject ? h("label", {}, t("report.subject"), subject) : "",
    h("button", { type: "submit" }, t("report.show")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const named = subject?.value.trim() ?? "";
    const query = named.startsWith("group:") ? `?group=${encodeURIComponent(named.slice(6))}`
      : named ? `?user=${encodeURIComponent(named)}` : "";
    const path = `/api/v1/statements/${month.value}${query}`;
    try { shown.replaceChildren(statementView(await api("GET", path), path)); } catch (failure) { toast(failure.message); }
  });
  return h("section", { class: "card wide", "aria-labelledby": "statement-title" },
    h("h2", { id: "statement-title" }, t("report.statement")), form, shown);
}

function efficiencyRows(id, rows) {
  return table(id, ["report.name", "report.allocated", "report.used", "report.usedPercent", "report.reclaimed"],
    rows.map((row) => h("tr", {}, h("th", { scope: "row" }, row.name),
      h("td", { class: "figure" }, hours(row.allocated_gpu_hours)), h("td", { class: "figure" }, hours(row.used_gpu_hours)),
      h("td", { class: "figure" }, row.used_percent === null ? "—" : `${row.used_percent.toFixed(1)}%`),
      h("td", { class: "figure" }, `${row.idle_reclaimed_sessions} (${row.idle_reclaimed_gpus} GPU)`))));
}

export function efficiencyCard() {
  const shown = h("div", {});
  const month = h("input", { name: "month", type: "month", value: thisMonth(), required: true });
  const load = async () => {
    const path = `/api/v1/reports/efficiency?month=${month.value}`;
    try {
      const report = await api("GET", path);
      shown.replaceChildren(h("div", { class: "printable", id: "efficiency" },
        efficiencyRows("efficiency-pool", [report.pool]),
        h("h3", {}, t("report.groups")), report.groups.length === 0 ? h("p", {}, t("report.nothing")) :
          efficiencyRows("efficiency-groups", report.groups),
        h("h3", {}, t("report.users")), report.users.length === 0 ? h("p", {}, t("report.nothing")) :
          efficiencyRows("efficiency-users", report.users),
        h("h3", {}, t("report.revenue")),
        totalsTable("revenue-models", report.revenue_by_model, "usage.model"),
        totalsTable("revenue-nodes", report.revenue_by_node, "report.node"),
        h("p", { class: "actions" }, h("button", { type: "button", onclick: () => window.print() }, t("report.print")), " ",
          csvLink(path))));
    } catch (failure) { toast(failure.message); }
  };
  const form = h("form", { class: "inline", "aria-label": t("report.efficiency") },
    h("label", {}, t("report.month"), month), h("button", { type: "submit" }, t("report.show")));
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
  return h("section", { class: "card wide", "aria-labelledby": "efficiency-title" },
    h("h2", { id: "efficiency-title" }, t("report.efficiency")), h("p", { class: "help" }, t("report.efficiencyHelp")),
    form, shown);
}
