// The account page's "Notifications" card: where a user is told beyond the portal — an e-mail
// address (used once the code mailed to it is entered), the balance below which they are
// told, and a webhook (its signing secret shown once).
import { t } from "./i18n.js";
import { api } from "./api.js";
import { actionForm, copyButton, h, toast } from "./dom.js";

function emailPart(settings, redraw) {
  if (!settings.email_available) return h("p", { class: "help" }, t("notify.noEmail"));
  const state = h("p", { id: "email-state", role: "status" },
    t(`notify.email.${settings.email_state}`, { email: settings.email, error: settings.email_error || "" }));
  const setForm = actionForm(t("notify.email"), [
    h("label", {}, t("notify.email"), h("input", { name: "email", type: "email", maxlength: 254,
      value: settings.email, autocomplete: "email" })),
  ], t("notify.save"), (form) => api("PUT", "/api/v1/me/notify", { email: form.elements.email.value.trim() }),
  () => { toast(t("notify.saved")); redraw(); });
  const waiting = settings.email_state === "code_mailed";
  const confirmForm = waiting ? actionForm(t("notify.code"), [
    h("label", {}, t("notify.code"), h("input", { name: "code", inputmode: "numeric", maxlength: 8,
      required: true, autocomplete: "one-time-code" })),
  ], t("notify.confirm"), (form) => api("POST", "/api/v1/me/notify/confirm", { code: form.elements.code.value.trim() }),
  () => { toast(t("notify.confirmed")); redraw(); }) : "";
  return h("div", {}, state, setForm, confirmForm);
}

function balancePart(settings, redraw) {
  const fallback = settings.balance_low_default_credits;
  return actionForm(t("notify.balanceLow"), [
    h("label", {}, t("notify.balanceLow"), h("input", { name: "credits", type: "number", min: 0, step: "any",
      value: settings.balance_low_credits ?? "", placeholder: fallback ? String(fallback) : t("notify.off") })),
  ], t("notify.save"), (form) => {
    const text = form.elements.credits.value.trim();
    return api("PUT", "/api/v1/me/notify", { balance_low_credits: text === "" ? null : Number(text) });
  }, () => { toast(t("notify.saved")); redraw(); });
}

async function webhookPart(redraw) {
  let current = null;
  try { current = (await api("GET", "/api/v1/me/webhook")).url; } catch (failure) {
    if (failure.status !== 404) throw failure;
  }
  const shown = h("div", { id: "webhook-secret" });
  const form = actionForm(t("notify.webhook"), [
    h("label", {}, t("notify.webhook"), h("input", { name: "url", type: "url", maxlength: 2000, required: true,
      value: current ?? "", placeholder: "https://" })),
  ], t("notify.save"), (form) => api("PUT", "/api/v1/me/webhook", { url: form.elements.url.value.trim() }),
  (hook) => shown.replaceChildren(h("p", { role: "status" }, t("notify.secretOnce")),
    h("div", {}, h("code", { class: "secret" }, hook.secret), " ", copyButton(hook.secret))));
  const remove = current === null ? "" : h("button", { type: "button", class: "secondary", onclick: async () => {
    try { await api("DELETE", "/api/v1/me/webhook"); toast(t("notify.removed")); redraw(); } catch (failure) { toast(failure.message); }
  } }, t("notify.removeWebhook"));
  return h("div", {}, h("p", { class: "help" }, t("notify.webhookHelp")), form, remove, shown);
}

export async function notifyCard() {
  const body = h("div", { id: "notify-body" });
  const redraw = async () => {
    const settings = await api("GET", "/api/v1/me/notify");
    body.replaceChildren(h("h3", {}, t("notify.byEmail")), emailPart(settings, redraw),
      h("h3", {}, t("notify.balanceLow")), h("p", { class: "help" }, t("notify.balanceHelp")), balancePart(settings, redraw),
      h("h3", {}, t("notify.webhook")), await webhookPart(redraw));
  };
  await redraw();
  return h("section", { class: "card wide", "aria-labelledby": "notify-title" },
    h("h2", { id: "notify-title" }, t("notify.title")), body);
}
