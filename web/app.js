// The gpupool portal: sign in, see the pool, request a session, open Jupyter, stop it, manage
// SSH keys, the account's password and tokens. Plain DOM, no framework: the page is small and must stay fast. Everything shown
// comes from the REST API (docs/api.md); text nodes only, never HTML from the server.
// This module routes between the pages (#/, #/usage, #/keys, #/account, #/admin).
import { currentLanguage, pickLanguage, setLanguage } from "./i18n.js";
import { renderAccount } from "./account.js";
import { renderAdmin } from "./admin.js";
import { api, setCsrfToken } from "./api.js";
import { h, show } from "./dom.js";
import { renderHome } from "./home.js";
import { renderKeys } from "./keys.js";
import { onSignedOut } from "./live.js";
import { renderLogin } from "./login.js";
import { renderUsage } from "./usage.js";

function signIn() { renderLogin(route); }

async function route() {
  try {
    const me = await api("GET", "/api/v1/me");
    if (me.csrf_token) setCsrfToken(me.csrf_token);
    document.getElementById("nav").hidden = false;
    document.getElementById("logout").hidden = false;
    document.getElementById("who").textContent = me.username;
    document.getElementById("admin-link").hidden = !me.admin;
    if (location.hash === "#/keys") await renderKeys();
    else if (location.hash === "#/account") await renderAccount();
    else if (location.hash === "#/usage") await renderUsage();
    else if (location.hash === "#/admin" && me.admin) await renderAdmin();
    else await renderHome();
  } catch (failure) {
    if (failure.status === 401) signIn();
    else show(h("p", { class: "error", role: "alert" }, failure.message));
  }
}

function start() {
  onSignedOut(signIn);
  const select = document.getElementById("language");
  setLanguage(pickLanguage(), false);
  select.value = currentLanguage();
  select.addEventListener("change", () => { setLanguage(select.value, true); route(); });
  document.getElementById("logout").addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout").catch(() => {});
    setCsrfToken("");
    signIn();
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
