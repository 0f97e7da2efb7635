// The admin page: nodes and their GPUs, open sessions, users and groups, balances, prices, quotas,
// the image catalog (images.js),
// the pool over time (charts.js), the efficiency report and anyone's statement (reports.js),
// the audit log.
import { t } from "./i18n.js";
import { api, newIdempotencyKey } from "./api.js";
import { credentialsTable } from "./account.js";
import { auditCard } from "./audit.js";
import { actionForm, h, show, table, toast } from "./dom.js";
import { bytesText, limit, money } from "./format.js";
import { poolTable } from "./home.js";
import { efficiencyCard, statementCard } from "./reports.js";
import { poolChartCard } from "./charts.js";
import { imagesCard, rolloutsCard } from "./images.js";
import { stopLive, watchLive } from "./live.js";

function nodeRow(node) {
  // Slurm's nodes are drained in Slurm (the API says how); gpupool does not place on them.
  const toggle = node.labels?.slurm ? "—" : h("button", { type: "button", class: node.drained ? "" : "secondary", onclick: async () => {
    try { await api("PUT", `/api/v1/nodes/${encodeURIComponent(node.name)}`, { drained: !node.drained }); renderAdmin(); }
    catch (failure) { toast(failure.message); }
  } }, t(node.drained ? "admin.undrain" : "admin.drain"));
  const state = [t(`admin.node_${node.state}`)];
  if (node.simulated) state.push(` (${t("admin.simulated")})`);
  if (node.agent_outdated) state.push(` (${t("admin.agent_outdated", { protocol: node.agent_protocol })})`);
  return h("tr", { "data-node": node.name },
    h("th", { scope: "row" }, node.name), h("td", {}, state), h("td", {}, `${node.gpus_free} / ${node.gpus_total}`),
    h("td", {}, node.cpus), h("td", {}, `${node.memory_gb} GB`), h("td", {}, node.driver_cuda || "—"),
    h("td", {}, engineText(node)),
    h("td", {}, Object.entries(node.labels || {}).map(([key, value]) => `${key}=${value}`).join(", ")),
    h("td", { class: "disk" }, diskText(node.disk)), h("td", {}, toggle));
}

// Its container engine, and how the engine hands sessions their GPUs (docs/gpu.md).
function engineText(node) {
  if (!node.engine) return "—";
  return node.gpu_devices ? `${node.engine}; ${t("admin.gpuDevices", { how: node.gpu_devices })}` : node.engine;
}

// What the node's engine takes of its disk, and the unused images its agent removed.
function diskText(disk) {
  if (!disk) return "—";
  const parts = [t("admin.diskUse", { images: bytesText(disk.images_bytes), n: disk.images,
    containers: bytesText(disk.containers_bytes), volumes: bytesText(disk.volumes_bytes) })];
  if (disk.free_bytes !== null) parts.push(t("admin.diskFree", { free: bytesText(disk.free_bytes) }));
  if (disk.images_collected > 0)
    parts.push(t("admin.diskCollected", { n: disk.images_collected, size: bytesText(disk.collected_bytes) }));
  return parts.join("; ");
}

function nodesTable(nodes) {
  return table("nodes", ["admin.node", "admin.state", "admin.gpus", "admin.cpus", "admin.memory", "admin.driver",
    "admin.engine", "admin.labels", "admin.disk", "sessions.actions"], nodes.map(nodeRow));
}

// Containers a node runs for sessions the database does not know (a lost or restored
// database): left running and fenced until an admin adopts or removes them
// (docs/operations.md).
function unknownContainers(list) {
  if (list.length === 0) return h("div", { id: "unknown-containers" });
  const path = (entry) =>
    `/api/v1/nodes/${encodeURIComponent(entry.node)}/unknown-containers/${encodeURIComponent(entry.session)}`;
  const act = (run) => async () => {
    try {
      await run();
      renderAdmin();
    } catch (failure) { toast(failure.message); }
  };
  const actions = (entry) => entry.removal_requested ? t("admin.removing") : [
    h("button", { type: "button", onclick: act(() => api("POST", `${path(entry)}/adopt`)) }, t("admin.adopt")),
    " ",
    h("button", { type: "button", class: "danger",
      onclick: act(async () => {
        if (window.confirm(t("admin.confirmRemoveUnknown", { session: entry.session }))) await api("DELETE", path(entry));
      }) }, t("admin.remove")),
  ];
  const rows = list.map((entry) => h("tr", {},
    h("th", { scope: "row" }, entry.session), h("td", {}, entry.node), h("td", {}, entry.user || "—"),
    h("td", {}, entry.holdings_known ? entry.gpu_indices.join(", ") || "—" : t("admin.allGpus")),
    h("td", {}, new Date(entry.first_seen).toLocaleString()),
    h("td", {}, actions(entry))));
  return h("div", { id: "unknown-containers", role: "alert" }, h("h3", {}, t("admin.unknownTitle")),
    h("p", { class: "warning" }, t("admin.unknownHelp")),
    table("unknown", ["admin.session", "admin.node", "admin.user", "admin.gpu", "admin.firstSeen", "sessions.actions"], rows));
}

// Every open session, with the explicit, audited way in for helping its user: the server
// hands out a one-use link into the session's own origin (docs/security.md).
// Exempts a session from idle reclaim, or lifts the exemption; the label follows.
function exemptButton(session) {
  let exempt = Boolean(session.idle?.exempt);
  const label = () => t(exempt ? "admin.unexempt" : "admin.exempt");
  const button = h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      const updated = await api("PUT", `/api/v1/sessions/${session.id}/idle`, { exempt: !exempt });
      exempt = Boolean(updated.idle?.exempt);
      button.textContent = label();
      toast(t(exempt ? "admin.exempted" : "admin.unexempted", { session: session.id }));
    } catch (failure) { toast(failure.message); }
  } }, label());
  return button;
}

function sessionsCard(sessions) {
  const open = sessions.filter((session) => session.state === "running" || session.state === "starting");
  const rows = open.map((session) => h("tr", { "data-session": session.id },
    h("th", { scope: "row" }, session.id), h("td", {}, session.user), h("td", {}, session.state),
    h("td", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        const { url } = await api("POST", `/api/v1/sessions/${session.id}/entry`);
        window.open(url, "_blank", "noopener");
      } catch (failure) { toast(failure.message); }
    } }, t("admin.enter")), " ", exemptButton(session))));
  return h("section", { class: "card", "aria-label": t("admin.sessions") }, h("h2", {}, t("admin.sessions")),
    h("p", {}, t("admin.enterNote")),
    open.length === 0 ? h("p", {}, t("admin.noSessions"))
      : table("admin-sessions", ["admin.session", "admin.user", "sessions.state", "sessions.actions"], rows));
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
  // Who holds the GPU, and what each takes of it where the driver says (shared GPUs).
  const holderText = (held) => {
    const use = [held.memory_used_gb === null ? null : `${held.memory_used_gb} GB`,
      held.utilization_percent === null ? null : `${held.utilization_percent}%`].filter((part) => part !== null);
    return `${held.user} (${held.id}${use.length ? `: ${use.join(", ")}` : ""})`;
  };
  return h("tr", { "data-gpu": `${node.name}/${gpu.index}` },
    h("th", { scope: "row" }, `${node.name} #${gpu.index}`),
    h("td", {}, gpu.model, gpu.simulated ? ` (${t("admin.simulated")})` : ""),
    h("td", {}, gpu.sessions.map(holderText).join(", ") || t("admin.idle")),
    h("td", { class: "figure" }, utilization), h("td", { class: "figure" }, memory),
    h("td", { class: hot ? "figure hot" : "figure" }, figure(gpu.temperature_c, " °C")),
    h("td", { class: "figure" }, power));
}

function gpusTable(nodes) {
  return table("gpus", ["admin.gpu", "admin.model", "admin.heldBy", "admin.utilization", "admin.gpuMemory",
    "admin.temperature", "admin.power"], nodes.flatMap((node) => node.gpus.map((gpu) => gpuRow(node, gpu))));
}

// A small admin form: after it succeeds, the admin page is drawn again.
function adminForm(label, fields, submit, send) {
  return actionForm(label, fields, submit, send, () => { toast(t("admin.saved")); renderAdmin(); });
}

function topUpForm(user) {
  const key = newIdempotencyKey();  // per form as drawn: a double click tops up once
  return adminForm(t("admin.topUpOf", { user: user.username }), [
    h("input", { name: "amount", type: "number", step: "any", required: true, size: 8,
      "aria-label": t("admin.topUpOf", { user: user.username }) }),
  ], t("admin.topUp"), (form) => api("POST", `/api/v1/users/${encodeURIComponent(user.username)}/balance`,
    { amount: Number(form.elements.amount.value), idempotency_key: key }));
}

// What an admin can change about a user's access, and the user's sign-ins and tokens. Every
// change here ends what it should at once (docs/api.md) and is written to the audit log.
async function userPanel(user) {
  const path = `/api/v1/users/${encodeURIComponent(user.username)}`;
  const change = (body, confirmText) => async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    try {
      const result = await api("PATCH", path, body);
      toast(t("admin.accessChanged", { user: user.username, n: result.credentials_ended, stopped: result.sessions_stopped }));
      renderAdmin(user.username);
    } catch (failure) { toast(failure.message); }
  };
  const button = (label, onclick, kind = "secondary") => h("button", { type: "button", class: kind, onclick }, t(label));
  const { tokens } = await api("GET", `${path}/tokens`);
  const body = h("div", { id: "user-tokens" });
  const redraw = async () => body.replaceChildren(
    credentialsTable("user-credentials", (await api("GET", `${path}/tokens`)).tokens, `${path}/tokens`, redraw));
  body.append(credentialsTable("user-credentials", tokens, `${path}/tokens`, redraw));
  return h("section", { class: "card wide", id: "user-panel", "aria-label": t("admin.manageUser", { user: user.username }) },
    h("h2", {}, t("admin.manageUser", { user: user.username })),
    h("p", {}, t(user.admin ? "admin.roleAdmin" : "admin.roleUser"), ", ", t(user.disabled ? "admin.disabled" : "admin.enabled")),
    h("div", { class: "actions" },
      user.admin ? button("admin.revokeAdmin", change({ admin: false })) : button("admin.grantAdmin", change({ admin: true })),
      user.disabled ? button("admin.enableUser", change({ disabled: false }), "")
        : [button("admin.disableUser", change({ disabled: true }, t("admin.confirmDisable", { user: user.username })), "danger"),
          button("admin.disableAndStop", change({ disabled: true, stop_sessions: true },
            t("admin.confirmDisableStop", { user: user.username })), "danger")]),
    h("h3", {}, t("account.credentials")), body);
}

function usersCard(users, managed) {
  const addUser = adminForm(t("admin.addUser"), [
    h("label", {}, t("admin.newUserName"), h("input", { name: "username", required: true, autocomplete: "off" })),
    h("label", {}, t("admin.newUserPassword"),
      h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" })),
    h("label", { class: "check" }, h("input", { name: "admin", type: "checkbox" }), t("admin.newUserAdmin")),
  ], t("admin.addUser"), (form) => api("POST", "/api/v1/users", {
    username: form.elements.username.value.trim(), password: form.elements.password.value,
    admin: form.elements.admin.checked,
  }));
  const panel = h("div", { id: "user-panel-place" });
  const manage = async (user) => {
    try { panel.replaceChildren(await userPanel(user)); panel.scrollIntoView({ block: "nearest" }); }
    catch (failure) { toast(failure.message); }
  };
  const chosen = users.find((user) => user.username === managed);
  if (chosen) manage(chosen);
  return h("section", { class: "card", "aria-label": t("admin.users") }, h("h2", {}, t("admin.users")),
    h("div", { class: "wide" }, table("users", ["admin.user", "admin.role", "admin.groups", "admin.balance", "admin.topUp",
      "admin.access"], users.map((user) => h("tr", { class: user.disabled ? "disabled" : "" },
        h("th", { scope: "row" }, user.username),
        h("td", {}, t(user.admin ? "admin.roleAdmin" : "admin.roleUser"), user.disabled ? ` (${t("admin.disabled")})` : ""),
        h("td", {}, user.groups.join(", ") || "—"), h("td", { class: "figure" }, money(user.balance)),
        h("td", {}, topUpForm(user)),
        h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": t("admin.manageUser", { user: user.username }),
          onclick: () => manage(user) }, t("admin.manage"))))))),
    panel, addUser);
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

// `managed`: the user whose access panel is open, kept open across the redraw.
export async function renderAdmin(managed = "") {
  stopLive();
  const [pool, nodes, quotas, images, rollouts, users, groups, prices, sessions, audit] = await Promise.all([
    api("GET", "/api/v1/pool"), api("GET", "/api/v1/nodes"), api("GET", "/api/v1/quotas"),
    api("GET", "/api/v1/images"), api("GET", "/api/v1/image-rollouts"), api("GET", "/api/v1/users"),
    api("GET", "/api/v1/groups"), api("GET", "/api/v1/prices"), api("GET", "/api/v1/sessions?all=true"),
    api("GET", "/api/v1/audit?limit=50")]);
  show(h("h1", {}, t("admin.title")),
    h("section", { class: "card", "aria-label": t("admin.nodes") }, h("h2", {}, t("admin.nodes")),
      nodesTable(nodes.nodes), unknownContainers(nodes.unknown_containers || [])),
    h("section", { class: "card wide", "aria-label": t("admin.gpusTitle") }, h("h2", {}, t("admin.gpusTitle")),
      gpusTable(nodes.nodes)),
    sessionsCard(sessions.sessions),
    h("div", { id: "pool-card" }, poolTable(pool)),
    poolChartCard(),
    pricesCard(pool, prices.prices),
    usersCard(users.users, managed), groupsCard(groups.groups),
    h("section", { class: "card", "aria-label": t("admin.quotas") }, h("h2", {}, t("admin.quotas")),
      quotas.quotas.length === 0 ? h("p", {}, t("admin.noQuotas")) :
        table("quotas", ["admin.scope", "admin.maxGpus", "admin.maxSessions", "admin.maxMemory", "admin.maxHours",
          "admin.byModel"], quotas.quotas.map((quota) => h("tr", {},
          h("th", { scope: "row" }, `${quota.scope} ${quota.name}`), h("td", {}, limit(quota.max_gpus)),
          h("td", {}, limit(quota.max_sessions)), h("td", {}, limit(quota.max_gpu_memory_gb, " GB")),
          h("td", {}, limit(quota.max_session_hours)),
          h("td", {}, Object.entries(quota.max_gpus_by_model || {}).map(([m, n]) => `${m}: ${n}`).join(", "))))),
      quotaForm()),
    imagesCard(images.images, () => renderAdmin()),
    rolloutsCard(rollouts.rollouts, images.images, () => renderAdmin()),
    efficiencyCard(), statementCard(true),
    auditCard(audit));
  // Live: the GPUs' readings arrive with every sync of their node; the server sends them on
  // when a figure changes.
  watchLive({
    pool: (pool) => document.getElementById("pool-card")?.replaceChildren(poolTable(pool)),
    nodes: (list) => {
      document.getElementById("nodes")?.replaceWith(nodesTable(list.nodes));
      document.getElementById("gpus")?.replaceWith(gpusTable(list.nodes));
      document.getElementById("unknown-containers")?.replaceWith(unknownContainers(list.unknown_containers || []));
    },
  });
}
