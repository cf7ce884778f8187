// The scenarios, in order, on one server: an owner registers and creates a business; an
// admin assigns it a number; a simulated call appears on the owner's open dashboard without a
// reload; with availability switched off the next call goes to the AI agent and its transcript
// opens; another owner cannot open that call by URL.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN, BASE_URL, launch, logIn, newPage, register, screenshot, uniqueEmail } from "./support.mjs";

/** The demo seed's unassigned number (`callassist demo seed`). */
const SPARE_NUMBER = "+15555550101";

let browser;
let owner; // the first owner's page, kept open through the scenarios
const state = {};

before(async () => {
  browser = await launch();
  owner = await newPage(browser);
});
after(async () => { await browser?.close(); });

test("an owner registers, logs in and creates a business", async () => {
  await register(owner, { firstName: "Joe", lastName: "Plumber", email: uniqueEmail("joe") });
  await owner.goto(`${BASE_URL}/dashboard/businesses/new`);
  await owner.getByLabel("Name").fill("Joe's Plumbing");
  await owner.getByLabel("Owner's phone").fill("+15555550177");
  await owner.getByLabel("Timezone").fill("America/New_York");
  await screenshot(owner, "new-business");
  await owner.getByRole("button", { name: "Create business" }).click();

  await owner.waitForURL(/\/dashboard\/businesses\/[0-9a-f-]{36}(\?.*)?$/);
  state.businessId = new URL(owner.url()).pathname.split("/").pop();
  await owner.getByRole("heading", { name: "Joe's Plumbing" }).waitFor();
  const available = owner.locator(`#availability-${state.businessId}`);
  assert.equal(await available.getAttribute("aria-pressed"), "true");
  assert.equal((await available.textContent()).trim(), "Available");
});

test("the owner sets up the AI agent; the key is never shown again", async () => {
  assert.ok(state.businessId, "the business was created");
  assert.equal(new URL(owner.url()).pathname, `/dashboard/businesses/${state.businessId}`);
  const key = "sk-browser-test-key-WXYZ";
  await owner.getByLabel("Instructions").fill("Answer for Joe's Plumbing and take a message.");
  await owner.getByLabel("Model").fill("gpt-realtime");
  await owner.getByLabel("OpenAI API key").fill(key);
  await owner.locator("#agent-save").click();

  await owner.locator("#agent-key").filter({ hasText: "WXYZ" }).waitFor();
  assert.equal((await owner.content()).includes(key), false, "the key is write-only");
  assert.equal(await owner.getByLabel("OpenAI API key").inputValue(), "");
  await screenshot(owner, "business-settings");
});

test("the availability switch takes one click, and a second to come back", async () => {
  const button = owner.locator(`#availability-${state.businessId}`);
  await button.click();
  await owner.locator(`#availability-${state.businessId}[aria-pressed="false"]`).waitFor();
  assert.equal((await button.textContent()).trim(), "Away");
  await owner.reload();
  assert.equal(await button.getAttribute("aria-pressed"), "false", "it was saved, not only shown");

  await button.click();
  await owner.locator(`#availability-${state.businessId}[aria-pressed="true"]`).waitFor();
});

test("an admin assigns a number to the new business", async () => {
  assert.ok(state.businessId, "the business was created");
  const admin = await newPage(browser);
  await logIn(admin, ADMIN);
  await admin.goto(`${BASE_URL}/admin`);
  await admin.getByRole("img").first().waitFor();
  await screenshot(admin, "admin-overview");
  await admin.goto(`${BASE_URL}/admin/numbers`);
  const key = SPARE_NUMBER.slice(1);

  await admin.locator(`#assign-${key}`).selectOption(state.businessId);
  await admin.locator(`#assign-button-${key}`).click();

  await admin.locator("#numbers-notice").waitFor();
  assert.equal(
    (await admin.locator(`#number-${key} .business`).textContent()).trim(),
    "Joe's Plumbing",
  );
  await screenshot(admin, "admin-numbers");
  await admin.context().close();
});
