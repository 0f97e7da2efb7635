// The user's own images: a running session saved ("Save as image" on its row) and the list of
// what they saved, with saves under way or failed. A saved image holds what the session
// installed and wrote outside the home; the home is not part of it, and both places say so.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { actionForm, h, table, toast } from "./dom.js";
import { bytesText } from "./format.js";


// Redraws the "My images" card while a save or a check is under way.
let refreshing = null;
export async function refreshMyImages() {
  const card = document.getElementById("my-images-card");
  if (!card) return;
  const mine = await api("GET", "/api/v1/my-images");
  card.replaceChildren(myImagesCard(mine));
  const busy = mine.saves.some((save) => save.state === "saving") ||
    mine.images.some((image) => image.check.state === "pending");
  clearTimeout(refreshing);
  if (busy) refreshing = setTimeout(() => refreshMyImages().catch(() => {}), 3000);
}

const openForms = new Set();  // sessions whose save form is open

// The form on a running session's row: a name, the note on the home, Save.
export function saveImageForm(session) {
  const name = h("input", { name: "name", required: true, pattern: "[a-z0-9]+([._\\-][a-z0-9]+)*", maxlength: 64,
    placeholder: "torch-env", "aria-label": t("myImages.name") });
  const form = actionForm(t("myImages.save"), [name], t("myImages.saveButton"),
    (form) => api("POST", `/api/v1/sessions/${session.id}/image`, { name: form.elements.name.value }),
    (save) => {
      toast(t("myImages.saving", { tag: save.tag }));
      refreshMyImages().catch(() => {});
    });
  // Open stays open when the sessions are drawn again.
  return h("details", { class: "save-image", open: openForms.has(session.id),
    ontoggle: (event) => event.target.open ? openForms.add(session.id) : openForms.delete(session.id) },
  h("summary", {}, t("myImages.save")), h("p", { class: "note" }, t("myImages.homeNote")), form);
}

function imageRow(image) {
  const check = image.check.state === "passed" ? t("myImages.ready")
    : image.check.state === "failed" ? `${t("images.check_failed")}: ${image.check.message}` : t("myImages.checking");
  const remove = h("button", { type: "button", class: "secondary", onclick: async () => {
    const name = image.tag.slice(image.tag.indexOf("/") + 1);
    try {
      await api("DELETE", `/api/v1/my-images/${encodeURIComponent(name)}`);
      await refreshMyImages();
    } catch (failure) { toast(failure.message); }
  } }, t("myImages.remove"));
  return h("tr", { "data-image": image.tag }, h("td", {}, h("code", {}, image.tag)), h("td", {}, check),
    h("td", {}, bytesText(image.size_bytes)), h("td", {}, `${image.framework} ${image.framework_version}`), h("td", {}, remove));
}

function saveRow(save) {
  const state = save.state === "saving" ? t("myImages.inProgress") : `${t("myImages.failed")}: ${save.message}`;
  return h("tr", { "data-save": save.id, class: save.state }, h("td", {}, h("code", {}, save.tag)),
    h("td", {}, state), h("td", {}, "—"), h("td", {}, save.from_image), h("td", {}, ""));
}

export function myImagesCard(mine) {
  const rows = mine.images.map(imageRow).concat(mine.saves.map(saveRow));
  return h("section", { class: "card", id: "my-images", "aria-labelledby": "my-images-title" },
    h("h2", { id: "my-images-title" }, t("myImages.title")),
    h("p", { class: "note" }, mine.saving_enabled
      ? t("myImages.help", { n: mine.max_images, size: bytesText(mine.max_bytes) }) : t("myImages.off")),
    rows.length === 0 ? h("p", {}, t("myImages.none")) :
      table("my-images-table", ["myImages.tag", "myImages.state", "myImages.size", "myImages.from", ""], rows));
}
