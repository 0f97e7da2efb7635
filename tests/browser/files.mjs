// A session's files from the portal in a real browser (Debian's chromium, playwright-core):
// the owner opens the session's file page with one click, drops a file on it (several 1 MiB
// pieces, with progress), chooses another, sees both listed, downloads one back byte for byte,
// and is told that a file over the page's limit is for `gpupool cp`. The server runs with
// --session-domain (the page is on <id>.localhost) and --upload-limit-mb 4.
// Usage: node files.mjs BASE_URL SESSION_ID USER PASSWORD CHOSEN_FILE
import { launchChromium, openSignInPage, startRun } from "./launch.mjs";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";

const [base, id, user, password, chosenFile] = process.argv.slice(2);
const gateway = new URL(base);
const { step, done } = startRun("files");
const browser = await launchChromium();
const digest = (bytes) => createHash("sha256").update(bytes).digest("hex");

// A drop of one file made of `bytes` on the page's drop zone, as a desktop's drag would.
async function dropFile(page, name, bytes) {
  const transfer = await page.evaluateHandle(({ name, encoded }) => {
    const data = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    const dropped = new DataTransfer();
    dropped.items.add(new File([data], name));
    return dropped;
  }, { name, encoded: bytes.toString("base64") });
  await page.dispatchEvent("#drop", "drop", { dataTransfer: transfer });
}

try {
  step("the owner opens the session's files from the portal");
  const context = await browser.newContext({ locale: "en-US", acceptDownloads: true });
  context.setDefaultTimeout(30000);
  await context.route((url) => url.hostname !== gateway.hostname && !url.hostname.endsWith(".localhost"),
    (route) => route.abort());
  const portal = await context.newPage();
  await openSignInPage(portal, base);
  await portal.getByLabel("User name").fill(user);
  await portal.getByLabel("Password").fill(password);
  await portal.keyboard.press("Enter");
  const row = portal.locator("#sessions tbody tr", { hasText: id });
  const [files] = await Promise.all([context.waitForEvent("page"), row.getByRole("link", { name: "Files" }).click()]);
  await files.waitForURL(new RegExp(`/s/${id}/gpupool/files$`));
  assert.equal(new URL(files.url()).hostname, `${id}.localhost`, "on the session's own origin");
  await files.getByText("Files in your home").waitFor();
  await files.locator("#listing").waitFor();

  step("a dropped file goes up in pieces, with progress");
  const dropped = randomBytes(3 * 1024 * 1024 + 7);
  await dropFile(files, "dropped.bin", dropped);
  const item = files.locator('#uploads li[data-file="dropped.bin"]');
  await item.and(files.locator(".done")).waitFor({ timeout: 60000 });
  const bar = item.locator("progress");
  assert.equal(await bar.getAttribute("max"), String(dropped.length));
  assert.equal(await bar.evaluate((element) => element.value), dropped.length);

  step("a chosen file goes up too, and both are listed");
  await files.setInputFiles("#chooser", chosenFile);
  await files.locator('#uploads li.done[data-file="chosen.txt"]').waitFor();
  await files.locator('#listing tr[data-name="dropped.bin"]').waitFor();
  await files.locator('#listing tr[data-name="chosen.txt"]').waitFor();

  step("a download comes back byte for byte");
  const [download] = await Promise.all([files.waitForEvent("download"),
    files.locator('#listing tr[data-name="dropped.bin"]').getByRole("link", { name: "Download" }).click()]);
  const back = await readFile(await download.path());
  assert.equal(back.length, dropped.length);
  assert.equal(digest(back), digest(dropped));
  console.log(`  dropped.bin: ${dropped.length} bytes up and back, sha256 ${digest(dropped).slice(0, 16)}…`);

  step("a file over the page's limit is refused, pointing to gpupool cp");
  await dropFile(files, "huge.bin", randomBytes(5 * 1024 * 1024));
  const refused = files.locator('#uploads li.refused[data-file="huge.bin"]');
  await refused.waitFor();
  assert.match(await refused.innerText(), /larger than 4\.0 MiB.*gpupool cp/);
  assert.equal(await files.locator('#listing tr[data-name="huge.bin"]').count(), 0);

  console.log("files: all steps passed");
} finally {
  await browser.close();
  done();
}
