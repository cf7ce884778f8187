// The scenarios, in order, on one server: an owner registers and creates a business; an
// admin assigns it a number; a simulated call appears on the owner's open dashboard without a
// reload; with availability switched off the next call goes to the AI agent and its transcript
// opens; another owner cannot open that call by URL.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  ADMIN, BASE_URL, callSidOf, holdPage, launch, logIn, newPage, register, screenshot, simulateCall, uniqueEmail,
} from "./support.mjs";
import { SUMMARY } from "./fake-openai.mjs";

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

test("a simulated call appears on the open dashboard without a reload", async () => {
  assert.ok(state.businessId, "the business was created");
  await owner.goto(`${BASE_URL}/dashboard`);
  await owner.locator("#calls-panel").waitFor();
  // The page keeps its SSE connection; anything that reloaded it would lose this marker.
  await owner.evaluate(() => { window.notReloaded = true; });
  await owner.waitForFunction(() => document.querySelector("#calls-panel")?.hasAttribute("sse-connect"));
  await new Promise((resolve) => setTimeout(resolve, 500)); // the stream connects

  const output = await simulateCall({ to: SPARE_NUMBER, owner: "answers" });
  const sid = callSidOf(output);

  const row = owner.locator(`#call-${sid}`);
  await row.waitFor({ timeout: 15_000 });
  await owner.locator(`#call-${sid}[data-status="completed"]`).waitFor({ timeout: 15_000 });
  assert.equal(await row.getAttribute("data-route"), "owner");
  assert.equal(await owner.evaluate(() => window.notReloaded), true, "the page was not reloaded");
  await owner.locator("#today-calls .value").filter({ hasText: /^[1-9]/ }).waitFor({ timeout: 15_000 });
  state.ownerCall = sid;
});

test("with availability off, the next simulated call goes to the AI agent; its transcript and summary open", async () => {
  assert.ok(state.ownerCall, "the first call was seen");
  await owner.goto(`${BASE_URL}/dashboard/businesses/${state.businessId}`);
  await owner.locator(`#availability-${state.businessId}`).click();
  await owner.locator(`#availability-${state.businessId}[aria-pressed="false"]`).waitFor();
  await owner.goto(`${BASE_URL}/dashboard`);
  await owner.locator("#calls-panel").waitFor();
  await new Promise((resolve) => setTimeout(resolve, 500));

  const output = await simulateCall({ to: SPARE_NUMBER, owner: "no-answer" });
  const sid = callSidOf(output);

  const row = owner.locator(`#call-${sid}`);
  await owner.locator(`#call-${sid}[data-route="ai"]`).waitFor({ timeout: 20_000 });
  await owner.locator("#toasts .toast").first().waitFor({ timeout: 20_000 }); // the message taken
  // Today's numbers follow the live events too (no reload).
  await owner.locator("#today-ai .value").filter({ hasText: /^1$/ }).waitFor({ timeout: 15_000 });
  await screenshot(owner, "dashboard");
  await row.getByRole("link", { name: /Open/ }).click();
  await owner.waitForURL(`${BASE_URL}/dashboard/calls/${sid}`);
  const transcript = owner.locator("#transcript");
  await transcript.waitFor();
  assert.ok(await transcript.locator("li.agent").count() > 0, "the agent's side is shown");
  assert.ok(await transcript.locator("li.caller").count() > 0, "the caller's side is shown");
  await owner.locator("#messages").waitFor();
  // The summary is written after the call (the summariser asks the fake OpenAI): reload until
  // the page shows it.
  const deadline = Date.now() + 20_000;
  while (!(await owner.locator("#summary").textContent()).includes(SUMMARY)) {
    assert.ok(Date.now() < deadline, "the call's summary appears on its page");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await owner.reload();
  }
  await screenshot(owner, "call");
  state.aiCall = sid;
});

test("a row catches up with a whole call whose events a busy tab received at once", async () => {
  assert.ok(state.aiCall, "the AI call was made");
  await owner.goto(`${BASE_URL}/dashboard`);
  await owner.locator("#calls-panel").waitFor();
  await new Promise((resolve) => setTimeout(resolve, 500)); // the stream connects

  const page = await holdPage(owner);
  let sid;
  try {
    sid = callSidOf(await simulateCall({ to: SPARE_NUMBER, owner: "no-answer" }));
    // Until the last change (the summary) is written and the stream has had time to send it.
    const summaryInHtml = SUMMARY.split(/['"&<>]/)[0]; // the part the page need not escape
    const deadline = Date.now() + 20_000;
    for (;;) {
      const call = await owner.context().request.get(`${BASE_URL}/dashboard/calls/${sid}`);
      if ((await call.text()).includes(summaryInHtml)) break;
      assert.ok(Date.now() < deadline, `the call was summarised (its page answered ${call.status()})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  } finally {
    await page.release();
  }

  // The row comes in with the call under way; only the changes queued behind it finish it.
  await owner.locator(`#call-${sid}[data-status="completed"]`).waitFor({ timeout: 5_000 });
  assert.equal(await owner.locator(`#call-${sid}`).getAttribute("data-route"), "ai");
  assert.match(await owner.locator(`#call-${sid} .summary`).textContent(), /\S/);
});

test("another owner cannot open that call by its URL", async () => {
  assert.ok(state.aiCall, "the AI call was made");
  const stranger = await newPage(browser);
  await register(stranger, { firstName: "Eve", lastName: "Other", email: uniqueEmail("eve") });

  const foreign = await stranger.goto(`${BASE_URL}/dashboard/calls/${state.aiCall}`);
  const foreignText = (await stranger.locator("main").textContent()).trim();
  const missing = await stranger.goto(`${BASE_URL}/dashboard/calls/CA00000000000000000000000000000000`);
  const missingText = (await stranger.locator("main").textContent()).trim();

  assert.equal(foreign.status(), 404);
  await stranger.getByRole("heading", { name: "Not found" }).waitFor();
  assert.equal(missing.status(), 404);
  assert.equal(foreignText, missingText, "a foreign call looks exactly like a missing one");
  await stranger.context().close();
});

test("the dashboard fits a phone-sized screen", async () => {
  const phone = await newPage(browser, { phone: true });
  await phone.context().addCookies(await owner.context().cookies());
  await phone.goto(`${BASE_URL}/dashboard`);
  await phone.locator("#calls").waitFor();

  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
  await screenshot(phone, "dashboard-phone");
  await phone.context().close();
});

test("the admin overview counts the calls in its charts", async () => {
  assert.ok(state.aiCall, "the calls were made");
  const admin = await newPage(browser);
  await logIn(admin, ADMIN);
  await admin.goto(`${BASE_URL}/admin`);

  const chart = admin.getByRole("img", { name: /calls/i }).first();
  await chart.waitFor();
  assert.match(await admin.locator("main").textContent(), /[1-9]\d* calls? in total/);
  await screenshot(admin, "admin-overview");
  await admin.context().close();
});
