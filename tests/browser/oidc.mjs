// Signing in to the portal through the organisation's OpenID Connect provider
// (tests/e2e/test_oidc.py): "Sign in with …" on the sign-in page, the provider's login form,
// and back in the portal as that user.
// Usage: node oidc.mjs BASE_URL PROVIDER_NAME USER
import { launchChromium, openSignInPage, startRun } from "./launch.mjs";

const [base, providerName, user] = process.argv.slice(2);
const { step, done } = startRun("oidc");
const browser = await launchChromium();

try {
  step("the sign-in page offers the provider");
  // The provider's certificate is the test CA's, which this browser does not know.
  const context = await browser.newContext({ locale: "en-US", ignoreHTTPSErrors: true });
  context.setDefaultTimeout(30000);
  const page = await context.newPage();
  await openSignInPage(page, base);
  await page.getByRole("link", { name: `Sign in with ${providerName}` }).click();

  step("the provider's login form, then back in the portal signed in");
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill("any");
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(new RegExp(`^${base}/`));
  await page.locator("#who", { hasText: user }).waitFor();

  console.log("oidc: all steps passed");
} finally {
  await browser.close();
  done();
}
