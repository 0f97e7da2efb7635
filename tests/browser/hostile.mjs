// Hostile session content in a real browser (Debian's chromium, playwright-core) against a
// `gpupool up` in its default configuration (a gateway reached by IP address, no session
// domain): a user plants a custom.js (Jupyter loads it on every page) and an HTML file in
// their session; the admin enters the session by the portal's explicit step, and the owner
// opens it. The planted scripts try to act on the API with the login of whoever opened the
// page, read the gateway's cookies and mint tokens. Nothing they try may work.
// The scripts are planted by tests/e2e/test_browser.py from inside the session, which checks
// afterwards, through the API, that nothing changed.
// Usage: node hostile.mjs BASE_URL ADMIN_PASSWORD OWNER OWNER_PASSWORD SESSION_ID
import { gotoDespiteNetworkChanges, launchChromium, openSignInPage, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, password, mallory, malloryPassword, id] = process.argv.slice(2);
const gateway = new URL(base);
const { step, done } = startRun("hostile");
const browser = await launchChromium();

try {
  const check = async (who, page) => {
    await page.waitForFunction(() => window.attack?.done === true, null, { timeout: 60000 }).catch(async (failure) => {
      console.log(`  ${who}: the planted script did not finish; the page saw: ${JSON.stringify(await page.evaluate(() => window.attack))}`);
      throw failure;
    });
    const seen = await page.evaluate(() => window.attack);
    console.log(`  ${who}: ${JSON.stringify(seen)}`);
    assert.ok(typeof seen.cookies === "string" && !seen.cookies.includes("gpupool_session"),
      "the login cookie is out of the page's reach");
    assert.ok(!seen.cookies.includes("gpupool_pass"), "so is the pass");
    for (const name of ["me", "mint", "gatewayProxy"]) {
      assert.ok(seen[name] === "blocked" || seen[name] >= 400, `${name}: ${seen[name]}`);
    }
  };

  step("the admin enters mallory's session by the portal's explicit step");
  const adminContext = await browser.newContext({ locale: "en-US" });
  adminContext.setDefaultTimeout(30000);
  // What the pages load and what their scripts say, for the log when something fails.
  adminContext.on("console", (message) => console.log(`  console: ${message.text()}`));
  adminContext.on("requestfailed", (request) => console.log(`  failed: ${request.url()} ${request.failure()?.errorText}`));
  const portal = await adminContext.newPage();
  await openSignInPage(portal, base);
  await portal.getByLabel("User name").fill("admin");
  await portal.getByLabel("Password").fill(password);
  await portal.keyboard.press("Enter");
  await portal.getByRole("link", { name: "Admin" }).click();
  const row = portal.locator("#admin-sessions tbody tr", { hasText: id });
  const [inside] = await Promise.all([adminContext.waitForEvent("page"),
    row.getByRole("button", { name: "Enter (recorded)" }).click()]);
  await inside.waitForURL(/\/s\/[a-z0-9]+\/tree/);
  const origin = new URL(inside.url());
  assert.equal(origin.hostname, gateway.hostname);
  assert.notEqual(origin.port, gateway.port, "the session has an origin of its own");
  await check("admin, tree page with custom.js", inside);

  // The planted HTML file, opened straight and framed by Jupyter's viewer, in the same tab.
  const openFile = async (who, page) => {
    const base = page.url().replace(/tree.*$/, "");
    await gotoDespiteNetworkChanges(page, base + "files/evil.html");
    await check(`${who}, files/evil.html`, page);
    await gotoDespiteNetworkChanges(page, base + "view/evil.html");
    const framed = await (await page.waitForSelector("iframe")).contentFrame();
    await check(`${who}, view/evil.html (the framed file)`, framed);
  };
  await openFile("admin", inside);

  step("the owner opens her session from the portal");
  const ownerContext = await browser.newContext({ locale: "en-US" });
  ownerContext.setDefaultTimeout(30000);
  const own = await ownerContext.newPage();
  await openSignInPage(own, base);
  await own.getByLabel("User name").fill(mallory);
  await own.getByLabel("Password").fill(malloryPassword);
  await own.keyboard.press("Enter");
  const sessionRow = own.locator("#sessions tbody tr", { hasText: "running" }).first();
  const [jupyter] = await Promise.all([ownerContext.waitForEvent("page"),
    sessionRow.getByRole("link", { name: "Open Jupyter" }).click()]);
  await jupyter.waitForURL(/\/s\/[a-z0-9]+\/tree/);
  await check("owner, tree page with custom.js", jupyter);
  await openFile("owner", jupyter);

  console.log("hostile: all steps passed");
} finally {
  await browser.close();
  done();
}
