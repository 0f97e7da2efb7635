// Signing in to the portal with the organisation's LDAP password (tests/e2e/test_ldap.py): a
// wrong one is refused on the form, the right one opens the portal as the directory's user.
// Usage: node directory.mjs BASE_URL USER PASSWORD
import { launchChromium, openSignInPage, signIn, startRun } from "./launch.mjs";

const [base, user, password] = process.argv.slice(2);
const { step, done } = startRun("directory");
const browser = await launchChromium();

try {
  step("a wrong password is refused on the sign-in form");
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await openSignInPage(page, base);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password + "-wrong");
  await page.keyboard.press("Enter");
  await page.locator("#login-error", { hasText: "wrong username or password" }).waitFor();
  await context.close();

  step("the directory's password signs in; the portal shows the user");
  const portal = await signIn(browser, base, user, password);
  await portal.locator("#who", { hasText: user }).waitFor();

  console.log("directory: all steps passed");
} finally {
  await browser.close();
  done();
}
