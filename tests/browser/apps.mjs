// A session's web app in a real browser (Debian's chromium, playwright-core): the owner
// exposes port 6006 from the portal, shared with bob, and opens it with one click — its files,
// a WebSocket echo, and a page of the app that tries to act on the API with the visitor's
// login (nothing it tries may work); bob opens it from the gateway's address; carol gets the
// 404 of a session that is not there. The app runs in the session, started by
// tests/e2e/test_apps.py, which plants its pages (hello.txt, ws.html, evil.html).
// Usage: node apps.mjs BASE_URL SESSION_ID OWNER OWNER_PASSWORD BOB BOB_PASSWORD CAROL CAROL_PASSWORD
import { gotoDespiteNetworkChanges, launchChromium, openSignInPage, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, id, owner, ownerPassword, bob, bobPassword, carol, carolPassword] = process.argv.slice(2);
const gateway = new URL(base);
const { step, done } = startRun("apps");
const browser = await launchChromium();

// A fresh context signed in as `name`. Offline but for this host: the gateway's port and the
// session's own.
async function signedIn(name, secret) {
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(30000);
  await context.route((url) => url.hostname !== gateway.hostname, (route) => route.abort());
  context.on("requestfailed", (request) => console.log(`  failed: ${request.url()} ${request.failure()?.errorText}`));
  const page = await context.newPage();
  await openSignInPage(page, base);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(secret);
  await page.keyboard.press("Enter");
  await page.locator("#sessions").waitFor();
  return { context, page };
}

try {
  step("the owner exposes port 6006 from the portal, shared with bob");
  const own = await signedIn(owner, ownerPassword);
  const row = own.page.locator("#sessions tbody tr", { hasText: id });
  await row.locator("details.apps summary").click();
  await row.getByText("No port exposed yet.").waitFor();
  await row.getByLabel("Port").fill("6006");
  await row.getByLabel("Share with").fill(bob);
  await row.getByRole("button", { name: "Expose" }).click();
  const open = row.getByRole("link", { name: "Open port 6006" });
  await open.waitFor();
  assert.match(await row.locator("ul.apps").innerText(), new RegExp(`also ${bob}`));

  step("one click opens it on the session's own address");
  const [app] = await Promise.all([own.context.waitForEvent("page"), open.click()]);
  await app.waitForURL(new RegExp(`/s/${id}/apps/6006/$`));
  const origin = new URL(app.url());
  assert.equal(origin.hostname, gateway.hostname);
  assert.notEqual(origin.port, gateway.port, "the app is on the session's origin, not the portal's");
  await app.getByRole("link", { name: "hello.txt" }).waitFor();
  await gotoDespiteNetworkChanges(app, `${origin.origin}/s/${id}/apps/6006/hello.txt`);
  assert.equal((await app.locator("body").innerText()).trim(), `hello from ${id}`);

  step("a WebSocket from the app's page echoes through the gateway");
  await gotoDespiteNetworkChanges(app, `${origin.origin}/s/${id}/apps/6006/ws.html`);
  await app.waitForFunction(() => window.wsEcho !== undefined, null, { timeout: 30000 });
  assert.equal(await app.evaluate(() => window.wsEcho), "echo: hi");

  step("a page of the app cannot act with the visitor's login");
  await gotoDespiteNetworkChanges(app, `${origin.origin}/s/${id}/apps/6006/evil.html`);
  await app.waitForFunction(() => window.attack?.done === true, null, { timeout: 60000 });
  const seen = await app.evaluate(() => window.attack);
  console.log(`  owner, evil.html: ${JSON.stringify(seen)}`);
  assert.ok(!seen.cookies.includes("gpupool_session") && !seen.cookies.includes("gpupool_pass"), seen.cookies);
  for (const name of ["me", "mint", "gatewayProxy"]) {
    assert.ok(seen[name] === "blocked" || seen[name] >= 400, `${name}: ${seen[name]}`);
  }

  step("bob, whom it is shared with, opens its address from the gateway");
  const visitor = await signedIn(bob, bobPassword);
  await gotoDespiteNetworkChanges(visitor.page, `${base}/s/${id}/apps/6006/hello.txt`);
  assert.equal((await visitor.page.locator("body").innerText()).trim(), `hello from ${id}`);
  assert.notEqual(new URL(visitor.page.url()).port, gateway.port, "sent on to the session's address");
  // Bob's pass opens the app only: the session's Jupyter is not his.
  const jupyter = await gotoDespiteNetworkChanges(visitor.page, `${new URL(visitor.page.url()).origin}/s/${id}/tree`);
  assert.equal(jupyter.status(), 404);

  step("carol, whom it is not shared with, gets the 404 of a session that is not there");
  const stranger = await signedIn(carol, carolPassword);
  const refused = await gotoDespiteNetworkChanges(stranger.page, `${base}/s/${id}/apps/6006/hello.txt`);
  assert.equal(refused.status(), 404);
  assert.match(await stranger.page.locator("body").innerText(), /No such session/);

  console.log("apps: all steps passed");
} finally {
  await browser.close();
  done();
}
