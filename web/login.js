// The sign-in page.
import { t } from "./i18n.js";
import { api, setCsrfToken } from "./api.js";
import { h, show } from "./dom.js";
import { stopLive } from "./live.js";

// `onSignedIn` draws the page the user came for.
export function renderLogin(onSignedIn, message = "") {
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
}
