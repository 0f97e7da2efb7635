// Notification settings, charts, statements and the efficiency report in a real browser: a user
// confirms their e-mail address with the code mailed to it and sets a balance threshold on
// the account page, sees their usage chart and reads this month's statement (printable, with
// a CSV download); an admin sees the pool's chart, the efficiency report and a group's
// statement.
// Usage: node reports.mjs BASE_URL USER PASSWORD CODE SESSION_ID ADMIN_PASSWORD GROUP SCREENSHOT_DIR
import { gotoDespiteNetworkChanges, launchChromium, signIn as signInAt, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, user, password, code, session, adminPassword, group, screenshots] = process.argv.slice(2);
const { step, done } = startRun("reports");
const browser = await launchChromium();

const signIn = (name, secret) => signInAt(browser, base, name, secret, { acceptDownloads: true });

try {
  step("the account page: confirm the address with the mailed code");
  const page = await signIn(user, password);
  await gotoDespiteNetworkChanges(page, base + "/#/account");
  const card = page.locator("#notify-body");
  await card.getByText(/Enter the code mailed to .+ to confirm it/).waitFor();
  await card.getByRole("textbox", { name: "Confirmation code" }).fill(code);
  await card.getByRole("button", { name: "Confirm" }).click();
  await card.getByText(/Notifications are mailed to /).waitFor();

  step("a balance threshold, saved");
  await card.getByRole("spinbutton", { name: "Tell me when my balance falls below (credits)" }).fill("7.5");
  await card.getByRole("form", { name: "Tell me when my balance falls below (credits)" })
    .getByRole("button", { name: "Save" }).click();
  await page.waitForFunction(() => document.querySelector("#notify-body input[name=credits]")?.value === "7.5");
  await page.screenshot({ path: `${screenshots}/account-notifications.png`, fullPage: true });

  step("the usage chart: GPU-hours and spend per day, drawn and summed in words");
  await gotoDespiteNetworkChanges(page, base + "/#/usage");
  await page.locator("#usage-chart canvas").waitFor();
  await page.locator("#usage-chart-summary").getByText(/GPU-hours and [0-9.]+ credits in 30 days/).waitFor();
  assert.notEqual(await page.locator("#usage-chart-summary").innerText(), "0.00 GPU-hours and 0.00 credits in 30 days.");

  step("this month's statement lists the session's charge");
  const statement = page.locator("section[aria-labelledby=statement-title]");
  await statement.getByRole("button", { name: "Show" }).click();
  const charge = statement.locator("#statement-lines tbody tr", { hasText: session });
  await charge.waitFor();
  assert.match(await charge.innerText(), /charge/i);
  const download = page.waitForEvent("download");
  await statement.getByRole("link", { name: "Download CSV" }).click();
  const csv = await (await download).path();
  const text = (await import("node:fs")).readFileSync(csv, "utf8");
  assert.match(text, new RegExp(`charge,${session},`));
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator("header.bar").isVisible(), false, "printing shows only the statement");
  assert.equal(await statement.locator("#statement").isVisible(), true);
  await page.emulateMedia({ media: "screen" });
  await page.screenshot({ path: `${screenshots}/statement.png`, fullPage: true });

  step("an admin: the efficiency report and the group's statement");
  const admin = await signIn("admin", adminPassword);
  await gotoDespiteNetworkChanges(admin, base + "/#/admin");
  await admin.locator("#pool-chart canvas").waitFor();
  await admin.locator("#pool-chart-summary").getByText(/Up to 4 GPUs; at most/).waitFor();
  await admin.getByRole("button", { name: "Last week" }).click();
  await admin.locator("#pool-chart canvas").waitFor();
  await admin.locator("section[aria-labelledby=pool-chart-title]").screenshot({ path: `${screenshots}/pool-chart.png` });
  const efficiency = admin.locator("section[aria-labelledby=efficiency-title]");
  await efficiency.locator("#efficiency-users tbody tr", { hasText: user }).waitFor();
  await efficiency.locator("#efficiency-groups tbody tr", { hasText: group }).waitFor();
  const statements = admin.locator("section[aria-labelledby=statement-title]");
  await statements.getByRole("textbox", { name: "User (or group:NAME)" }).fill(`group:${group}`);
  await statements.getByRole("button", { name: "Show" }).click();
  await statements.getByText(`Statement of group ${group}`).waitFor();
  await statements.locator("#statement-members tbody tr", { hasText: user }).waitFor();
  console.log("reports: ok");
} finally {
  done();
  await browser.close();
}
