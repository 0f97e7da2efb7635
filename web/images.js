// The image catalog for admins: each image's roll-out state, contract check and where it can
// run, a step to the next state, a check again, and a form to add an image by its registry
// reference. `redraw` draws the admin page again after a change.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { actionForm, h, table, toast } from "./dom.js";

// The steps an admin may take from each state (catalog/image_contract.hpp has the rules).
const nextStates = {
  testing: ["canary", "stable", "retired"],
  canary: ["stable", "testing", "deprecated", "retired"],
  stable: ["deprecated", "retired"],
  deprecated: ["stable", "retired"],
  retired: [],
};

// Where an image can run, in words: GPU models of nodes whose driver carries its CUDA.
export function runsOn(image) {
  if (!image.runnable) return image.cuda ? t("images.noDriver", { cuda: image.cuda }) : t("images.noNode");
  return image.gpu_models.length ? image.gpu_models.join(", ") : t("images.cpuNodes");
}

function checkText(check) {
  const state = t(`images.check_${check.state}`);
  return check.message ? `${state}: ${check.message}` : state;
}

function stepForm(image, redraw) {
  const steps = nextStates[image.state] || [];
  if (steps.length === 0) return h("span", {}, "—");
  return actionForm(t("images.stepOf", { tag: image.tag }), [
    h("select", { name: "state", "aria-label": t("images.stepOf", { tag: image.tag }) },
      steps.map((state) => h("option", { value: state }, t(`images.state_${state}`)))),
  ], t("images.apply"), (form) =>
    api("PATCH", `/api/v1/images/${encodeURIComponent(image.tag)}`, { state: form.elements.state.value }),
  () => { toast(t("admin.saved")); redraw(); });
}

function recheckButton(image, redraw) {
  if (image.state === "retired") return "";
  return h("button", { type: "button", class: "secondary", onclick: async () => {
    try { await api("POST", `/api/v1/images/${encodeURIComponent(image.tag)}/check`); redraw(); }
    catch (failure) { toast(failure.message); }
  } }, t("images.recheck"));
}

function imageRow(image, redraw) {
  return h("tr", { class: image.state === "retired" ? "muted" : "", "data-tag": image.tag },
    h("th", { scope: "row" }, image.tag, image.default ? h("small", {}, ` (${t("images.default")})`) : "",
      h("br"), h("small", { class: "reference" }, image.reference)),
    h("td", {}, t(`images.state_${image.state}`)),
    h("td", { class: `check-${image.check.state}` }, checkText(image.check)),
    h("td", {}, image.cuda || "—"),
    h("td", {}, runsOn(image)),
    h("td", {}, image.ssh ? t("images.yes") : t("images.no")),
    h("td", {}, stepForm(image, redraw), recheckButton(image, redraw)));
}

function addForm(redraw) {
  return actionForm(t("images.add"), [
    h("label", {}, t("images.reference"), h("input", { name: "reference", required: true, size: 48,
      autocomplete: "off", placeholder: "gpus.lab:5000/team/pytorch:pytorch2.7-cuda11.8-cudnn8-runtime" })),
    h("label", {}, t("images.tag"), h("input", { name: "tag", autocomplete: "off", size: 32 })),
    h("label", {}, h("input", { name: "prepull", type: "checkbox" }), t("images.prepull")),
  ], t("images.add"), (form) => {
    const body = { reference: form.elements.reference.value.trim(), prepull: form.elements.prepull.checked };
    if (form.elements.tag.value.trim()) body.tag = form.elements.tag.value.trim();
    return api("POST", "/api/v1/images", body);
  }, () => { toast(t("images.added")); redraw(); });
}

export function imagesCard(images, redraw) {
  return h("section", { class: "card wide", "aria-label": t("admin.images") }, h("h2", {}, t("admin.images")),
    h("p", { class: "help" }, t("images.help")),
    table("images", ["admin.image", "admin.state", "images.check", "admin.cuda", "images.runsOn", "images.ssh",
      "sessions.actions"], images.map((image) => imageRow(image, redraw))),
    addForm(redraw));
}

function recordText(record) {
  return record ? t("rollouts.record", { sessions: record.sessions, failed: record.failed }) : "";
}

function rolloutAction(rollout, action, label, redraw) {
  return h("button", { type: "button", class: action === "halt" ? "secondary" : "", onclick: async () => {
    try { await api("POST", `/api/v1/image-rollouts/${encodeURIComponent(rollout.family)}/${action}`); redraw(); }
    catch (failure) { toast(failure.message); }
  } }, t(label));
}

function rolloutRow(rollout, redraw) {
  const canary = rollout.canary ?
    `${rollout.canary} (${rollout.percent}%${rollout.groups.length ? `, ${rollout.groups.join(", ")}` : ""})` : "—";
  return h("tr", { "data-family": rollout.family },
    h("th", { scope: "row" }, rollout.family),
    h("td", {}, rollout.stable, h("br"), h("small", {}, recordText(rollout.stable_record))),
    h("td", {}, canary, h("br"), h("small", {}, rollout.canary ? recordText(rollout.canary_record) : "")),
    h("td", { class: `rollout-${rollout.state}` }, t(`rollouts.state_${rollout.state}`),
      rollout.note ? h("br") : "", rollout.note ? h("small", {}, rollout.note) : ""),
    h("td", {}, rollout.canary ? [rolloutAction(rollout, "promote", "rollouts.promote", redraw),
      rollout.state === "rolling" ? rolloutAction(rollout, "halt", "rollouts.halt", redraw) : ""] : "—"));
}

function rolloutForm(images, redraw) {
  const choices = (states) => images.filter((image) => states.includes(image.state))
    .map((image) => h("option", { value: image.tag }, image.tag));
  return actionForm(t("rollouts.set"), [
    h("label", {}, t("rollouts.family"), h("input", { name: "family", required: true, autocomplete: "off",
      placeholder: "pytorch2.7-cuda11.8" })),
    h("label", {}, t("rollouts.stable"), h("select", { name: "stable" }, choices(["stable"]))),
    h("label", {}, t("rollouts.canary"), h("select", { name: "canary" },
      h("option", { value: "" }, "—"), choices(["canary", "stable"]))),
    h("label", {}, t("rollouts.percent"), h("input", { name: "percent", type: "number", min: 0, max: 100, value: 10 })),
  ], t("rollouts.set"), (form) => api("PUT", `/api/v1/image-rollouts/${encodeURIComponent(form.elements.family.value.trim())}`, {
    stable: form.elements.stable.value, canary: form.elements.canary.value || null,
    percent: Number(form.elements.percent.value),
  }), () => { toast(t("admin.saved")); redraw(); });
}

export function rolloutsCard(rollouts, images, redraw) {
  return h("section", { class: "card wide", "aria-label": t("rollouts.title") }, h("h2", {}, t("rollouts.title")),
    h("p", { class: "help" }, t("rollouts.help")),
    rollouts.length === 0 ? h("p", {}, t("rollouts.none")) :
      table("rollouts", ["rollouts.family", "rollouts.stable", "rollouts.canary", "admin.state", "sessions.actions"],
        rollouts.map((rollout) => rolloutRow(rollout, redraw))),
    rolloutForm(images, redraw));
}
