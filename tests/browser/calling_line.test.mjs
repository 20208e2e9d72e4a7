// A campaign's calling line on its Settings screen: the organiser picks one
// of the organisation's numbers ([telephony] caller_id and caller_ids in
// switchboard.toml) as the caller ID both phones show, and how long the
// member's phone rings; a ring time out of bounds is refused before it is
// sent; both stay editable once the campaign is live, when everything else
// about who is called is fixed. The organiser's progress view shows the calls
// going on now, refreshed from the server.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { PASSWORDS, Recorder, launch, setUpDataDir, startServer, story } from "./lib.mjs";

const CAMPAIGN = "Caller ID check";
const DEFAULT_NUMBER = "+441632960000";
const OTHER_NUMBER = "+441632960001";
const TIMEOUT = 20_000;

let data;
let server;
let browser;
let page;
let campaignId;
const rec = new Recorder();
const step = story(rec);

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

// The organisation's numbers, as an operator would list them.
function listNumbers(dir) {
  const path = join(dir, "switchboard.toml");
  const text = readFileSync(path, "utf8");
  const changed = text
    .replace(/^caller_id = ".*"$/m, `caller_id = "${DEFAULT_NUMBER}"`)
    .replace(/^caller_ids = \[.*\]$/m, `caller_ids = ["${OTHER_NUMBER}", "+441632960002"]`);
  assert.notEqual(changed, text, `no [telephony] caller_id settings in ${path}`);
  writeFileSync(path, changed);
}

before(async () => {
  data = setUpDataDir();
  listNumbers(data.dir);
  server = await startServer(data.dir);
  browser = await launch();
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await rec.watch(context, "organiser");
  page = await context.newPage();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

const callerId = () => page.getByLabel("Caller ID");
const ringFor = () => page.getByLabel("Ring the member for (seconds)");

step("the organiser makes a draft; its settings offer the organisation's numbers only", async () => {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill("olga");
  await page.getByLabel("Password").fill(PASSWORDS.olga);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "New campaign" }).click();
  await page.getByLabel("Campaign name").fill(CAMPAIGN);
  await page.getByLabel("Scope").selectOption("E14000530");
  await page.getByLabel("Purpose").fill("Check that members' details are up to date.");
  await page.getByLabel("Script").fill("Hello, I'm calling from the branch.");
  const created = page.waitForResponse(isApi("POST", /^\/api\/v1\/campaigns$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await created;
  assert.equal(res.status(), 201, await res.text());
  const saved = (await res.json()).campaign;
  campaignId = saved.id;
  assert.equal(saved.caller_id_number, null, "a new campaign uses the default number");
  assert.equal(saved.ring_seconds, null, "and the default ring time");
  // A draft opens on its settings.
  await page.getByRole("heading", { name: CAMPAIGN, level: 1 }).waitFor();
  await page.getByRole("group", { name: "Calling line" }).waitFor();
  const options = await callerId().locator("option").allTextContents();
  assert.deepEqual(options, [`The organisation's default (${DEFAULT_NUMBER})`, DEFAULT_NUMBER, OTHER_NUMBER,
    "+441632960002"]);
  assert.equal(await ringFor().getAttribute("placeholder"), "30", "the server's default ring time");
  assert.equal(await ringFor().inputValue(), "");
});

step("a ring time out of bounds is refused before anything is sent", async () => {
  let sent = 0;
  const count = (r) => { if (isApi("PATCH", /^\/api\/v1\/campaigns\/\d+$/)(r)) sent += 1; };
  page.on("response", count);
  await ringFor().fill("5");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByText("Ring the member for 10 to 60 seconds, or leave it empty for the default.").waitFor();
  assert.equal(await ringFor().evaluate((el) => el === document.activeElement), true, "focus on the field");
  page.off("response", count);
  assert.equal(sent, 0);
});

step("the organiser chooses another of the organisation's numbers and a ring time", async () => {
  await callerId().selectOption(OTHER_NUMBER);
  await ringFor().fill("25");
  const saved = page.waitForResponse(isApi("PATCH", /^\/api\/v1\/campaigns\/\d+$/));
  await page.getByRole("button", { name: "Save changes" }).click();
  const res = await saved;
  assert.equal(res.status(), 200, await res.text());
  const body = await res.json();
  assert.deepEqual(body.changed, ["caller_id_number", "ring_seconds"]);
  assert.equal(body.campaign.caller_id_number, OTHER_NUMBER);
  assert.equal(body.campaign.ring_seconds, 25);
  // The screen shows what was saved, after a reload too.
  await page.reload();
  await page.getByRole("group", { name: "Calling line" }).waitFor();
  assert.equal(await callerId().inputValue(), OTHER_NUMBER);
  assert.equal(await ringFor().inputValue(), "25");
  await rec.snapshot(page, "organiser", "calling line");
});

step("once live, the calling line can still change; who is called cannot", async () => {
  const live = page.waitForResponse(isApi("POST", /\/state$/));
  await page.getByRole("button", { name: "Go live" }).click();
  assert.equal((await live).status(), 200);
  await page.locator("#campaign-state").getByText("Live").waitFor();
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByRole("group", { name: "Calling line" }).waitFor();
  assert.equal(await page.getByLabel("Campaign name").isDisabled(), true);
  assert.equal(await callerId().isDisabled(), false);
  assert.equal(await ringFor().isDisabled(), false);
  await callerId().selectOption("");
  await ringFor().fill("");
  const saved = page.waitForResponse(isApi("PATCH", /^\/api\/v1\/campaigns\/\d+$/));
  await page.getByRole("button", { name: "Save live changes" }).click();
  const res = await saved;
  assert.equal(res.status(), 200, await res.text());
  const body = await res.json();
  assert.deepEqual(body.changed, ["caller_id_number", "ring_seconds"]);
  assert.equal(body.campaign.caller_id_number, null);
  assert.equal(body.campaign.ring_seconds, null);
  assert.equal(body.campaign.version, 3);
});

step("the progress view shows the calls going on now, from the server", async () => {
  await page.getByRole("link", { name: "Progress and results", exact: true }).click();
  const live = page.locator("#live-calls");
  await live.waitFor();
  for (const label of ["Ringing a caller", "Ringing a member", "Connected"]) {
    await live.locator(".card").filter({ hasText: label }).locator(".big").getByText("0", { exact: true }).waitFor();
  }
  // Refreshed: the view asks the server again on its own.
  const again = await page.waitForResponse(isApi("GET", new RegExp(`^/api/v1/campaigns/${campaignId}/progress$`)));
  assert.equal(again.status(), 200);
  const body = await again.json();
  assert.deepEqual(body.live, { calling_you: 0, calling_member: 0, connected: 0 });
});
