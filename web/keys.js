// The SSH keys page.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, show, toast } from "./dom.js";
import { stopLive } from "./live.js";

export async function renderKeys() {
  stopLive();
  const me = await api("GET", "/api/v1/me");
  const text = h("textarea", { name: "keys", rows: 6, "aria-describedby": "keys-help", spellcheck: "false" },
    me.ssh_keys.map((key) => key.key).join("\n"));
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card", "aria-labelledby": "keys-title" },
    h("h1", { id: "keys-title" }, t("keys.title")),
    h("p", { id: "keys-help" }, t("keys.help")),
    h("ul", {}, me.ssh_keys.map((key) => h("li", {}, h("code", {}, key.fingerprint)))),
    h("label", {}, t("keys.title"), text), error,
    h("button", { type: "submit" }, t("keys.save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const keys = text.value.split("\n").map((line) => line.trim()).filter(Boolean);
    try { await api("PUT", "/api/v1/me/ssh-keys", { keys }); toast(t("keys.saved")); renderKeys(); }
    catch (failure) { error.textContent = failure.message; }
  });
  show(form);
}
