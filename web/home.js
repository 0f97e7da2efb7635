// The home page: the pool, the request form, the caller's sessions with their running costs.
import { currentLanguage, t } from "./i18n.js";
import { api, newIdempotencyKey } from "./api.js";
import { copyButton, h, show, toast } from "./dom.js";
import { costText } from "./format.js";
import { runsOn } from "./images.js";
import { appsSection } from "./apps.js";
import { myImagesCard, refreshMyImages, saveImageForm } from "./my_images.js";
import { everySecond, signOutNow, watchLive } from "./live.js";

export function poolTable(pool) {
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

function imageNote(image) {
  const notes = [image.cuda ? `${t("request.cuda", { cuda: image.cuda })}: ${runsOn(image)}` : t("request.cpu")];
  if (!image.ssh) notes.push(t("request.noSsh"));
  return notes.join("; ");
}

// Why an image cannot start a session now, or "" when it can: the portal greys it out.
function imageBlocked(image) {
  if (image.state === "deprecated") return t("request.deprecated");
  if (image.check.state === "failed") return t("request.failedCheck");
  if (!image.runnable) return runsOn(image);
  return "";
}

function imageOption(image, selected) {
  const blocked = imageBlocked(image);
  const label = [image.tag, image.state === "canary" ? t("request.canary") : "", blocked].filter(Boolean);
  return h("option", { value: image.tag, selected, disabled: Boolean(blocked) },
    label.length > 1 ? `${label[0]} (${label.slice(1).join(", ")})` : label[0]);
}

function requestForm(pool, images, families) {
  const error = h("p", { class: "error", role: "alert", id: "request-error" });
  const available = images.filter((image) => image.status === "available");
  const usable = available.filter((image) => !imageBlocked(image));
  const chosen = (usable.find((image) => image.default) || usable[0] || {}).tag;
  // A family gets its stable image, or its canary while one is rolled out.
  const familyOptions = families.length === 0 ? [] : [h("optgroup", { label: t("request.families") },
    families.map((family) => h("option", { value: family.family }, `${family.family} (${family.stable})`)))];
  const imageSelect = h("select", { name: "image", id: "request-image" },
    familyOptions, h("optgroup", { label: t("request.exactImages") },
      available.map((image) => imageOption(image, image.tag === chosen))));
  const imageHelp = h("small", { id: "image-help" });
  const describeImage = () => {
    const family = families.find((candidate) => candidate.family === imageSelect.value);
    const image = available.find((candidate) => candidate.tag === (family ? family.stable : imageSelect.value));
    imageHelp.textContent = image ? imageNote(image) : "";
  };
  imageSelect.addEventListener("change", describeImage);
  const kind = h("select", { name: "kind", id: "request-kind" },
    h("option", { value: "whole" }, t("request.whole")), h("option", { value: "share" }, t("request.share")),
    h("option", { value: "none" }, t("request.noGpu")));
  const gpus = h("label", { id: "gpus-field" }, t("request.gpus"),
    h("input", { name: "gpus", type: "number", min: 1, max: 64, value: 1, required: true }));
  const memory = h("label", { id: "memory-field", hidden: true }, t("request.memory"),
    h("input", { name: "gpu_memory_gb", type: "number", min: 1, max: 1024, step: "any", value: 10 }));
  kind.addEventListener("change", () => {
    gpus.hidden = kind.value !== "whole";
    memory.hidden = kind.value !== "share";
  });
  let requestKey = newIdempotencyKey();
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
    if (data.get("gpu_model") && kind.value !== "none") body.gpu_model = data.get("gpu_model");
    if (kind.value === "whole") body.gpus = Number(data.get("gpus"));
    else if (kind.value === "share") body.gpu_memory_gb = Number(data.get("gpu_memory_gb"));
    else body.gpus = 0;
    if (data.get("max_hours")) body.max_hours = Number(data.get("max_hours"));
    for (const [field, value] of Object.entries(body)) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        error.textContent = t("error.required", { field });
        return;
      }
    }
    error.textContent = "";
    try {
      // One key until the server answers: a double click or a resend makes one session.
      await api("POST", "/api/v1/sessions", body, { "Idempotency-Key": requestKey });  // the live view shows it
      requestKey = newIdempotencyKey();
    } catch (failure) {
      if (failure.status) requestKey = newIdempotencyKey();  // answered: nothing was made
      if (failure.status === 401) return signOutNow();
      error.textContent = failure.message;
    }
  });
  return form;
}

// Why a session waits, or why it stopped, in the reader's language: the API gives both as
// codes with their figures. The server's own words are kept for what has no code (a failure's
// message from the engine).
function reasonText(session) {
  const queue = session.queue;
  if (queue) {
    const p = queue.parameters;
    const values = { ...p, model: p.gpu_model ? `${p.gpu_model} ` : "" };
    if (queue.code === "waiting_for_cpus_or_memory") {
      values.what = [p.cpus ? t("queue.cpus", p) : null, p.memory_gb ? t("queue.memory", p) : null]
        .filter(Boolean).join(t("queue.and"));
    }
    if (queue.code === "slurm_pending") {
      const known = t(`slurm.${p.slurm_reason}`, p);
      values.why = known === `slurm.${p.slurm_reason}` ? t("slurm.other", p) : known;
    }
    const key = `queue.${queue.code}`;
    const words = t(key, values);
    if (words === key) return session.reason;  // a code this page does not know yet
    const parts = [words];
    if (queue.position) parts.push(t("queue.position", { n: queue.position }));
    if (queue.estimated_start) parts.push(t("queue.estimate", { time: new Date(queue.estimated_start).toLocaleString(currentLanguage()) }));
    return parts.join("; ");
  }
  if (session.end_reason && (session.state === "stopping" || session.state === "ended")) {
    const key = `end.${session.end_reason}`;
    const words = t(key, { detail: session.reason });
    if (words !== key) return words;
  }
  return session.reason;
}

// Idle reclaim warned the owner: when it goes, and "keep it" while keeps are left.
function idleWarning(session) {
  const idle = session.idle;
  if (!idle?.warned_at || session.state !== "running") return null;
  const time = new Date(idle.reclaim_at).toLocaleTimeString(currentLanguage());
  const warning = h("div", { class: "warning idle-warning" },
    t("sessions.idleWarning", { minutes: Math.max(1, Math.round(idle.idle_seconds / 60)), time }));
  if (idle.keeps_left > 0) {
    warning.append(" ", h("button", { type: "button", class: "secondary keep", onclick: async () => {
      try { await api("POST", `/api/v1/sessions/${session.id}/keep`); }
      catch (failure) { toast(failure.message); }
    } }, t("sessions.keep", { left: idle.keeps_left })));
  }
  return warning;
}

// A session that failed: the end of what its container printed, fetched when first opened.
// An ended session's log never changes: what was fetched, and which are open, outlast the
// live view's redrawing of the table.
const startLogs = new Map();
const openStartLogs = new Set();

function startLog(session) {
  if (session.state !== "ended" || session.end_reason !== "failed") return null;
  const text = h("pre", { class: "start-log" }, startLogs.get(session.id) ?? "");
  const details = h("details", { class: "start-log" }, h("summary", {}, t("sessions.startLog")), text);
  details.open = openStartLogs.has(session.id);
  details.addEventListener("toggle", async () => {
    if (!details.open) return openStartLogs.delete(session.id);
    openStartLogs.add(session.id);
    if (startLogs.has(session.id)) return;
    try {
      const log = await api("GET", `/api/v1/sessions/${session.id}/log`);
      startLogs.set(session.id, log.start_log ?? t("sessions.startLogNone"));
      text.textContent = startLogs.get(session.id);
    } catch (failure) {
      text.textContent = failure.message;
    }
  });
  return details;
}

// Whether the pool saves sessions as images (the my-images answer says).
let savingEnabled = false;

function sessionRow(session) {
  const gpus = session.gpus.memory_gb ? t("sessions.share", { gb: session.gpus.memory_gb })
    : `${session.gpus.count} × ${session.gpus.placed_model || session.gpus.model || "GPU"}`;
  const actions = h("td", { class: "actions" });
  if (session.jupyter) {
    actions.append(h("a", { class: "button", href: session.jupyter.url, target: "_blank", rel: "noopener" },
      t("sessions.open")));
    // The home's files, on the session's own page (web/files.js): up and down from here.
    actions.append(h("a", { class: "button secondary", href: `/s/${session.id}/gpupool/files`, target: "_blank",
      rel: "noopener" }, t("sessions.files")));
  }
  if (session.vscode) {
    actions.append(h("a", { class: "button secondary", href: session.vscode.url, target: "_blank", rel: "noopener" },
      t("sessions.vscode")));
  }
  if (session.state !== "ended" && session.state !== "stopping") {
    actions.append(h("button", { type: "button", class: "secondary", onclick: async () => {
      try { await api("DELETE", `/api/v1/sessions/${session.id}`); }
      catch (failure) { toast(failure.message); }
    } }, t("sessions.stop")));
  }
  if (session.state === "running" && savingEnabled) actions.append(saveImageForm(session));
  const details = [];
  if (session.state === "running") details.push(h("div", { class: "hint" }, t("sessions.whatLasts")));
  const reason = reasonText(session);
  if (reason) details.push(h("div", { class: "reason" }, reason));
  const log = startLog(session);
  if (log) details.push(log);
  const idle = idleWarning(session);
  if (idle) details.push(idle);
  else if (session.warning) details.push(h("div", { class: "warning" }, session.warning));
  if (session.home?.earlier_home_node && session.state !== "ended") {
    details.push(h("div", { class: "warning" },
      t("sessions.homeElsewhere", { node: session.home.earlier_home_node, here: session.node })));
  }
  if (session.cost) {
    // A running session's meter moves on between updates from the server: tickCosts().
    details.push(h("div", { class: "cost", "data-so-far": session.cost.so_far, "data-rate": session.cost.hourly_rate,
      "data-since": Date.now(), "data-running": session.state === "running" }, costText(session.cost.so_far, session.cost.hourly_rate)));
  }
  const apps = appsSection(session);
  if (apps) details.push(apps);
  if (session.ssh) {
    details.push(h("div", {}, h("code", {}, session.ssh.command), " ", copyButton(session.ssh.command)));
    if (session.ssh.config) {
      const written = `gpupool ssh --config ${session.id}`;
      details.push(h("details", { class: "ssh-config" }, h("summary", {}, t("sessions.sshConfig")),
        h("pre", {}, session.ssh.config), copyButton(session.ssh.config),
        h("p", {}, t("sessions.sshConfigCli"), " ", h("code", {}, written), " ", copyButton(written))));
    }
    if (session.ssh.host_key)
      details.push(h("div", { class: "fingerprint" }, `${t("sessions.hostKey")}: ${session.ssh.host_key.fingerprint}`));
  }
  // What the session's processes use of its GPUs, where the driver says.
  const use = (session.gpu_use || []).map((gpu) => h("div", { class: "gpu-use" },
    t("sessions.gpuUse", { gb: gpu.memory_used_gb ?? "—", percent: gpu.utilization_percent ?? "—" })));
  return h("tr", { "data-session": session.id },
    h("td", {}, h("code", {}, session.id)),
    h("td", {}, h("span", { class: `state ${session.state}` }, t(`state.${session.state}`)), details),
    h("td", {}, gpus, use), h("td", {}, session.image), actions);
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

// What the user was told of their sessions (idle warnings, preemptions, starts after a wait,
// ends they did not cause): the newest, unread ones marked, with "mark all read".
function noticesCard(notices) {
  const list = notices.notifications.slice(0, 5);
  if (list.length === 0) return "";
  const items = list.map((notice) => h("li", { class: notice.read ? "notice" : "notice unread" },
    h("time", { datetime: notice.at }, new Date(notice.at).toLocaleString(currentLanguage())), " ",
    t(`notice.${notice.kind}`, { session: notice.session }), h("div", { class: "reason" }, notice.message)));
  const read = notices.unread === 0 ? "" : h("button", { type: "button", class: "secondary", onclick: async () => {
    try { await api("POST", "/api/v1/notifications/read", { up_to: list[0].id }); }
    catch (failure) { toast(failure.message); }
  } }, t("notice.markRead"));
  return h("section", { class: "card", id: "notices", "aria-labelledby": "notices-title" },
    h("h2", { id: "notices-title" }, t("notice.title", { unread: notices.unread })), h("ul", {}, items), read);
}

// The sessions as the server last said, drawn; not while the user types in a row's form (a
// name to save a session as): the news waits until they leave it.
let held = null;
function drawSessions(list) {
  const card = document.getElementById("sessions-card");
  if (!card) return;
  held = list;
  if (card.contains(document.activeElement) && document.activeElement.closest("form")) return;
  held = null;
  card.replaceChildren(sessionsTable(list.sessions));
}

export async function renderHome() {
  const [pool, images, families, sessions, notices, mine] = await Promise.all([
    api("GET", "/api/v1/pool"), api("GET", "/api/v1/images"), api("GET", "/api/v1/image-rollouts"),
    api("GET", "/api/v1/sessions"), api("GET", "/api/v1/notifications?limit=5"), api("GET", "/api/v1/my-images")]);
  savingEnabled = mine.saving_enabled;
  show(h("div", { id: "notices-card" }, noticesCard(notices)), h("div", { id: "pool-card" }, poolTable(pool)),
    requestForm(pool, images.images, families.rollouts),
    h("div", { id: "sessions-card", onfocusout: () => setTimeout(() => held && drawSessions(held)) },
      sessionsTable(sessions.sessions)),
    h("div", { id: "my-images-card" }, myImagesCard(mine)));
  refreshMyImages().catch(() => {});
  // Live: states, reasons and free GPUs change without reloading the page.
  watchLive({
    pool: (pool) => document.getElementById("pool-card")?.replaceChildren(poolTable(pool)),
    sessions: drawSessions,
    notifications: (notices) => document.getElementById("notices-card")?.replaceChildren(noticesCard(notices)),
  });
  everySecond(tickCosts);
}
