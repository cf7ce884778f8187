// Shared by the browser scenarios: the browser, the server's settings (from scripts/browser-tests),
// signing in, running the simulator, and screenshots for the README.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const run = promisify(execFile);

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with scripts/browser-tests`);
  return value;
}

export const BASE_URL = required("BASE_URL");
export const ADMIN = { email: required("ADMIN_EMAIL"), password: required("ADMIN_PASSWORD") };
/** The password every user a scenario registers gets. */
export const PASSWORD = "browser tests password 42";

/** Headless Debian Chromium (never a downloaded browser). */
export async function launch() {
  return chromium.launch({ executablePath: required("CHROMIUM"), headless: true });
}

/** A fresh browser context (its own cookies), phone-sized when `phone` is set. */
export async function newPage(browser, { phone = false } = {}) {
  const context = await browser.newContext(
    phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 860 } },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

/** A unique email for a scenario's user. */
export function uniqueEmail(who) {
  return `${who}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@browser.test`;
}

/** Registers a business owner through the registration page; lands on the dashboard. */
export async function register(page, { firstName, lastName, email }) {
  await page.goto(`${BASE_URL}/account/register`);
  await page.getByLabel("First name").fill(firstName);
  await page.getByLabel("Last name").fill(lastName);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${BASE_URL}/dashboard`);
}

/** Signs in through the login page; lands on `next` (the dashboard by default). */
export async function logIn(page, { email, password = PASSWORD }) {
  await page.goto(`${BASE_URL}/account/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/account/login"));
}

/**
 * Holds the page's main thread in a synchronous request until `release()`: meanwhile its
 * streams' events queue up, and are then handled one right behind the other, as in a tab that
 * was busy.
 */
export async function holdPage(page) {
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  let arrived;
  const reached = new Promise((resolve) => { arrived = resolve; });
  const server = createServer(async (_request, response) => {
    arrived();
    await released;
    response.writeHead(204, { "Access-Control-Allow-Origin": "*" });
    response.end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const held = page.evaluate((gate) => {
    const request = new XMLHttpRequest();
    request.open("GET", gate, false); // synchronous: nothing else runs on the page meanwhile
    request.send();
  }, url);
  const gaveUp = held.then(
    () => { throw new Error("the page's request came back before it was released"); },
    (err) => { throw new Error(`the page could not be held: ${err.message}`); },
  );
  try {
    await Promise.race([reached, gaveUp]);
  } catch (err) {
    server.close();
    throw err;
  }
  return {
    async release() {
      release();
      await held;
      server.close();
    },
  };
}

/** `callassist simulate call` against the server (it plays Twilio); returns its output. */
export async function simulateCall({ to, owner = "no-answer", aiSeconds }) {
  const args = ["simulate", "call", "--to", to, "--owner", owner, "--server", BASE_URL];
  if (aiSeconds !== undefined) args.push("--ai-seconds", String(aiSeconds));
  const { stdout } = await run(required("CALLASSIST_BIN"), args, { env: process.env, timeout: 60_000 });
  return stdout;
}

/** The CallSid the simulator named in its output. */
export function callSidOf(output) {
  const match = output.match(/\b(CA[0-9a-f]{32})\b/);
  if (!match) throw new Error(`the simulator named no call:\n${output}`);
  return match[1];
}

/** Writes a screenshot for the README when SCREENSHOTS_DIR is set (scripts/browser-tests --screenshots). */
export async function screenshot(page, name) {
  const dir = process.env.SCREENSHOTS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
