// The browser half of `gpupool login --browser` (tests/e2e/test_oidc.py): it opens the
// address the CLI printed, passes the identity provider's login form, says yes to gpupool's
// question whether the command line may sign in, and waits for the CLI's own page on
// 127.0.0.1 to say that the sign-in is done.
// Usage: node oidc_cli.mjs START_URL USER
import { gotoDespiteNetworkChanges, launchChromium, startRun } from "./launch.mjs";

const [start, user] = process.argv.slice(2);
const { step, done } = startRun("oidc-cli");
const browser = await launchChromium();

try {
  step("the provider's login form");
  // The provider's certificate is the test CA's, which this browser does not know.
  const context = await browser.newContext({ locale: "en-US", ignoreHTTPSErrors: true });
  context.setDefaultTimeout(30000);
  const page = await context.newPage();
  await gotoDespiteNetworkChanges(page, start);
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill("any");
  await page.locator('button[type="submit"]').click();

  step("gpupool asks before the command line signs in");
  const port = new URL(start).searchParams.get("cli_port");
  await page.getByText(`(listening on port ${port}) asks to sign in as ${user}`).waitFor();
  await page.getByRole("button", { name: "Sign in the command line" }).click();

  step("back at the CLI's loopback page");
  await page.getByText("Signed in. You may close this page").waitFor();
  console.log("oidc-cli: all steps passed");
} finally {
  await browser.close();
  done();
}
