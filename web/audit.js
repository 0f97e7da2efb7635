// The admin page's audit log card: sign-ins, credential changes and admin actions, newest
// first, filtered by who and by what, a page at a time.
import { currentLanguage, t } from "./i18n.js";
import { api } from "./api.js";
import { actionForm, h, table, toast } from "./dom.js";

const PAGE = 50;

function auditRows(entries) {
  return entries.map((entry) => h("tr", { class: entry.outcome >= 400 ? "refused" : "" },
    h("td", {}, new Date(entry.at).toLocaleString(currentLanguage())), h("th", { scope: "row" }, entry.actor),
    h("td", {}, entry.source), h("td", {}, entry.action), h("td", {}, entry.target),
    h("td", { title: entry.detail }, String(entry.outcome), entry.detail ? ` ${entry.detail}` : "")));
}

function auditPath(filter, before) {
  const query = new URLSearchParams({ limit: PAGE });
  if (filter.actor) query.set("actor", filter.actor);
  if (filter.action) query.set("action", filter.action);
  if (before) query.set("before", before);
  return `/api/v1/audit?${query}`;
}

// `page`: the first page, as GET /api/v1/audit answered it.
export function auditCard(page) {
  const body = h("div", {});
  let filter = {};
  const draw = (result, older) => {
    const more = result.next_before === null ? null : h("button", { type: "button", class: "secondary", onclick: async () => {
      try { draw(await api("GET", auditPath(filter, result.next_before)), older.concat(result.entries)); }
      catch (failure) { toast(failure.message); }
    } }, t("admin.older"));
    const entries = older.concat(result.entries);
    body.replaceChildren(entries.length === 0 ? h("p", {}, t("admin.noAudit"))
      : table("audit", ["admin.when", "admin.actor", "admin.source", "admin.action", "admin.target", "admin.outcome"],
        auditRows(entries)), more || "");
  };
  const form = actionForm(t("admin.auditFilter"), [
    h("label", {}, t("admin.actor"), h("input", { name: "actor", autocomplete: "off", size: 12 })),
    h("label", {}, t("admin.actionStarts"), h("input", { name: "action", autocomplete: "off", size: 24,
      placeholder: "login, PATCH /api/v1/users" })),
  ], t("admin.filter"), (form) => {
    filter = { actor: form.elements.actor.value.trim(), action: form.elements.action.value.trim() };
    return api("GET", auditPath(filter));
  }, (result) => draw(result, []));
  draw(page, []);
  return h("section", { class: "card wide", "aria-label": t("admin.audit") }, h("h2", {}, t("admin.audit")), form, body);
}
