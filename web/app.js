// The gpupool portal: sign in, see the pool, request a session, open Jupyter, stop it, manage
// SSH keys. Plain DOM, no framework: the page is small and must stay fast. Everything shown
// comes from the REST API (docs/api.md); text nodes only, never HTML from the server.
import { currentLanguage, pickLanguage, setLanguage, t } from "./i18n.js";

const FALLBACK_REFRESH_MS = 3000;
let csrfToken = sessionStorage.getItem("gpupool.csrf") || "";
let liveEvents = null;  // the EventSource of the page shown
let refreshTimer = null;  // polling, only where the live view is refused
let costTimer = null;  // moves the running sessions' costs on, on the sessions page

// h("tag", {attributes}, ...children): children are nodes or strings (as text).
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false)
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.message || response.statusText);
  return data;
}

function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("shown");
  setTimeout(() => box.classList.remove("shown"), 2500);
}

function show(...content) {
  const main = document.getElementById("main");
  main.replaceChildren(...content);
}

// Credits with two to four decimals: per-second charges are small.
function money(credits) {
  return new Intl.NumberFormat(currentLanguage(), { minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(credits);
}

function duration(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours > 0) return t("time.hm", { h: hours, m: String(minutes).padStart(2, "0") });
  return minutes > 0 ? t("time.m", { m: minutes }) : t("time.s", { s: seconds });
}

// ---- sign in ----

function renderLogin(message = "") {
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
      csrfToken = reply.csrf_token;
      sessionStorage.setItem("gpupool.csrf", csrfToken);
      route();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  show(form);
  form.querySelector("input").focus();
}

// ---- the home page: pool, request form, my sessions ----

function poolTable(pool) {
  return h("section", { class: "card", "aria-labelledby": "pool-title" },
    h("h2", { id: "pool-title" }, t("pool.title")),
    pool.simulated ? h("p", { class: "note" }, t("pool.simulated")) : null,
    h("table", { id: "pool" },
      h("thead", {}, h("tr", {}, ["pool.model", "pool.free", "pool.total", "pool.shared", "pool.freeMemory"]
        .map((key) => h("th", { scope: "col" }, t(key))))),
      h("tbody", {}, pool.gpu_models.map((model) => h("tr", {},
        h("th", { scope: "row" }, `${model.model} (${model.memory_gb} GB)`),
        h("td", {}, model.free), h("td", {}, model.total), h("td", {}, model.shared),
        h("td", {}, `${Math.round(model.free_memory_gb)} GB`))))),
    h("p", {}, t("pool.queue", { n: pool.queue_length })));
}

function imageNote(image, pool) {
  if (!image.cuda) return t("request.cpu");
  const nodes = pool.nodes.filter((node) => node.driver_cuda && compareVersions(node.driver_cuda, image.cuda) >= 0);
  return `${t("request.cuda", { cuda: image.cuda })}: ${nodes.map((node) => node.name).join(", ") || "—"}`;
}

function compareVersions(a, b) {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am !== bm ? am - bm : (an || 0) - (bn || 0);
}

function requestForm(pool, images) {
  const error = h("p", { class: "error", role: "alert", id: "request-error" });
  const available = images.filter((image) => image.status === "available");
  const imageSelect = h("select", { name: "image", id: "request-image" },
    available.map((image) => h("option", { value: image.tag, selected: image.default }, image.tag)));
  const imageHelp = h("small", { id: "image-help" });
  const describeImage = () => {
    const image = available.find((candidate) => candidate.tag === imageSelect.value);
    imageHelp.textContent = image ? imageNote(image, pool) : "";
  };
  imageSelect.addEventListener("change", describeImage);
  const kind = h("select", { name: "kind", id: "request-kind" },
    h("option", { value: "whole" }, t("request.whole")), h("option", { value: "share" }, t("request.share")));
  const gpus = h("label", { id: "gpus-field" }, t("request.gpus"),
    h("input", { name: "gpus", type: "number", min: 1, max: 64, value: 1, required: true }));
  const memory = h("label", { id: "memory-field", hidden: true }, t("request.memory"),
    h("input", { name: "gpu_memory_gb", type: "number", min: 1, max: 1024, step: "any", value: 10 }));
  kind.addEventListener("change", () => {
    gpus.hidden = kind.value !== "whole";
    memory.hidden = kind.value === "whole";
  });
  const form = h("form", { class: "card", id: "request", "aria-labelledby": "request-title", novalidate: true },
    h("h2", { id: "request-title" }, t("request.title")),
    h("div", { class: "grid" },
      h("label", {}, t("request.model"), h("select", { name: "gpu_model" },
        h("option", { value: "" }, t("request.any")),
        pool.gpu_models.map((model) => h("option", { value: model.model }, model.model)))),
      h("label", {}, t("request.kind"), kind), gpus, memory,
      h("label", {}, t("request.cpus"), h("input", { name: "cpus", type: "number", min: 0.5, max: 256, step: 0.5, value: 1 })),
      h("label", {}, t("request.ram"), h("input", { name: "memory_gb", type: "number", min: 1, max: 4096, value: 4 })),
      h("label", {}, t("request.image"), imageSelect, imageHelp),
      h("label", {}, t("request.hours"), h("input", { name: "max_hours", type: "number", min: 0.1, max: 720, step: "any" }))),
    error,
    h("button", { type: "submit" }, t("request.submit")));
  describeImage();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { image: data.get("image"), cpus: Number(data.get("cpus")), memory_gb: Number(data.get("memory_gb")) };
    if (data.get("gpu_model")) body.gpu_model = data.get("gpu_model");
    if (kind.value === "whole") body.gpus = Number(data.get("gpus"));
    else body.gpu_memory_gb = Number(data.get("gpu_memory_gb"));
    if (data.get("max_hours")) body.max_hours = Number(data.get("max_hours"));
    for (const [field, value] of Object.entries(body)) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        error.textContent = t("error.required", { field });
        return;
      }
    }
    error.textContent = "";
    try {
      await api("POST", "/api/v1/sessions", body);  // the live view shows it
    } catch (failure) {
      if (failure.status === 401) return renderLogin();
      error.textContent = failure.message;
    }
  });
  return form;
}

function copyButton(text) {
  return h("button", { type: "button", class: "small", onclick: async (event) => {
    await navigator.clipboard.writeText(text).catch(() => {});
    event.target.textContent = t("sessions.copied");
  } }, t("sessions.copy"));
}

function sessionRow(session) {
  const gpus = session.gpus.memory_gb ? t("sessions.share", { gb: session.gpus.memory_gb })
    : `${session.gpus.count} × ${session.gpus.model || session.cost?.gpu_model || "GPU"}`;
  const actions = h("td", { class: "actions" });
  if (session.jupyter) {
    actions.append(h("a", { class: "button", href: session.jupyter.url, target: "_blank", rel: "noopener" },
      t("sessions.open")));
  }
  if (session.state !== "ended" && session.state !== "stopping") {
    actions.append(h("button", { type: "button", class: "secondary", onclick: async () => {
      try { await api("DELETE", `/api/v1/sessions/${session.id}`); }
      catch (failure) { toast(failure.message); }
    } }, t("sessions.stop")));
  }
  const details = [];
  if (session.reason) details.push(h("div", { class: "reason" }, session.reason));
  if (session.warning) details.push(h("div", { class: "warning" }, session.warning));
  if (session.cost) {
    // A running session's meter moves on between updates from the server: tickCosts().
    details.push(h("div", { class: "cost", "data-so-far": session.cost.so_far, "data-rate": session.cost.hourly_rate,
      "data-since": Date.now(), "data-running": session.state === "running" }, costText(session.cost.so_far, session.cost.hourly_rate)));
  }
  if (session.ssh) {
    details.push(h("div", {}, h("code", {}, session.ssh.command), " ", copyButton(session.ssh.command)));
    if (session.ssh.host_key)
      details.push(h("div", { class: "fingerprint" }, `${t("sessions.hostKey")}: ${session.ssh.host_key.fingerprint}`));
  }
  return h("tr", { "data-session": session.id },
    h("td", {}, h("code", {}, session.id)),
    h("td", {}, h("span", { class: `state ${session.state}` }, t(`state.${session.state}`)), details),
    h("td", {}, gpus), h("td", {}, session.image), actions);
}

function costText(soFar, rate) {
  return t("sessions.cost", { cost: money(soFar), rate: money(rate) });
}

function tickCosts() {
  for (const element of document.querySelectorAll(".cost[data-running]")) {
    const seconds = Math.floor((Date.now() - Number(element.dataset.since)) / 1000);
    const rate = Number(element.dataset.rate);
    element.textContent = costText(Number(element.dataset.soFar) + rate * seconds / 3600, rate);
  }
}

function sessionsTable(sessions) {
  const visible = sessions.filter((session) => session.state !== "ended").concat(
    sessions.filter((session) => session.state === "ended").slice(-5));
  return h("section", { class: "card", id: "sessions", "aria-labelledby": "sessions-title" },
    h("h2", { id: "sessions-title" }, t("sessions.title")),
    visible.length === 0 ? h("p", {}, t("sessions.none")) :
      h("table", {},
        h("thead", {}, h("tr", {}, ["", "sessions.state", "sessions.gpus", "sessions.image", "sessions.actions"]
          .map((key) => h("th", { scope: "col" }, key ? t(key) : "ID")))),
        h("tbody", {}, visible.map(sessionRow))));
}

// ---- live view: server-sent events from GET /api/v1/events ----

// Calls handlers[name](document) for each event as the server sends it (at the start, then on
// every change). The browser reconnects by itself after a drop; when it gives up (signed out,
// or too many tabs open), the page checks the login and falls back to polling.
function watchLive(handlers) {
  stopLive();
  const events = new EventSource("/api/v1/events");
  for (const [name, handler] of Object.entries(handlers))
    events.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  events.onerror = async () => {
    if (events.readyState !== EventSource.CLOSED || liveEvents !== events) return;
    stopLive();
    try {
      await api("GET", "/api/v1/me");
      refreshTimer = setInterval(() => pollLive(handlers), FALLBACK_REFRESH_MS);
    } catch (failure) {
      if (failure.status === 401) renderLogin();
    }
  };
  liveEvents = events;
}

async function pollLive(handlers) {
  try {
    const [pool, sessions, nodes] = await Promise.all([api("GET", "/api/v1/pool"), api("GET", "/api/v1/sessions"),
      handlers.nodes ? api("GET", "/api/v1/nodes") : null]);
    handlers.pool?.(pool);
    handlers.sessions?.(sessions);
    if (nodes) handlers.nodes(nodes);
  } catch (failure) {
    if (failure.status === 401) renderLogin();
  }
}

function stopLive() {
  liveEvents?.close();
  liveEvents = null;
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  if (costTimer) clearInterval(costTimer);
  costTimer = null;
}

async function renderHome() {
  const [pool, images, sessions] = await Promise.all([
    api("GET", "/api/v1/pool"), api("GET", "/api/v1/images"), api("GET", "/api/v1/sessions")]);
  show(h("div", { id: "pool-card" }, poolTable(pool)), requestForm(pool, images.images),
    h("div", { id: "sessions-card" }, sessionsTable(sessions.sessions)));
  // Live: states, reasons and free GPUs change without reloading the page.
  watchLive({
    pool: (pool) => document.getElementById("pool-card")?.replaceChildren(poolTable(pool)),
    sessions: (list) => document.getElementById("sessions-card")?.replaceChildren(sessionsTable(list.sessions)),
  });
  costTimer = setInterval(tickCosts, 1000);
}

// ---- SSH keys ----

async function renderKeys() {
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

// ---- usage: what my sessions ran and cost ----

async function renderUsage() {
  stopLive();
  const [usage, prices, balance] = await Promise.all([
    api("GET", "/api/v1/usage"), api("GET", "/api/v1/prices"), api("GET", "/api/v1/balance")]);
  const rows = usage.sessions.slice().reverse().map((line) => h("tr", {},
    h("td", {}, h("code", {}, line.id)), h("td", {}, t(`state.${line.state}`)),
    h("td", {}, `${line.gpus} × ${line.gpu_model}`), h("td", {}, new Date(line.started_at).toLocaleString(currentLanguage())),
    h("td", { class: "figure" }, duration(line.billed_seconds)), h("td", { class: "figure" }, money(line.hourly_rate)),
    h("td", { class: "figure" }, money(line.cost))));
  const entries = balance.entries.map((entry) => h("tr", {},
    h("td", {}, new Date(entry.at).toLocaleString(currentLanguage())), h("td", {}, t(`ledger.${entry.kind}`)),
    h("td", { class: "figure" }, money(entry.amount)), h("td", {}, entry.session ? h("code", {}, entry.session) : entry.note)));
  show(h("h1", {}, t("usage.title")),
    h("section", { class: "card", "aria-labelledby": "balance-title" },
      h("h2", { id: "balance-title" }, t("balance.title", { balance: money(balance.balance) })),
      h("p", { class: "help" }, t(balance.prepaid ? "balance.prepaid" : "balance.postpaid",
        { running: money(balance.running_cost) })),
      entries.length === 0 ? h("p", {}, t("balance.none")) :
        table("ledger", ["balance.at", "balance.kind", "balance.amount", "balance.what"], entries)),
    h("section", { class: "card", "aria-labelledby": "usage-total" },
      h("h2", { id: "usage-total" }, t("usage.total", { cost: money(usage.total_cost) })),
      usage.by_model.length === 0 ? h("p", {}, t("usage.none")) :
        table("usage-models", ["usage.model", "usage.gpuHours", "usage.cost"], usage.by_model.map((model) => h("tr", {},
          h("th", { scope: "row" }, model.gpu_model), h("td", { class: "figure" }, model.gpu_hours.toFixed(3)),
          h("td", { class: "figure" }, money(model.cost)))))),
    h("section", { class: "card wide", "aria-label": t("usage.sessions") }, h("h2", {}, t("usage.sessions")),
      rows.length === 0 ? h("p", {}, t("usage.none")) :
        table("usage-sessions", ["usage.session", "sessions.state", "sessions.gpus", "usage.started", "usage.ran",
          "usage.rate", "usage.cost"], rows)),
    h("section", { class: "card", "aria-label": t("usage.prices") }, h("h2", {}, t("usage.prices")),
      prices.prices.length === 0 ? h("p", {}, t("usage.free")) :
        table("prices-list", ["usage.model", "usage.rate"], prices.prices.map((price) => h("tr", {},
          h("th", { scope: "row" }, price.gpu_model), h("td", { class: "figure" }, money(price.per_gpu_hour)))))));
}

// ---- admin: nodes, users and groups, quotas, images ----

function table(id, headings, rows) {
  return h("table", { id },
    h("thead", {}, h("tr", {}, headings.map((key) => h("th", { scope: "col" }, t(key))))),
    h("tbody", {}, rows));
}

function nodeRow(node) {
  const toggle = h("button", { type: "button", class: node.drained ? "" : "secondary", onclick: async () => {
    try { await api("PUT", `/api/v1/nodes/${encodeURIComponent(node.name)}`, { drained: !node.drained }); renderAdmin(); }
    catch (failure) { toast(failure.message); }
  } }, t(node.drained ? "admin.undrain" : "admin.drain"));
  const state = [t(node.state === "up" ? "admin.up" : "admin.down")];
  if (node.drained) state.push(` (${t("admin.drained")})`);
  if (node.simulated) state.push(` (${t("admin.simulated")})`);
  return h("tr", { "data-node": node.name },
    h("th", { scope: "row" }, node.name), h("td", {}, state), h("td", {}, `${node.gpus_free} / ${node.gpus_total}`),
    h("td", {}, node.cpus), h("td", {}, `${node.memory_gb} GB`), h("td", {}, node.driver_cuda || "—"),
    h("td", {}, Object.entries(node.labels || {}).map(([key, value]) => `${key}=${value}`).join(", ")),
    h("td", {}, toggle));
}

function nodesTable(nodes) {
  return table("nodes", ["admin.node", "admin.state", "admin.gpus", "admin.cpus", "admin.memory", "admin.driver",
    "admin.labels", "sessions.actions"], nodes.map(nodeRow));
}

// One row per GPU of every node: who holds it and its latest reading ("—" where the GPU
// cannot report a figure, or its node is silent).
function gpuRow(node, gpu) {
  const figure = (value, unit) => value === null || value === undefined ? "—" : `${value}${unit}`;
  const utilization = gpu.utilization_percent === null ? "—" : [
    h("meter", { min: 0, max: 100, value: gpu.utilization_percent, "aria-label": t("admin.utilization") }),
    ` ${gpu.utilization_percent}%`];
  const memory = gpu.memory_used_gb === null ? "—" : `${gpu.memory_used_gb} / ${gpu.memory_gb} GB`;
  const power = gpu.power_w === null ? "—"
    : gpu.power_limit_w === null ? `${gpu.power_w} W` : `${gpu.power_w} / ${gpu.power_limit_w} W`;
  const hot = gpu.temperature_c !== null && gpu.temperature_c >= 85;
  return h("tr", { "data-gpu": `${node.name}/${gpu.index}` },
    h("th", { scope: "row" }, `${node.name} #${gpu.index}`),
    h("td", {}, gpu.model, gpu.simulated ? ` (${t("admin.simulated")})` : ""),
    h("td", {}, gpu.sessions.map((held) => `${held.user} (${held.id})`).join(", ") || t("admin.idle")),
    h("td", { class: "figure" }, utilization), h("td", { class: "figure" }, memory),
    h("td", { class: hot ? "figure hot" : "figure" }, figure(gpu.temperature_c, " °C")),
    h("td", { class: "figure" }, power));
}

function gpusTable(nodes) {
  return table("gpus", ["admin.gpu", "admin.model", "admin.heldBy", "admin.utilization", "admin.gpuMemory",
    "admin.temperature", "admin.power"], nodes.flatMap((node) => node.gpus.map((gpu) => gpuRow(node, gpu))));
}

// A small admin form: its fields, a submit button and an error line; `send(form)` does the
// work, and the admin page is drawn again after it succeeds.
function adminForm(label, fields, submit, send) {
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "inline", "aria-label": label }, fields, h("button", { type: "submit" }, submit), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await send(form);
      toast(t("admin.saved"));
      renderAdmin();
    } catch (failure) {
      if (failure.status === 401) return renderLogin();
      error.textContent = failure.message;
    }
  });
  return form;
}

// A key per form as drawn: a double click or a resent request tops up once.
function idempotencyKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function topUpForm(user) {
  const key = idempotencyKey();
  return adminForm(t("admin.topUpOf", { user: user.username }), [
    h("input", { name: "amount", type: "number", step: "any", required: true, size: 8,
      "aria-label": t("admin.topUpOf", { user: user.username }) }),
  ], t("admin.topUp"), (form) => api("POST", `/api/v1/users/${encodeURIComponent(user.username)}/balance`,
    { amount: Number(form.elements.amount.value), idempotency_key: key }));
}

function usersCard(users) {
  const addUser = adminForm(t("admin.addUser"), [
    h("label", {}, t("admin.newUserName"), h("input", { name: "username", required: true, autocomplete: "off" })),
    h("label", {}, t("admin.newUserPassword"),
      h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" })),
    h("label", { class: "check" }, h("input", { name: "admin", type: "checkbox" }), t("admin.newUserAdmin")),
  ], t("admin.addUser"), (form) => api("POST", "/api/v1/users", {
    username: form.elements.username.value.trim(), password: form.elements.password.value,
    admin: form.elements.admin.checked,
  }));
  return h("section", { class: "card", "aria-label": t("admin.users") }, h("h2", {}, t("admin.users")),
    h("div", { class: "wide" }, table("users", ["admin.user", "admin.role", "admin.groups", "admin.balance", "admin.topUp"],
      users.map((user) => h("tr", {},
        h("th", { scope: "row" }, user.username), h("td", {}, t(user.admin ? "admin.roleAdmin" : "admin.roleUser")),
        h("td", {}, user.groups.join(", ") || "—"), h("td", { class: "figure" }, money(user.balance)),
        h("td", {}, topUpForm(user)))))),
    addUser);
}

function groupsCard(groups) {
  const rows = groups.map((group) => h("tr", {}, h("th", { scope: "row" }, group.name),
    h("td", {}, adminForm(t("admin.membersOf", { group: group.name }), [
      h("input", { name: "users", value: group.members.join(", "), "aria-label": t("admin.membersOf", { group: group.name }),
        "aria-describedby": "members-help", size: 40 }),
    ], t("admin.save"), (form) => api("PUT", `/api/v1/groups/${encodeURIComponent(group.name)}/members`, {
      users: form.elements.users.value.split(",").map((name) => name.trim()).filter(Boolean),
    })))));
  const newGroup = adminForm(t("admin.newGroup"), [
    h("label", {}, t("admin.groupName"), h("input", { name: "name", required: true, autocomplete: "off" })),
  ], t("admin.create"), (form) => api("POST", "/api/v1/groups", { name: form.elements.name.value.trim() }));
  return h("section", { class: "card", "aria-label": t("admin.groups") }, h("h2", {}, t("admin.groups")),
    groups.length === 0 ? h("p", {}, t("admin.noGroups")) : table("groups", ["admin.group", "admin.members"], rows),
    h("p", { id: "members-help", class: "help" }, t("admin.membersHelp")), newGroup);
}

// Every model in the pool (and any priced one no node has now), each with a form to set its price.
function pricesCard(pool, prices) {
  const priced = new Map(prices.map((price) => [price.gpu_model, price.per_gpu_hour]));
  const models = [...new Set([...pool.gpu_models.map((model) => model.model), ...priced.keys()])].sort();
  const rows = models.map((model) => h("tr", {}, h("th", { scope: "row" }, model),
    h("td", { class: "figure" }, priced.has(model) ? money(priced.get(model)) : t("admin.noPrice")),
    h("td", {}, adminForm(t("admin.priceOf", { model }), [
      h("input", { name: "price", type: "number", min: 0, max: 10000, step: "any", required: true,
        value: priced.get(model) ?? "", "aria-label": t("admin.priceOf", { model }) }),
    ], t("admin.setPrice"), (form) => {
      const value = Number(form.elements.price.value);
      if (form.elements.price.value === "" || !Number.isFinite(value)) throw new Error(t("admin.priceNeeded"));
      return api("PUT", `/api/v1/prices/${encodeURIComponent(model)}`, { per_gpu_hour: value });
    }))));
  return h("section", { class: "card", "aria-label": t("admin.prices") }, h("h2", {}, t("admin.prices")),
    h("p", { class: "help" }, t("admin.pricesHelp")),
    table("prices", ["admin.model", "admin.perGpuHour", "sessions.actions"], rows));
}

// Sets a user's or group's whole quota: a limit left empty is lifted (the API's rule).
function quotaForm() {
  const number = (name, label, step) => h("label", {}, t(label),
    h("input", { name, type: "number", min: 0, step, "aria-describedby": "quota-help" }));
  return adminForm(t("admin.setQuota"), [
    h("label", {}, t("admin.scope"), h("select", { name: "scope" },
      h("option", { value: "user" }, t("admin.user")), h("option", { value: "group" }, t("admin.group")))),
    h("label", {}, t("admin.quotaName"), h("input", { name: "name", required: true, autocomplete: "off" })),
    number("max_gpus", "admin.maxGpus", 1), number("max_sessions", "admin.maxSessions", 1),
    number("max_gpu_memory_gb", "admin.maxMemoryGb", "any"), number("max_session_hours", "admin.maxHours", "any"),
    h("p", { id: "quota-help", class: "help" }, t("admin.quotaHelp")),
  ], t("admin.setQuota"), (form) => {
    const body = {};
    for (const field of ["max_gpus", "max_sessions", "max_gpu_memory_gb", "max_session_hours"]) {
      if (form.elements[field].value !== "") body[field] = Number(form.elements[field].value);
    }
    const scope = form.elements.scope.value;
    return api("PUT", `/api/v1/quotas/${scope}/${encodeURIComponent(form.elements.name.value.trim())}`, body);
  });
}

function limit(value, unit = "") { return value === null || value === undefined ? "—" : `${value}${unit}`; }

async function renderAdmin() {
  stopLive();
  const [pool, nodes, quotas, images, users, groups, prices] = await Promise.all([
    api("GET", "/api/v1/pool"), api("GET", "/api/v1/nodes"), api("GET", "/api/v1/quotas"),
    api("GET", "/api/v1/images"), api("GET", "/api/v1/users"), api("GET", "/api/v1/groups"),
    api("GET", "/api/v1/prices")]);
  show(h("h1", {}, t("admin.title")),
    h("section", { class: "card", "aria-label": t("admin.nodes") }, h("h2", {}, t("admin.nodes")),
      nodesTable(nodes.nodes)),
    h("section", { class: "card wide", "aria-label": t("admin.gpusTitle") }, h("h2", {}, t("admin.gpusTitle")),
      gpusTable(nodes.nodes)),
    h("div", { id: "pool-card" }, poolTable(pool)),
    pricesCard(pool, prices.prices),
    usersCard(users.users), groupsCard(groups.groups),
    h("section", { class: "card", "aria-label": t("admin.quotas") }, h("h2", {}, t("admin.quotas")),
      quotas.quotas.length === 0 ? h("p", {}, t("admin.noQuotas")) :
        table("quotas", ["admin.scope", "admin.maxGpus", "admin.maxSessions", "admin.maxMemory", "admin.maxHours",
          "admin.byModel"], quotas.quotas.map((quota) => h("tr", {},
          h("th", { scope: "row" }, `${quota.scope} ${quota.name}`), h("td", {}, limit(quota.max_gpus)),
          h("td", {}, limit(quota.max_sessions)), h("td", {}, limit(quota.max_gpu_memory_gb, " GB")),
          h("td", {}, limit(quota.max_session_hours)),
          h("td", {}, Object.entries(quota.max_gpus_by_model || {}).map(([m, n]) => `${m}: ${n}`).join(", "))))),
      quotaForm()),
    h("section", { class: "card", "aria-label": t("admin.images") }, h("h2", {}, t("admin.images")),
      table("images", ["admin.image", "admin.framework", "admin.cuda", "admin.status"], images.images.map((image) =>
        h("tr", {}, h("th", { scope: "row" }, image.tag), h("td", {}, `${image.framework} ${image.framework_version}`),
          h("td", {}, image.cuda || "—"), h("td", {}, image.status))))));
  // Live: the GPUs' readings arrive with every sync of their node; the server sends them on
  // when a figure changes.
  watchLive({
    pool: (pool) => document.getElementById("pool-card")?.replaceChildren(poolTable(pool)),
    nodes: (list) => {
      document.getElementById("nodes")?.replaceWith(nodesTable(list.nodes));
      document.getElementById("gpus")?.replaceWith(gpusTable(list.nodes));
    },
  });
}

// ---- routing ----

async function route() {
  try {
    const me = await api("GET", "/api/v1/me");
    if (me.csrf_token) {
      csrfToken = me.csrf_token;
      sessionStorage.setItem("gpupool.csrf", csrfToken);
    }
    document.getElementById("nav").hidden = false;
    document.getElementById("logout").hidden = false;
    document.getElementById("who").textContent = me.username;
    document.getElementById("admin-link").hidden = !me.admin;
    if (location.hash === "#/keys") await renderKeys();
    else if (location.hash === "#/usage") await renderUsage();
    else if (location.hash === "#/admin" && me.admin) await renderAdmin();
    else await renderHome();
  } catch (failure) {
    if (failure.status === 401) renderLogin();
    else show(h("p", { class: "error", role: "alert" }, failure.message));
  }
}

function start() {
  const select = document.getElementById("language");
  setLanguage(pickLanguage(), false);
  select.value = currentLanguage();
  select.addEventListener("change", () => { setLanguage(select.value, true); route(); });
  document.getElementById("logout").addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout").catch(() => {});
    sessionStorage.removeItem("gpupool.csrf");
    renderLogin();
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
