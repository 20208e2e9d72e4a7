// Accessibility: axe-core (pinned in package.json) runs on every screen of
// the web app, in the states people meet them in, and any violation of a
// WCAG 2.0, 2.1 or 2.2 level A or AA rule fails the test. Screens: sign-in
// (and its second-factor step), an invitation link before and after signing
// in, an unusable link, the campaign list, a new campaign, an organiser's
// draft and live campaign (with an invitation link made), joining, calling
// (before, during and after a call, and refused), a caller's progress and
// the not-found page. The skip link is followed too: it must move focus to
// the content and leave the screen as it is.
//
// axe is injected as an init script (through the DevTools protocol), so the
// pages run under the server's real Content-Security-Policy.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { PASSWORDS, Recorder, launch, setUpDataDir, startServer, story } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;

let data;
let server;
let browser;
let organiser;
let volunteer;
let campaignId;
let inviteUrl;
const checked = [];
const rec = new Recorder();

async function newPage(who) {
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, who);
  return context.newPage();
}

async function closePage(page) {
  await rec.settle();  // every response read before its page goes
  await page.context().close();
}

// Runs axe on the page as it is, at a desktop width and at 320 CSS pixels
// (a phone, or 400% zoom: WCAG 1.4.10); fails listing every violation.
async function audit(page, screen) {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
    await page.setViewportSize(viewport);
    await auditAt(page, `${screen} at ${viewport.width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  checked.push(screen);
}

async function auditAt(page, screen) {
  const violations = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: tags },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`),
    }));
  }, TAGS);
  const text = violations.map((v) => `  ${v.id} (${v.impact}): ${v.help}\n    ` + v.nodes.join("\n    "));
  assert.equal(violations.length, 0, `${screen}: WCAG violations\n${text.join("\n")}`);
}

async function signIn(page, login) {
  await page.getByLabel("Login name").fill(login);
  await page.getByLabel("Password").fill(PASSWORDS[login]);
  const done = page.waitForResponse((r) => r.url().endsWith("/api/v1/session") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal((await done).status(), 201, `${login} signs in`);
}

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

// One story, as in phonebank.test.mjs: later screens need the earlier ones.
const step = story(rec);

before(async () => {
  data = setUpDataDir();
  server = await startServer(data.dir);
  browser = await launch();
  organiser = await newPage("organiser");
  volunteer = await newPage("volunteer");
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("sign-in, with its errors and second factor", async () => {
  const page = await newPage("sign-in");
  await page.goto(server.url + "/");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await audit(page, "sign-in");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  await audit(page, "sign-in, nothing entered");
  await page.getByLabel("Login name").fill("alice");
  await page.getByLabel("Password").fill(PASSWORDS.alice);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Code from your authenticator app").waitFor();
  await audit(page, "sign-in, second factor");
  await closePage(page);
});

step("not found", async () => {
  const page = await newPage("not found");
  await page.goto(server.url + "/#/nowhere");
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
  await audit(page, "not found");
  await closePage(page);
});

step("an organiser's campaigns and a new campaign", async () => {
  const page = organiser;
  await page.goto(server.url + "/");
  await signIn(page, "olga");
  await page.getByRole("heading", { name: "Your campaigns" }).waitFor();
  await page.getByText("You are not in any campaign yet").waitFor();
  await audit(page, "campaign list, empty");
  await page.getByRole("link", { name: "New campaign" }).click();
  await page.getByRole("heading", { name: "New campaign" }).waitFor();
  await page.locator("#audience-count").getByText(/Audience: \d+ members?/).waitFor();
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 1").fill("Can we count on your support?");
  await audit(page, "new campaign");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByRole("alert").waitFor();
  await audit(page, "new campaign, refused");
});

step("an organiser's draft, then live with an invitation link", async () => {
  const page = organiser;
  await page.getByLabel("Campaign name").fill("Accessible calls");
  await page.getByLabel("Purpose").fill("Check the screens work for everyone.");
  await page.getByLabel("Script").fill("# Hello\nHi, I'm calling from the **branch**.\n- Ask how they are");
  const created = page.waitForResponse(isApi("POST", /^\/api\/v1\/campaigns$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await created;
  assert.equal(res.status(), 201, await res.text());
  campaignId = (await res.json()).campaign.id;
  await page.getByRole("heading", { name: "Accessible calls", level: 1 }).waitFor();
  await page.locator("#audience-count").getByText(/Audience: \d+ members?/).waitFor();
  await audit(page, "draft campaign");
  await page.getByRole("link", { name: "Invitations", exact: true }).click();
  await page.getByText("No invitation links yet.").waitFor();
  await audit(page, "draft campaign, invitations");

  await page.getByRole("button", { name: "Go live" }).click();
  await page.locator("#campaign-state").getByText("Live").waitFor();
  await page.getByLabel("Label", { exact: true }).fill("Screen reader users");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  inviteUrl = await page.locator("#invite-url").inputValue();
  await page.locator("#invite-list").getByRole("heading", { name: "Screen reader users" }).waitFor();
  await audit(page, "live campaign with an invitation link");
  await page.getByRole("link", { name: "Progress and results", exact: true }).click();
  await page.locator("#progress .stats").first().waitFor();
  await page.locator("#results-csv").waitFor();
  await audit(page, "live campaign, progress and results");
  await page.getByRole("button", { name: "Kill" }).click();
  await page.getByRole("alertdialog").waitFor();
  await audit(page, "live campaign, confirming a kill");
  await page.getByRole("button", { name: "Cancel" }).click();
});

step("the skip link moves focus to the content and leaves the page where it is", async () => {
  const page = organiser;
  await page.getByRole("heading", { name: "Accessible calls", level: 1 }).waitFor();
  const address = page.url();
  assert.match(address, /#\/organise\/\d+\/progress$/);
  const skip = page.getByRole("link", { name: "Skip to content" });
  await skip.focus();
  assert.ok(await skip.isVisible(), "the skip link shows when it has focus");
  // The router renders on hashchange; following the link would change the
  // address at once (the event comes after), so an unchanged address once
  // focus has moved means no route change is on its way.
  await page.evaluate(() => {
    window.routeChanges = 0;
    window.addEventListener("hashchange", () => { window.routeChanges++; });
  });
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "main");
  assert.equal(page.url(), address, "the address, and so the screen, is unchanged");
  assert.equal(await page.evaluate(() => window.routeChanges), 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");
  await page.getByRole("heading", { name: "Accessible calls", level: 1 }).waitFor();
  assert.equal(await page.getByRole("heading", { name: "Page not found" }).count(), 0);
});

step("an invitation link: signing in, joining, and a link that does not work", async () => {
  const page = volunteer;
  await page.goto(server.url + "/join/not-a-real-token");
  await page.getByRole("heading", { name: "Sign in to join this campaign" }).waitFor();
  await audit(page, "invitation link, signed out");
  await signIn(page, "vic");
  await page.getByRole("heading", { name: "This invitation cannot be used" }).waitFor();
  await audit(page, "invitation link that does not work");
  await page.goto(inviteUrl);
  await page.getByRole("heading", { name: "Join Accessible calls" }).waitFor();
  await audit(page, "join");
  await page.getByRole("button", { name: "Join" }).click();
  await page.getByRole("link", { name: "Start calling" }).waitFor();
  await audit(page, "joined");
  await page.goto(server.url + "/#/");
  await page.getByRole("heading", { name: "Your campaigns" }).waitFor();
  await page.getByRole("link", { name: "Start calling" }).waitFor();
  await audit(page, "campaign list, a caller's");
});

step("calling: before, during and after a call", async () => {
  const page = volunteer;
  await page.getByRole("link", { name: "Start calling" }).click();
  await page.getByRole("heading", { name: "Calling for Accessible calls" }).waitFor();
  await audit(page, "calling, before the first call");
  await page.getByText("Your phone", { exact: true }).click();
  await page.getByLabel("Your phone number").fill("07700 900998");
  await page.getByRole("button", { name: "Send a code" }).click();
  await page.locator("#sandbox-code").waitFor();
  await audit(page, "calling, confirming the caller's phone");
  const code = /(\d{4,8})\.?$/.exec(await page.locator("#sandbox-code").textContent())[1];
  await page.getByLabel("Verification code").fill(code);
  await page.getByRole("button", { name: "Confirm my phone" }).click();
  await page.locator("#endpoint-ok").waitFor();
  await page.locator("#next").click();
  await page.getByRole("heading", { name: "Who you are calling" }).waitFor();
  await audit(page, "calling, a member to call");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.locator("#call-status").getByText(/in progress|has ended|could not be connected|Ringing/).waitFor();
  await page.getByRole("button", { name: "Save outcome" }).click();
  await page.getByRole("alert").waitFor();
  await audit(page, "calling, outcome missing");
  await page.getByLabel("No answer").check();
  await page.getByRole("button", { name: "Save outcome" }).click();
  await page.locator("#saved").waitFor();
  await audit(page, "calling, outcome saved");
});

step("a caller's progress", async () => {
  const page = volunteer;
  await page.getByRole("link", { name: "Your progress" }).click();
  await page.getByRole("heading", { name: "Your progress" }).waitFor();
  await page.locator(".stats").waitFor();
  await audit(page, "progress");
});

step("calling refused after a pause, and the organiser's paused campaign", async () => {
  const page = organiser;
  await page.reload();
  await page.getByRole("heading", { name: "Accessible calls", level: 1 }).waitFor();
  const paused = page.waitForResponse(isApi("POST", /\/state$/));
  await page.getByRole("button", { name: "Pause" }).click();
  assert.equal((await paused).status(), 200);
  await page.locator("#campaign-state").getByText("Paused").waitFor();
  await page.locator("#progress .stats").first().waitFor();
  await audit(page, "paused campaign");

  await volunteer.goto(server.url + "/#/call/" + encodeURIComponent(campaignId));
  await volunteer.getByRole("heading", { name: "Calling for Accessible calls" }).waitFor();
  await volunteer.locator("#next").click();
  await volunteer.getByRole("alert").waitFor();
  await audit(volunteer, "calling, refused");
});

test("no page error, and no member e-mail address or phone number reached the browser", async () => {
  const leaks = await rec.leaks(data.members, ["07700 900998"]);  // the caller's own phone
  assert.deepEqual(rec.problems, [], "problems in the pages");
  assert.deepEqual(leaks, []);
  assert.ok(rec.checked > 20, "the recorder read the responses");
});

test("every screen was checked", () => {
  assert.ok(checked.length >= 20, `only ${checked.length} screens checked: ${checked.join(", ")}`);
});
