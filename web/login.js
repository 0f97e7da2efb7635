// The sign-in page.
import { t } from "./i18n.js";
import { api, setCsrfToken } from "./api.js";
import { h, show } from "./dom.js";
import { stopLive } from "./live.js";

// The organisation's identity provider, when one is set up: a link that starts its sign-in
// (the server sends the browser there and back, then to the portal signed in).
async function providerLink(form) {
  let providers;
  try {
    providers = await api("GET", "/api/v1/auth/providers");
  } catch {
    return;
  }
  if (!providers.oidc) return;
  const link = h("a", { class: "button", id: "sign-in-with", href: providers.oidc.url },
    t("login.with", { name: providers.oidc.name }));
  form.querySelector("h1").after(link, ...(providers.password ? [h("p", { class: "muted" }, t("login.or"))] : []));
  if (!providers.password) form.querySelectorAll("label, button").forEach((element) => element.remove());
}

// `onSignedIn` draws the page the user came for. A sign-in the identity provider's callback
// refused comes back with ?sign_in_error=…, said here once.
export function renderLogin(onSignedIn, message = "") {
  const query = new URLSearchParams(location.search);
  if (query.has("sign_in_error")) {
    message = query.get("sign_in_error");
    history.replaceState(null, "", location.pathname + location.hash);
  }
  stopLive();
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const error = h("p", { class: "error", role: "alert", id: "login-error" }, message);
  const form = h("form", { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, t("login.title")),
    h("label", {}, t("login.user"), h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, t("login.password"),
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    error,
    h("button", { type: "submit" }, t("login.submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const reply = await api("POST", "/api/v1/auth/login",
        { username: data.get("username"), password: data.get("password") });
      setCsrfToken(reply.csrf_token);
      onSignedIn();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  show(form);
  form.querySelector("input").focus();
  providerLink(form);
}
