// The portal in a real browser (Debian's chromium, driven by playwright-core) against a real
// `gpupool up`: sign in, request a session, see it run, open Jupyter through the gateway,
// run a cell in a real kernel, stop the session, switch the language, manage SSH keys, the
// admin's pages (a user's access, the audit log), the account page (tokens, the password).
// Usage: node portal.mjs BASE_URL ADMIN_PASSWORD SCREENSHOT_DIR
import { launchChromium, loadUntilShown, openSignInPage, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, password, screenshots] = process.argv.slice(2);
const { step, done } = startRun("portal");
const browser = await launchChromium();
const context = await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 800 } });
context.setDefaultTimeout(30000);
// The pages must work offline: anything not from the gateway or a session's own address
// (<id>.localhost on the gateway's port) is refused at once.
const gateway = new URL(base);
const ours = (url) => url.origin === gateway.origin ||
  (url.hostname.endsWith(".localhost") && url.port === gateway.port && url.protocol === gateway.protocol);
await context.route((url) => !ours(url), (route) => route.abort());
const page = await context.newPage();
const requested = [];
page.on("request", (request) => requested.push(`${request.method()} ${new URL(request.url()).pathname}`));
const shot = (name) => page.screenshot({ path: `${screenshots}/${name}.png`, fullPage: true });

try {
  step("the login page, keyboard only");
  await openSignInPage(page, base);
  await page.getByRole("heading", { name: "Sign in to gpupool" }).waitFor();
  await shot("login");
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("wrong-password");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: /wrong/i }).waitFor();
  await page.getByLabel("Password").fill(password);
  await page.keyboard.press("Enter");

  step("admin: a price for the A100s, keyboard only");
  await page.getByRole("heading", { name: "Available GPUs" }).waitFor();
  await page.getByRole("link", { name: "Admin" }).click();
  const price = page.getByRole("spinbutton", { name: "Price of A100-80GB" });
  await price.fill("2.5");
  await price.press("Enter");
  await page.locator("#prices tbody tr", { hasText: "A100-80GB" }).filter({ hasText: "2.50" }).waitFor();
  const credit = page.getByRole("spinbutton", { name: "Credits for admin" });
  await credit.fill("10");
  await credit.press("Enter");
  await page.locator("#users tbody tr", { hasText: "administrator" }).filter({ hasText: "10.00" }).waitFor();
  requested.length = 0;  // the home page, from here on, must not poll
  await page.getByRole("link", { name: "Sessions" }).click();

  step("the pool and the request form");
  await page.getByRole("heading", { name: "Available GPUs" }).waitFor();
  assert.match(await page.locator("#pool").innerText(), /A100-80GB/);
  await page.getByLabel("Number of GPUs").fill("-1");
  await page.getByRole("button", { name: "Request GPU" }).click();
  await page.locator("#request-error").filter({ hasText: /gpus/ }).waitFor();
  await page.getByLabel("Number of GPUs").fill("1");
  await page.getByRole("button", { name: "Request GPU" }).click();

  step("the session runs, without reloading the page: the live view (server-sent events) shows it");
  const row = page.locator("#sessions tbody tr").first();
  await row.getByText("running").waitFor({ timeout: 120000 });
  assert.ok(requested.includes("GET /api/v1/events"), requested.join("\n"));
  assert.equal(requested.filter((r) => r === "GET /api/v1/sessions").length, 1, "no polling: " + requested.join("\n"));
  assert.match(await row.innerText(), /ssh -p \d+ admin@/);
  assert.match(await row.innerText(), /Cost so far: \d+\.\d{2,4} credits \(2\.50 an hour\)/);
  await shot("sessions");
  // Narrow screens: the same page on a phone, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot("sessions-phone");
  const widest = await page.evaluate(() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 8));
  assert.deepEqual(widest, [], "no sideways scrolling on a phone");
  await page.setViewportSize({ width: 1200, height: 800 });

  step("Open Jupyter: through the gateway, signed in by the portal's cookie");
  const [jupyter] = await Promise.all([context.waitForEvent("page"), row.getByRole("link", { name: "Open Jupyter" }).click()]);
  await jupyter.waitForLoadState();
  // The session's own origin: its notebooks cannot use the portal's login.
  const sessionId = jupyter.url().match(/\/s\/([a-z0-9]+)\/tree/)?.[1];
  assert.ok(sessionId, jupyter.url());
  assert.equal(new URL(jupyter.url()).host, `${sessionId}.localhost:${gateway.port}`);
  const fromNotebook = await jupyter.evaluate(async (portal) => {
    const me = await fetch(`${portal}/api/v1/me`, { credentials: "include" }).catch(() => null);
    return me ? me.status : "unreadable";
  }, gateway.origin);
  assert.equal(fromNotebook, "unreadable", "the portal's API is out of a notebook's reach");
  const sessionBase = jupyter.url().replace(/tree.*$/, "");
  // A request the starting tree page's own traffic cuts short ("Failed to fetch", no answer at
  // all) is sent once more; an answer, whatever it says, is taken as it is.
  const created = await jupyter.evaluate(async (url) => {
    const xsrf = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="))?.slice(6) || "";
    const create = () => fetch(url + "api/contents", {
      method: "POST", headers: { "Content-Type": "application/json", "X-XSRFToken": xsrf },
      body: JSON.stringify({ type: "notebook" }),
    });
    const response = await create().catch(() => new Promise((resolve) => setTimeout(resolve, 500)).then(create));
    return response.json();
  }, sessionBase);
  // The tree page may still be starting its own requests, and the engine adds a session's
  // bridge: a navigation cut short, or a page left without its editor, is loaded again.
  const cell = jupyter.locator(".CodeMirror").first();
  await loadUntilShown(jupyter, sessionBase + "notebooks/" + created.path, cell, "the notebook");
  await jupyter.locator("#kernel_indicator_icon.kernel_idle_icon").waitFor({ timeout: 60000 });
  await cell.click();
  await jupyter.keyboard.type("print(6 * 7)");
  await jupyter.keyboard.press("Shift+Enter");
  await jupyter.locator(".output_subarea pre").filter({ hasText: "42" }).waitFor({ timeout: 60000 });
  await jupyter.screenshot({ path: `${screenshots}/jupyter.png` });
  await jupyter.close();

  step("stop it");
  await row.getByRole("button", { name: "Stop" }).click();
  await row.getByText(/stopping|ended/).waitFor({ timeout: 60000 });

  step("usage: the session's time and cost, at the A100 price, charged to the balance");
  await row.getByText("ended").waitFor({ timeout: 60000 });
  await row.getByText("Stopped by you").waitFor();  // the end reason, worded by the portal
  await page.getByRole("link", { name: "Usage" }).click();
  await page.getByRole("heading", { name: "Usage", exact: true }).waitFor();
  const line = page.locator("#usage-sessions tbody tr", { hasText: sessionId });
  await line.waitFor();
  assert.match(await line.innerText(), /1 × A100-80GB.*2\.50\s+\d+\.\d{2,4}/s);
  assert.match(await page.locator("#usage-models").innerText(), /A100-80GB/);
  assert.match(await page.locator("#prices-list").innerText(), /A100-80GB\s+2\.50/);
  assert.match(await page.getByRole("heading", { name: /^Balance:/ }).innerText(), /Balance: 9\.9\d+ credits/);
  const ledger = await page.locator("#ledger").innerText();
  assert.match(ledger, new RegExp(`charge\\s+-0\\.\\d+\\s+${sessionId}`));
  assert.match(ledger, /top-up\s+10\.00/);
  await shot("usage");
  await page.getByRole("link", { name: "Sessions" }).click();

  step("the language switch");
  await page.getByLabel("Language").selectOption("zh-CN");
  await page.getByRole("heading", { name: "我的会话" }).waitFor();
  await page.getByRole("heading", { name: "可用 GPU" }).waitFor();
  await page.getByText("已由你停止").first().waitFor();  // end reasons in the reader's language
  await shot("sessions-zh-CN");
  await page.reload();
  await page.getByRole("heading", { name: "我的会话" }).waitFor();  // the choice is kept
  await page.getByLabel("语言").selectOption("en");

  step("SSH keys");
  await page.getByRole("link", { name: "SSH keys" }).click();
  await page.getByRole("heading", { name: "SSH public keys" }).waitFor();
  await page.locator("textarea").fill("not a key");
  await page.getByRole("button", { name: "Save keys" }).click();
  await page.getByRole("alert").filter({ hasText: /key/ }).waitFor();
  await shot("keys");

  step("admin: nodes, quotas, images; drain and undrain");
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("heading", { name: "Administration" }).waitFor();
  const node = page.locator("#nodes tbody tr").first();
  assert.match(await node.innerText(), /ready.*simulated/s);
  await node.getByRole("button", { name: "Drain" }).click();
  await node.getByText("draining").waitFor();
  await node.getByRole("button", { name: "Take new sessions" }).click();
  await node.getByRole("button", { name: "Drain" }).waitFor();
  assert.match(await page.locator("#images").innerText(), /pytorch1\.13-cpu-debian12-runtime/);

  step("admin: every GPU with its holder and its readings");
  const gpuRows = page.locator("#gpus tbody tr");
  assert.equal(await gpuRows.count(), 4);
  const firstGpu = await gpuRows.first().innerText();
  assert.match(firstGpu, /A100-80GB \(simulated\)/);
  assert.match(firstGpu, /\b0%/);
  assert.match(firstGpu, /\d+ °C/);
  assert.match(firstGpu, /\d+ \/ 400 W/);
  assert.equal(await page.getByRole("meter", { name: "Utilisation" }).count(), 4);

  step("admin: users and groups");
  const suffix = Date.now().toString(36);
  const addUser = page.getByRole("form", { name: "Add user" });
  await addUser.getByLabel("New user name").fill(`ada-${suffix}`);
  await addUser.getByLabel("Initial password").fill("short");
  await addUser.getByRole("button", { name: "Add user" }).click();
  await addUser.getByRole("alert").filter({ hasText: /password/i }).waitFor();  // the API's own words
  await addUser.getByLabel("Initial password").fill("a-long-enough-password");
  await addUser.getByRole("button", { name: "Add user" }).click();
  await page.locator("#users tbody tr", { hasText: `ada-${suffix}` }).waitFor();
  const newGroup = page.getByRole("form", { name: "New group" });
  await newGroup.getByLabel("Group name").fill(`vision-${suffix}`);
  await newGroup.getByRole("button", { name: "Create" }).click();
  const members = page.getByRole("textbox", { name: `Members of vision-${suffix}` });
  await members.fill(`ada-${suffix}, admin`);
  await members.press("Enter");  // keyboard only
  await page.locator("#users tbody tr", { hasText: `ada-${suffix}` }).filter({ hasText: `vision-${suffix}` }).waitFor();

  step("admin: a group's quota");
  const quotaForm = page.getByRole("form", { name: "Set quota" });
  await quotaForm.getByRole("combobox", { name: /^For/ }).selectOption("group");
  await quotaForm.getByLabel("User or group name").fill(`nobody-${suffix}`);
  await quotaForm.getByLabel("GPUs", { exact: true }).fill("4");
  await quotaForm.getByLabel("Session hours", { exact: true }).fill("24");
  await quotaForm.getByRole("button", { name: "Set quota" }).click();
  await quotaForm.getByRole("alert").filter({ hasText: /no such group/ }).waitFor();  // the API's own words
  await quotaForm.getByLabel("User or group name").fill(`vision-${suffix}`);
  await quotaForm.getByRole("button", { name: "Set quota" }).click();
  const quotaRow = page.locator("#quotas tbody tr", { hasText: `group vision-${suffix}` });
  await quotaRow.waitFor();
  assert.match(await quotaRow.innerText(), /4\s+—\s+—\s+24/);
  await shot("admin");

  step("admin: a user's access — disable (confirmed), enable, make and unmake an administrator");
  const ada = `ada-${suffix}`;
  const adaRow = page.locator("#users tbody tr", { hasText: ada });
  await page.getByRole("button", { name: `Access of ${ada}` }).click();
  const panel = page.getByRole("region", { name: `Access of ${ada}` });
  await panel.getByText("No sign-ins or tokens.").waitFor();
  page.once("dialog", (dialog) => dialog.dismiss());  // a second thought: nothing changes
  await panel.getByRole("button", { name: "Disable", exact: true }).click();
  await panel.getByRole("button", { name: "Disable", exact: true }).waitFor();
  assert.doesNotMatch(await adaRow.innerText(), /disabled/);
  page.once("dialog", (dialog) => dialog.accept());
  await panel.getByRole("button", { name: "Disable", exact: true }).click();
  await adaRow.filter({ hasText: "(disabled)" }).waitFor();
  await page.getByRole("region", { name: `Access of ${ada}` }).getByRole("button", { name: "Enable" }).click();
  await page.getByRole("region", { name: `Access of ${ada}` }).getByRole("button", { name: "Make administrator" }).click();
  await adaRow.filter({ hasText: "administrator" }).waitFor();
  assert.doesNotMatch(await adaRow.innerText(), /disabled/);
  await page.getByRole("region", { name: `Access of ${ada}` }).getByRole("button", { name: "Remove administrator" }).click();
  await page.getByRole("region", { name: `Access of ${ada}` }).getByRole("button", { name: "Make administrator" }).waitFor();

  step("admin: the audit log, filtered");
  const filter = page.getByRole("form", { name: "Filter the audit log" });
  await filter.getByLabel("Who").fill("admin");
  await filter.getByLabel("Action starts with").fill("PATCH /api/v1/users");
  await filter.getByRole("button", { name: "Filter" }).click();
  // Until the filtered page arrives, the table still shows the unfiltered one (with sign-ins).
  await page.locator("#audit tbody tr", { hasNotText: "PATCH /api/v1/users" }).first().waitFor({ state: "detached" });
  await page.locator("#audit tbody tr").first().waitFor();
  const audited = await page.locator("#audit tbody tr").allInnerTexts();
  assert.equal(audited.length, 4, audited.join("\n"));  // the dismissed disable did not happen
  for (const entry of audited) assert.match(entry, new RegExp(`PATCH /api/v1/users/\\{username\\}\\s+username=${ada}\\s+200`));

  step("account: a token shown once, working, then revoked");
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
  await page.locator("#credentials tbody tr", { hasText: "this sign-in" }).waitFor();
  const tokenForm = page.getByRole("form", { name: "New API token" });
  await tokenForm.getByLabel("Name").fill("notebook-ci");
  await tokenForm.getByRole("button", { name: "Create token" }).click();
  const secret = await page.locator("code.secret").innerText();
  assert.match(secret, /^\S{20,}$/);
  const asToken = () => page.evaluate(async (token) =>
    (await fetch("/api/v1/me", { headers: { Authorization: `Bearer ${token}` }, credentials: "omit" })).status, secret);
  assert.equal(await asToken(), 200);
  const tokenRow = page.locator("#credentials tbody tr", { hasText: "notebook-ci" });
  await shot("account");
  await tokenRow.getByRole("button", { name: "Revoke" }).click();
  await tokenRow.waitFor({ state: "detached" });
  assert.equal(await asToken(), 401, "a revoked token is refused at once");

  step("account: the password changed; the new one signs in");
  const passwordForm = page.getByRole("form", { name: "Change password" });
  await passwordForm.getByLabel("Current password").fill("not-the-password");
  await passwordForm.getByLabel("New password", { exact: true }).fill("a-new-admin-password");
  await passwordForm.getByLabel("New password again").fill("a-new-admin-password");
  await passwordForm.getByRole("button", { name: "Change password" }).click();
  await passwordForm.getByRole("alert").filter({ hasText: /current password is wrong/ }).waitFor();
  await passwordForm.getByLabel("Current password").fill(password);
  await passwordForm.getByLabel("New password again").fill("a-typo");
  await passwordForm.getByRole("button", { name: "Change password" }).click();
  await passwordForm.getByRole("alert").filter({ hasText: /differ/ }).waitFor();
  await passwordForm.getByLabel("New password again").fill("a-new-admin-password");
  await passwordForm.getByRole("button", { name: "Change password" }).click();
  await page.locator("#toast").filter({ hasText: "Password changed" }).waitFor();

  step("sign out, and in with the new password");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to gpupool" }).waitFor();
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: /wrong/i }).waitFor();
  await page.getByLabel("Password").fill("a-new-admin-password");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Account", exact: true }).waitFor();  // back where it was
  await page.locator("#credentials tbody tr", { hasText: "this sign-in" }).waitFor();
  console.log("portal: all steps passed");
} finally {
  await browser.close();
  done();
}
