// A running session's web apps (TensorBoard, Gradio, anything on a port of the session),
// served through the gateway: the ports its owner exposed, each one click away, and a form to
// expose another (shared with named users, or by a link). Fetched when first opened; what was
// fetched and which are open outlast the live view's redrawing of the sessions table.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { actionForm, copyButton, h, toast } from "./dom.js";

const appsBySession = new Map();
const openLists = new Set();

function appItem(session, app, redraw) {
  const shared = [...app.shared_users, ...app.shared_groups.map((group) => t("apps.group", { group }))];
  const remove = h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      await api("DELETE", `/api/v1/sessions/${session.id}/apps/${app.port}`);
      await refresh(session, redraw);
    } catch (failure) { toast(failure.message); }
  } }, t("apps.remove"));
  return h("li", { "data-port": app.port },
    h("a", { class: "button", href: app.url, target: "_blank", rel: "noopener" }, t("apps.open", { port: app.port })),
    " ", h("span", { class: "note" }, shared.length ? t("apps.sharedWith", { names: shared.join(", ") }) : t("apps.onlyYou")),
    app.link_expires_at ? h("span", { class: "note" }, " ", t("apps.linkUntil", { time: new Date(app.link_expires_at).toLocaleString() })) : "",
    " ", remove);
}

async function refresh(session, redraw) {
  const answer = await api("GET", `/api/v1/sessions/${session.id}/apps`);
  appsBySession.set(session.id, answer.apps);
  redraw();
}

function exposeForm(session, redraw, links) {
  const port = h("input", { name: "port", type: "number", min: 1, max: 65535, required: true, placeholder: "6006",
    "aria-label": t("apps.port") });
  const users = h("input", { name: "users", placeholder: t("apps.usersPlaceholder"), "aria-label": t("apps.users") });
  const link = h("input", { name: "link", type: "checkbox" });
  return actionForm(t("apps.expose"), [port, users, h("label", {}, link, " ", t("apps.link"))], t("apps.expose"),
    (form) => api("POST", `/api/v1/sessions/${session.id}/apps`, {
      port: Number(form.elements.port.value),
      users: form.elements.users.value.split(",").map((name) => name.trim()).filter(Boolean),
      link_hours: form.elements.link.checked ? 24 : 0,
    }),
    async (app, form) => {
      form.reset();
      links.replaceChildren(app.link ? h("p", { class: "app-link" }, t("apps.linkOnce"), " ", h("code", {}, app.link), " ",
        copyButton(app.link)) : "");
      await refresh(session, redraw).catch((failure) => toast(failure.message));
    });
}

// The session's "Web apps" section, or null for a session that serves none now.
export function appsSection(session) {
  if (session.state !== "running") return null;
  const list = h("ul", { class: "apps" });
  const links = h("div", {});
  const draw = () => {
    const apps = appsBySession.get(session.id);
    list.replaceChildren(...(apps === undefined ? [] : apps.length === 0 ? [h("li", { class: "note" }, t("apps.none"))]
      : apps.map((app) => appItem(session, app, draw))));
  };
  draw();
  const details = h("details", { class: "apps" }, h("summary", {}, t("apps.title")),
    h("p", { class: "note" }, t("apps.how", { path: `/s/${session.id}/apps/PORT/` })), list,
    exposeForm(session, draw, links), links);
  details.open = openLists.has(session.id);
  details.addEventListener("toggle", () => {
    if (!details.open) return openLists.delete(session.id);
    openLists.add(session.id);
    refresh(session, draw).catch((failure) => toast(failure.message));
  });
  return details;
}
