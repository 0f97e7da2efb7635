// VS Code in the browser (code-server in the session's image) in a real browser: the owner
// opens it from the portal with one click, on the session's own address, and its explorer
// lists the home, where tests/e2e/test_vscode.py planted a file that the editor then shows —
// both come from the session over the editor's WebSocket through the gateway.
// Usage: node vscode.mjs BASE_URL SESSION_ID USER PASSWORD
import { launchChromium, signIn, startRun } from "./launch.mjs";
import assert from "node:assert/strict";

const [base, id, user, password] = process.argv.slice(2);
const gateway = new URL(base);
const { step, done } = startRun("vscode");
const browser = await launchChromium();

try {
  step("the owner opens VS Code from the portal");
  const portal = await signIn(browser, base, user, password, { sessionAddresses: true });
  const row = portal.locator("#sessions tbody tr", { hasText: id });
  const open = row.getByRole("link", { name: "VS Code" });
  const [editor] = await Promise.all([portal.context().waitForEvent("page"), open.click()]);

  step("the workbench loads on the session's own address");
  await editor.waitForURL(new RegExp(`/s/${id}/vscode/\\?folder=`), { timeout: 60000 });
  const origin = new URL(editor.url());
  assert.equal(origin.hostname, gateway.hostname);
  assert.notEqual(origin.port, gateway.port, "VS Code is on the session's origin, not the portal's");
  await editor.locator(".monaco-workbench").waitFor({ timeout: 120000 });

  step("its explorer lists the home, and the editor opens a file of it");
  const file = editor.locator(".explorer-folders-view").getByText("from-the-session.txt");
  await file.waitFor({ timeout: 120000 });
  await file.click();
  await editor.locator(".monaco-editor .view-lines", { hasText: `written in ${id}` }).waitFor({ timeout: 60000 });

  console.log("vscode: all steps passed");
} finally {
  await browser.close();
  done();
}
