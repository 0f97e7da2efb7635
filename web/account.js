// The account page: change the password, see and end one's sign-ins and API tokens, make a
// token for scripts (shown once), say where notifications go (notify_settings.js). `credentialsTable` also serves the admin page, for any user.
import { currentLanguage, t } from "./i18n.js";
import { api } from "./api.js";
import { actionForm, copyButton, h, show, table, toast } from "./dom.js";
import { signOutNow, stopLive } from "./live.js";
import { notifyCard } from "./notify_settings.js";

const when = (time) => time ? new Date(time).toLocaleString(currentLanguage()) : t("account.never");

// One row per live login or token; revoking the caller's own login signs them out.
export function credentialsTable(id, tokens, path, redraw) {
  const rows = tokens.map((token) => h("tr", { "data-token": token.id },
    h("th", { scope: "row" }, token.kind === "login" ? t("account.login") : token.name || t("account.token")),
    h("td", {}, h("code", {}, token.id)), h("td", {}, when(token.created_at)), h("td", {}, when(token.expires_at)),
    h("td", {}, token.current ? t("account.current") : ""),
    h("td", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        await api("DELETE", `${path}/${token.id}`);
        if (token.current) return signOutNow();
        toast(t("account.revoked"));
        redraw();
      } catch (failure) { toast(failure.message); }
    } }, t("account.revoke")))));
  return rows.length === 0 ? h("p", {}, t("account.none"))
    : table(id, ["account.what", "account.id", "account.created", "account.expires", "account.this",
      "sessions.actions"], rows);
}

function passwordCard() {
  const field = (name, label, autocomplete) => h("label", {}, t(label),
    h("input", { name, type: "password", required: true, autocomplete }));
  return h("section", { class: "card", "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, t("account.password")),
    h("p", { class: "help" }, t("account.passwordHelp")),
    actionForm(t("account.password"), [
      field("current", "account.currentPassword", "current-password"),
      field("next", "account.newPassword", "new-password"),
      field("again", "account.newPasswordAgain", "new-password"),
    ], t("account.change"), (form) => {
      if (form.elements.next.value !== form.elements.again.value) throw new Error(t("account.mismatch"));
      return api("POST", "/api/v1/me/password",
        { current_password: form.elements.current.value, new_password: form.elements.next.value });
    }, (result) => { toast(t("account.changed", { n: result.logins_ended })); renderAccount(); }));
}

// A new token is shown once, here; the server keeps only its digest.
function newTokenCard() {
  const shown = h("div", { id: "new-token" });
  const form = actionForm(t("account.newToken"), [
    h("label", {}, t("account.tokenName"), h("input", { name: "name", required: true, maxlength: 64, autocomplete: "off" })),
    h("label", {}, t("account.days"), h("input", { name: "days", type: "number", min: 1, max: 3650, value: 30, required: true })),
  ], t("account.create"), (form) => api("POST", "/api/v1/tokens",
    { name: form.elements.name.value.trim(), expires_in_days: Number(form.elements.days.value) }), async (token) => {
    await redrawCredentials();
    shown.replaceChildren(h("p", { role: "status" }, t("account.shownOnce")),
      h("div", {}, h("code", { class: "secret" }, token.token), " ", copyButton(token.token)));
  });
  return h("section", { class: "card", "aria-labelledby": "token-title" },
    h("h2", { id: "token-title" }, t("account.newToken")), h("p", { class: "help" }, t("account.tokenHelp")), form, shown);
}

async function redrawCredentials() {
  const { tokens } = await api("GET", "/api/v1/tokens");
  document.getElementById("credentials-body")?.replaceChildren(
    credentialsTable("credentials", tokens, "/api/v1/tokens", redrawCredentials));
}

export async function renderAccount() {
  stopLive();
  show(h("h1", {}, t("account.title")), passwordCard(),
    h("section", { class: "card wide", "aria-labelledby": "credentials-title" },
      h("h2", { id: "credentials-title" }, t("account.credentials")), h("p", { class: "help" }, t("account.credentialsHelp")),
      h("div", { id: "credentials-body" })),
    newTokenCard(), await notifyCard());
  await redrawCredentials();
}
