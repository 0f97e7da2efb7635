// The admin's view of a pool of several GPU servers, in a real browser against a test's
// `gpupool server` (its self-signed certificate accepted for this run only) — the multi-node
// test's agents, or the Slurm test's nodes: a row per node with its state and what else it
// shows (a label, its engine), its GPUs counted in the pool, and a screenshot.
// Usage: node pool.mjs BASE_URL ADMIN_PASSWORD SCREENSHOT_FILE NODE[@TEXT...]...
// (TEXT: what the node's row shows besides; host=NODE when none is given)
import { launchChromium, openSignInPage, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, password, screenshot, ...nodeArguments] = process.argv.slice(2);
const nodes = nodeArguments.map((argument) => {
  const [name, ...texts] = argument.split("@");
  return { name, texts: texts.length > 0 ? texts : [`host=${name}`] };
});
const { step, done } = startRun("pool");
const browser = await launchChromium();
const context = await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 800 },
  ignoreHTTPSErrors: true });
context.setDefaultTimeout(30000);
const gateway = new URL(base);
await context.route((url) => url.origin !== gateway.origin, (route) => route.abort());
const page = await context.newPage();

try {
  step("sign in as the admin");
  await openSignInPage(page, base);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Available GPUs" }).waitFor();
  assert.match(await page.locator("#pool").innerText(), /A100-80GB/);

  step("every node, ready, with its labels (and its engine)");
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("heading", { name: "Administration" }).waitFor();
  for (const { name, texts } of nodes) {
    const row = page.locator(`#nodes tbody tr[data-node="${name}"]`);
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /ready/, `${name}: ${text}`);
    for (const shown of texts) assert.ok(text.includes(shown), `${name}: ${shown} not in ${text}`);
  }
  assert.equal(await page.locator("#nodes tbody tr").count(), nodes.length);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log("pool: ok");
} finally {
  done();
  await browser.close();
}
