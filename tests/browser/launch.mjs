// What both browser tests start with: Debian's chromium, quiet and offline, and a watchdog
// that bounds the whole run whatever hangs (every wait has its own limit too).
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    timeout: 60000,
    // No background traffic: the test machines have no way out, and lookups can hang there.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// A run of named steps, each logged as it begins; after five minutes the run exits with
// status 2, saying which step it was in. `done()` ends the watch.
export function startRun(name) {
  let current = "starting chromium";
  const watchdog = setTimeout(() => {
    console.log(`${name}: gave up after 5 minutes, during: ${current}`);
    process.exit(2);
  }, 300000);
  return {
    step: (text) => {
      current = text;
      console.log(`- ${text}`);
    },
    done: () => clearTimeout(watchdog),
  };
}

// A fresh context signed in as `name`: offline but for the gateway (and, with
// `sessionAddresses`, the sessions' own ports on its host), the page on its landing.
export async function signIn(browser, base, name, secret, { sessionAddresses = false, ...options } = {}) {
  const gateway = new URL(base);
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 900 }, ...options });
  context.setDefaultTimeout(30000);
  const offline = sessionAddresses ? (url) => url.hostname !== gateway.hostname : (url) => url.origin !== gateway.origin;
  await context.route(offline, (route) => route.abort());
  const page = await context.newPage();
  await openSignInPage(page, base);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(secret);
  await page.keyboard.press("Enter");
  await page.locator("#sessions, #main h1").first().waitFor();
  return page;
}

// page.goto, tried again (up to four times, half a second apart) when the load is cut short:
// Chromium aborts loads when the host's interfaces change, as they do whenever a container
// engine adds a bridge for another test's session (net::ERR_NETWORK_CHANGED).
export async function gotoDespiteNetworkChanges(page, url) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (failure) {
      if (attempt === 4) throw failure;
      console.log(`  (navigation retried: ${failure.message.split("\n")[0]})`);
      await page.waitForTimeout(500);
    }
  }
}

// Loads `url` until `shown` (a locator) is visible, up to three times. Seen a few times in full
// CI runs, never alone: a page did not render, some request of its module graph unanswered or
// cut short (the portal's first page in a fresh browser; Jupyter's notebook page while the
// engine added bridges). Each miss logs the requests still open and those that failed, so
// that the runs show where they hang (the gateway or the browser).
export async function loadUntilShown(page, url, shown, what) {
  const open = new Map();
  const failed = [];
  const started = (request) => open.set(request, Date.now());
  const ended = (request) => open.delete(request);
  const broke = (request) => {
    open.delete(request);
    failed.push(`${request.url()} (${request.failure()?.errorText})`);
  };
  page.on("request", started);
  page.on("requestfinished", ended);
  page.on("requestfailed", broke);
  try {
    for (let attempt = 1; ; ++attempt) {
      open.clear();
      failed.length = 0;
      await gotoDespiteNetworkChanges(page, url);
      try {
        await shown.waitFor({ timeout: 30000 });
        return;
      } catch (failure) {
        const waiting = [...open].map(([request, since]) =>
          `${request.method()} ${request.url()} (${Math.round((Date.now() - since) / 1000)} s)`);
        console.log(`- ${what} did not render (try ${attempt}); open requests: ` +
          (waiting.join(", ") || "none") + "; failed: " + (failed.join(", ") || "none"));
        if (attempt === 3) throw failure;
      }
    }
  } finally {
    page.off("request", started);
    page.off("requestfinished", ended);
    page.off("requestfailed", broke);
  }
}

export async function openSignInPage(page, base) {
  await loadUntilShown(page, base + "/", page.getByLabel("User name"), "the sign-in page");
}
