// Accounts in the browser: register, log out, log in again, a wrong password, CSRF kept.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE_URL, PASSWORD, launch, logIn, newPage, register, screenshot, uniqueEmail } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("an owner registers, is signed in, logs out and logs in again", async () => {
  const page = await newPage(browser);
  const email = uniqueEmail("ann");
  await page.goto(`${BASE_URL}/account/login`);
  await screenshot(page, "login");

  await register(page, { firstName: "Ann", lastName: "Smith", email });
  assert.equal(new URL(page.url()).pathname, "/dashboard");
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name === "ca_access");
  assert.ok(session, "the session cookie is set");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Lax");
  assert.equal(await page.evaluate(() => document.cookie.includes("ca_access")), false, "scripts cannot read it");

  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(`${BASE_URL}/account/login`);
  await page.goto(`${BASE_URL}/dashboard`);
  assert.equal(new URL(page.url()).pathname, "/account/login", "signed out: the dashboard asks to sign in");

  await logIn(page, { email, password: PASSWORD });
  assert.equal(new URL(page.url()).pathname, "/dashboard");
  await page.context().close();
});

test("a wrong password is explained on the form, which keeps the email", async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE_URL}/account/login`);
  await page.getByLabel("Email").fill("nobody@browser.test");
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Log in" }).click();

  await assertVisibleText(page.getByRole("alert"), "Wrong email or password.");
  assert.equal(await page.getByLabel("Email").inputValue(), "nobody@browser.test");
  await page.context().close();
});

test("the login form works from the keyboard alone", async () => {
  const page = await newPage(browser);
  const email = uniqueEmail("kim");
  await register(page, { firstName: "Kim", lastName: "Lee", email });
  await page.context().clearCookies();
  await page.goto(`${BASE_URL}/account/login`);

  await page.keyboard.press("Tab"); // the skip link comes first
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Skip to content");
  await page.getByLabel("Email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");

  await page.waitForURL(`${BASE_URL}/dashboard`);
  await page.context().close();
});

async function assertVisibleText(locator, text) {
  await locator.waitFor({ state: "visible" });
  assert.equal((await locator.textContent()).trim(), text);
}
