// The image catalog in a real browser: an admin rolls an image in testing out to canary from
// the admin page and is told why a malformed tag is refused; a user's launch form greys out a
// deprecated image and one no node's driver can run, marks the canary, and says when an image
// has no SSH.
// The halted roll-out of FAMILY shows why, and users may ask for the family. The user reads
// what the container of their FAILED session printed, saves their running SESSION as an
// image, told that the home is not part of it, and sees it ready.
// Usage: node images.mjs BASE_URL ADMIN_PASSWORD USER PASSWORD FRESH DEPRECATED TOO_NEW NO_SSH BAD_REFERENCE FAMILY SESSION FAILED SCREENSHOT_DIR
import { gotoDespiteNetworkChanges, launchChromium, signIn as signInAt, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, adminPassword, user, password, fresh, deprecated, tooNew, noSsh, badReference, family, session, failed,
  screenshots] =
  process.argv.slice(2);
const { step, done } = startRun("images");
const browser = await launchChromium();

const signIn = (name, secret) => signInAt(browser, base, name, secret, { viewport: { width: 1280, height: 900 } });

try {
  step("admin: the catalog shows the image in testing, checked");
  const admin = await signIn("admin", adminPassword);
  await gotoDespiteNetworkChanges(admin, base + "/#/admin");
  const row = () => admin.locator(`#images tr[data-tag="${fresh}"]`);
  await row().waitFor();
  assert.match(await row().innerText(), /testing/);
  assert.match(await row().innerText(), /passed: Python 3\./);

  step("admin: a step to canary");
  await row().getByRole("combobox", { name: `Next state of ${fresh}` }).selectOption("canary");
  await row().getByRole("button", { name: "Apply" }).click();
  await admin.locator(`#images tr[data-tag="${fresh}"] td:first-of-type`, { hasText: /^canary$/ }).waitFor();

  step("admin: a malformed tag is refused with the reason");
  const card = admin.locator("section[aria-label=Images]");
  await card.getByLabel("Registry reference").fill(badReference);
  await card.getByRole("button", { name: "Add image" }).click();
  await card.getByText(/image tag "latest" is not valid/).waitFor();
  await card.screenshot({ path: `${screenshots}/catalog.png` });

  step("admin: the halted roll-out says why");
  const rollout = admin.locator(`#rollouts tr[data-family="${family}"]`);
  await rollout.getByText(/halted/).waitFor();
  assert.match(await rollout.innerText(), /failed to start 2 of 2 sessions/);
  await admin.locator("section[aria-label='Image roll-outs']").screenshot({ path: `${screenshots}/rollouts.png` });

  step("user: the launch form greys out what cannot start");
  const page = await signIn(user, password);
  const option = (tag) => page.locator(`#request-image option[value="${tag}"]`);
  const greyed = async (tag) => (await option(tag).getAttribute("disabled")) !== null;
  await option(fresh).waitFor({ state: "attached" });
  assert.equal(await greyed(deprecated), true);
  assert.match(await option(deprecated).innerText(), /deprecated/);
  assert.equal(await greyed(tooNew), true);
  assert.match(await option(tooNew).innerText(), /no node's driver supports CUDA 12\.8/);
  assert.equal(await greyed(fresh), false);
  assert.match(await option(fresh).innerText(), /canary/);
  assert.match(await option(family).innerText(), new RegExp(`^${family} \\(`));
  await page.locator("#request-image").selectOption(noSsh);
  await page.locator("#image-help").getByText(/no SSH in this image/).waitFor();
  await page.locator("#request").screenshot({ path: `${screenshots}/launch-images.png` });

  step("user: a failed session shows what its container printed");
  const failedRow = page.locator(`#sessions tr[data-session="${failed}"]`);
  await failedRow.getByText("What its container printed last").click();
  const startLog = failedRow.locator("pre.start-log");
  await startLog.getByText(/jupyter: the notebook package is broken/).waitFor().catch(async (failure) => {
    console.log(`- shown instead: ${JSON.stringify(await startLog.innerText().catch(() => "(no log element)"))}`);
    throw failure;
  });

  step("user: a running session saved as an image");
  const sessionRow = page.locator(`#sessions tr[data-session="${session}"]`);
  await sessionRow.getByText("Save as image").click();
  await sessionRow.getByText(/Your home is not part of the image/).waitFor();
  await sessionRow.getByLabel("Image name").fill("browser-env");
  await sessionRow.getByRole("button", { name: "Save" }).click();
  const saved = page.locator(`#my-images tr[data-image="${user}/browser-env"]`);
  await saved.getByText("ready").waitFor({ timeout: 120_000 });
  assert.match(await page.locator("#my-images").innerText(), /your home is not part of it/);
  await page.locator("#my-images").screenshot({ path: `${screenshots}/my-images.png` });
  console.log("images: ok");
} finally {
  done();
  await browser.close();
}
