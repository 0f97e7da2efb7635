// The file page of a session, served by the gateway on the session's own origin
// (/s/<id>/gpupool/files): uploads into the home and downloads from it through the session's
// Jupyter (its contents API, in 1 MiB chunks, with progress), so it needs no way in of its own
// and stays within the session's pass. Drop files on the page, or choose them.
import { pickLanguage, setLanguage, t } from "./i18n.js";

const session = location.pathname.split("/")[2];
const base = `/s/${session}`;
const limitBytes = Number(document.body.dataset.uploadLimitMb) * 1024 * 1024;
const chunkBytes = 1024 * 1024;
let folder = "";

const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (bytes >= 1024 && unit < units.length - 1) { bytes /= 1024; ++unit; }
  return `${unit === 0 ? bytes : bytes.toFixed(1)} ${units[unit]}`;
}

async function contents(method, path, body) {
  const response = await fetch(`${base}/api/contents/${encodePath(path)}`, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    throw new Error(answer.message || `${response.status} ${response.statusText}`);
  }
  return response.json();
}

async function showFolder(path) {
  folder = path;
  const answer = await contents("GET", path);
  const crumbs = [element("button", { type: "button", class: "link", "data-path": "" }, t("files.home"))];
  let so_far = "";
  for (const part of path.split("/").filter(Boolean)) {
    so_far = so_far ? `${so_far}/${part}` : part;
    crumbs.push(" / ", element("button", { type: "button", class: "link", "data-path": so_far }, part));
  }
  document.getElementById("where").replaceChildren(...crumbs);
  const rows = answer.content.sort((a, b) => (a.type === "directory") === (b.type === "directory")
    ? a.name.localeCompare(b.name) : a.type === "directory" ? -1 : 1).map((item) => {
    const name = item.type === "directory"
      ? element("button", { type: "button", class: "link", "data-path": item.path }, `${item.name}/`)
      : item.name;
    const download = item.type === "directory" ? "" : element("a",
      { href: `${base}/files/${encodePath(item.path)}?download=1`, download: item.name }, t("files.download"));
    return element("tr", { "data-name": item.name }, element("td", {}, name),
      element("td", {}, item.size === null || item.size === undefined ? "" : size(item.size)), element("td", {}, download));
  });
  document.querySelector("#listing tbody").replaceChildren(...rows);
}

// One file, in chunks of 1 MiB (Jupyter's own uploader's size), its progress shown as it goes.
async function upload(file) {
  const bar = element("progress", { max: String(Math.max(file.size, 1)), value: "0" });
  const status = element("span", { class: "note" });
  const item = element("li", { "data-file": file.name }, `${file.name} `, bar, " ", status);
  document.getElementById("uploads").append(item);
  if (file.size > limitBytes) {
    item.classList.add("refused");
    status.textContent = t("files.tooLarge", { limit: size(limitBytes) });
    return;
  }
  const path = folder ? `${folder}/${file.name}` : file.name;
  try {
    const chunks = Math.max(1, Math.ceil(file.size / chunkBytes));
    for (let index = 0; index < chunks; ++index) {
      const piece = new Uint8Array(await file.slice(index * chunkBytes, (index + 1) * chunkBytes).arrayBuffer());
      let binary = "";
      for (let at = 0; at < piece.length; at += 0x8000) binary += String.fromCharCode(...piece.subarray(at, at + 0x8000));
      const body = { name: file.name, path, type: "file", format: "base64", content: btoa(binary) };
      if (chunks > 1) body.chunk = index === chunks - 1 ? -1 : index + 1;
      await contents("PUT", path, body);
      bar.value = Math.min(file.size, (index + 1) * chunkBytes);
      status.textContent = `${Math.round(100 * bar.value / Math.max(file.size, 1))}%`;
    }
    bar.value = bar.max;
    status.textContent = t("files.uploaded");
    item.classList.add("done");
  } catch (failure) {
    item.classList.add("refused");
    status.textContent = failure.message;
  }
}

async function uploadAll(files) {
  for (const file of files) await upload(file);
  await showFolder(folder);
}

setLanguage(pickLanguage(), false);
document.getElementById("session").textContent = session;
document.getElementById("limit").textContent = t("files.limit", { limit: size(limitBytes) });
document.addEventListener("click", (event) => {
  const target = event.target.closest("button[data-path]");
  if (target) showFolder(target.dataset.path).catch((failure) => alert(failure.message));
});
const drop = document.getElementById("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  uploadAll([...event.dataTransfer.files]);
});
document.getElementById("chooser").addEventListener("change", (event) => uploadAll([...event.target.files]));
showFolder("").catch((failure) => {
  document.getElementById("listing").replaceWith(element("p", { class: "error", role: "alert" }, failure.message));
});
