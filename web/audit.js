// The admin page's audit log card: the latest sign-ins, credential changes and admin actions.
import { t } from "./i18n.js";
import { h, table } from "./dom.js";

export function auditCard(entries) {
  const rows = entries.map((entry) => h("tr", { class: entry.outcome >= 400 ? "refused" : "" },
    h("td", {}, new Date(entry.at).toLocaleString()), h("th", { scope: "row" }, entry.actor),
    h("td", {}, entry.source), h("td", {}, entry.action), h("td", {}, entry.target),
    h("td", { title: entry.detail }, String(entry.outcome))));
  return h("section", { class: "card wide", "aria-label": t("admin.audit") }, h("h2", {}, t("admin.audit")),
    entries.length === 0 ? h("p", {}, t("admin.noAudit"))
      : table("audit", ["admin.when", "admin.actor", "admin.source", "admin.action", "admin.target",
        "admin.outcome"], rows));
}
