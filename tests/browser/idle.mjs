// Idle reclaim's warning in a real browser: the owner of a session that idle reclaim warned
// about sees when it goes and a notification of it, keeps it with one click, and the warning
// leaves the page live.
// Usage: node idle.mjs BASE_URL USER PASSWORD SESSION_ID SCREENSHOT_DIR
import { launchChromium, openSignInPage, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, user, password, session, screenshots] = process.argv.slice(2);
const { step, done } = startRun("idle");
const browser = await launchChromium();
const context = await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 800 } });
context.setDefaultTimeout(30000);
const gateway = new URL(base);
await context.route((url) => url.origin !== gateway.origin, (route) => route.abort());
const page = await context.newPage();

try {
  step("sign in as the owner");
  await openSignInPage(page, base);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.keyboard.press("Enter");
  const row = page.locator(`#sessions tbody tr[data-session="${session}"]`);
  await row.waitFor();

  step("the warning says when the session goes");
  const warning = row.locator(".idle-warning");
  await warning.waitFor();
  assert.match(await warning.innerText(), /Unused for \d+ min: it will be reclaimed at .+ \(your home is kept\)/);
  await page.screenshot({ path: `${screenshots}/idle-warning.png`, fullPage: true });

  step("the notification: unread, then read");
  const notices = page.locator("#notices");
  await notices.getByText(`Session ${session} is about to be reclaimed`).waitFor();
  assert.match(await notices.getByRole("heading").innerText(), /Notifications \(1 unread\)/);
  await notices.getByRole("button", { name: "Mark all read" }).click();
  await notices.getByRole("heading", { name: "Notifications (0 unread)" }).waitFor();

  step("keep it: the warning goes without a reload");
  await row.getByRole("button", { name: /Keep it \(1 left\)/ }).click();
  await warning.waitFor({ state: "detached" });
  assert.equal(await row.locator(".idle-warning").count(), 0);
  console.log("idle: ok");
} finally {
  done();
  await browser.close();
}
