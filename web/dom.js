// Building the page: elements from plain data (text nodes only, never HTML from the server),
// the main area, the toast, a copy button, a form that reports the API's errors.
import { t } from "./i18n.js";
import { signOutNow } from "./live.js";

// h("tag", {attributes}, ...children): children are nodes or strings (as text).
export function h(tag, attributes = {}, ...children) {
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

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("shown");
  setTimeout(() => box.classList.remove("shown"), 2500);
}

export function show(...content) {
  const main = document.getElementById("main");
  main.replaceChildren(...content);
}

export function copyButton(text) {
  return h("button", { type: "button", class: "small", onclick: async (event) => {
    await navigator.clipboard.writeText(text).catch(() => {});
    event.target.textContent = t("sessions.copied");
  } }, t("sessions.copy"));
}

// A table with translated column headings and the given rows.
export function table(id, headings, rows) {
  return h("table", { id },
    h("thead", {}, h("tr", {}, headings.map((key) => h("th", { scope: "col" }, t(key))))),
    h("tbody", {}, rows));
}

// A form of the given fields with a submit button and an error line. `send(form)` does the
// work; `done(result)` follows its success; the API's own words show where it fails.
export function actionForm(label, fields, submit, send, done) {
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "inline", "aria-label": label }, fields, h("button", { type: "submit" }, submit), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await send(form);
      error.textContent = "";
      done(result, form);
    } catch (failure) {
      if (failure.status === 401) return signOutNow();
      error.textContent = failure.message;
    }
  });
  return form;
}
