// E-mail to members end to end in a real browser (RULEBOOK §7): a staff
// member drafts a message in a named person's name to a constituency, sees
// the live recipient count and the server's validation errors, previews it,
// and cannot send it; an officer finds it among the messages in their scope
// and their Send is refused with the failed checks (the named person has not
// approved; a second approval is missing); the named person approves it from
// their own account in "Messages in your name", which says who drafted it;
// the owner gives the second approval; the officer sends it and the report
// shows the queued recipients, who drafted, who sent, the approvals and the
// checks; then the officer cancels it. No mail relay is configured, so the
// server only queues.
// Everything the browsers receive is recorded, and no member e-mail address
// or phone number may appear in any of it (TARGETS R1).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PASSWORDS, Recorder, cli, launch, setUpDataDir, startServer, story, totp } from "./lib.mjs";

const TIMEOUT = 20_000;
const MORE = {
  sam: "sam drafts the members' newsletter",
  nina: "nina's name goes on the spring letter",
};
const SUBJECT = "Hello {{first_name}}: the spring meeting";
const TEXT = [
  "{{#first_name}}Dear {{first_name}},{{/first_name}}{{^first_name}}Dear member,{{/first_name}}",
  "",
  "I hope to see you at the {{unit_name}} spring meeting on Saturday.",
  "",
  "Nina",
].join("\n");
const TEXT_V2 = TEXT + "\n\nBring a friend: everyone is welcome.";
const BAD_HTML = "<p>Dear {{first_name}},</p>\n<p>Your nickname: {{nickname}}</p>";
const HTML = "<p>Dear {{first_name}},</p>\n<p>See you at the <strong>{{unit_name}}</strong> spring meeting.</p>";
// A second person approves any message to more members than this (policy).
const APPROVAL_ABOVE = 3;

let data;
let server;
let browser;
let ninaId;
let expected;  // recipients: current members of E14000530 who agreed to e-mail
let messageId;
let messageUrl;
const pages = {};
const rec = new Recorder();

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

async function newPage(who) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });  // a phone
  context.setDefaultTimeout(TIMEOUT);
  await rec.watch(context, who);
  const page = await context.newPage();
  pages[who] = page;
  return page;
}

async function signIn(page, login, password) {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill(login);
  await page.getByLabel("Password").fill(password);
  const done = page.waitForResponse(isApi("POST", /^\/api\/v1\/session$/));
  await page.getByRole("button", { name: "Sign in" }).click();
  const res = await done;
  if (res.status() === 401 && (await res.json()).error.code === "second_factor_required") {
    await page.getByLabel("Code from your authenticator app").fill(data.aliceRecoveryCodes[0]);
    const again = page.waitForResponse(isApi("POST", /^\/api\/v1\/session$/));
    await page.getByRole("button", { name: "Continue" }).click();
    assert.equal((await again).status(), 201, `${login} signs in with a recovery code`);
  } else {
    assert.equal(res.status(), 201, `${login} signs in`);
  }
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

// One story: a failed step fails the later ones at once.
const step = story(rec);

before(async () => {
  data = setUpDataDir();
  const { dir } = data;
  cli(dir, ["account", "add", "sam", "--name", "Sam Staff", "--staff", "--password-stdin"], MORE.sam + "\n");
  // A member in E14000530 (the first imported), so a drafter there finds her by name.
  cli(dir, ["account", "add", "nina", "--name", "Nina Named", "--member", "1", "--password-stdin"], MORE.nina + "\n");
  // The set-up used this step's code; a code works once, so take the next step's.
  cli(dir, ["grant", "add", "--as", "alice", "--password-stdin", "--totp", totp(data.aliceSecret, Date.now() / 1000 + 30),
    "--to", "sam", "--role", "staff", "--scope", "E14000530", "--purpose", "member e-mail",
    "--reason", "browser test staff", "--until", "+90d"], PASSWORDS.alice + "\n");
  const accounts = cli(dir, ["account", "list", "--json"]).trim().split("\n").map((l) => JSON.parse(l));
  ninaId = accounts.find((a) => a.login === "nina").id;
  // A small audience that still needs a second approval.
  const policyPath = join(dir, "policy.toml");
  const policy = readFileSync(policyPath, "utf8");
  const changed = policy.replace(/^approval_audience_above = \d+$/m, `approval_audience_above = ${APPROVAL_ABOVE}`);
  assert.notEqual(changed, policy, "the policy names the approval threshold");
  writeFileSync(policyPath, changed);
  // Members i: unit E14000530 unless i % 4 == 3, lapsed when i % 5 == 4, all agree to e-mail.
  expected = 0;
  for (let i = 0; i < 24; i++) if (i % 4 !== 3 && i % 5 !== 4) expected++;
  assert.ok(expected > APPROVAL_ABOVE);
  server = await startServer(dir);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("staff see E-mail in the navigation and open a new message", async () => {
  const page = await newPage("staff");
  await signIn(page, "sam", MORE.sam);
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "E-mail" }).click();
  await page.getByRole("heading", { name: "E-mail", level: 1 }).waitFor();
  assert.equal(await nav.getByRole("link", { name: "E-mail" }).getAttribute("aria-current"), "page");
  await page.getByText("No messages yet").waitFor();
  await page.getByRole("link", { name: "New e-mail" }).click();
  await page.getByRole("heading", { name: "New e-mail" }).waitFor();
});

step("the audience count follows the audience as it is edited", async () => {
  const page = pages.staff;
  await page.getByLabel("Scope").selectOption("E14000530");
  await page.getByLabel("A named person").check();
  const speaker = page.getByRole("combobox", { name: "The person it speaks for" });
  await speaker.pressSequentially("Nina N");
  await page.getByRole("option", { name: "Nina Named" }).click();
  await page.getByText("Speaks for Nina Named.").waitFor();
  await page.getByLabel("Campaign", { exact: true }).check();
  const count = page.locator("#audience-count");
  assert.equal(await count.getAttribute("aria-live"), "polite");
  await count.getByText(`Recipients now: ${expected} members`).waitFor();

  // Debounced: a burst of changes asks once, for the final audience. Counted
  // by the requests the page makes, up to a later change whose count is
  // asked after (a count still due from the burst would come before it).
  // Counts of the audience as it was before the burst are left out.
  const statuses = (req) => JSON.parse(req.postData()).audience.statuses;
  const isCount = (r) => r.method() === "POST" && r.url().endsWith("/api/v1/messages/audience-count");
  const asked = [];
  const listener = (req) => {
    if (isCount(req) && statuses(req).join() !== "current") asked.push(statuses(req).join());
  };
  page.on("request", listener);
  const burst = page.waitForResponse((r) => isCount(r.request()) && statuses(r.request()).length === 3);
  // Both boxes in one go, as a quick pair of taps would be.
  await page.evaluate(() => {
    for (const v of ["lapsed", "arrears"]) document.querySelector(`input[name=statuses][value=${v}]`).click();
  });
  const wider = await (await burst).json();
  assert.ok(wider.recipients > expected, "adding lapsed members widens the audience");
  await count.getByText(`Recipients now: ${wider.recipients} members`).waitFor();
  const later = page.waitForResponse((r) => isCount(r.request()) && statuses(r.request()).join() === "current,arrears");
  await page.getByLabel("lapsed", { exact: true }).uncheck();
  const narrower = await (await later).json();
  await count.getByText(`Recipients now: ${narrower.recipients} members`).waitFor();
  page.off("request", listener);
  assert.deepEqual(asked, ["current,arrears,lapsed", "current,arrears"], "two quick changes, one count");

  await page.getByLabel("arrears", { exact: true }).uncheck();
  await count.getByText(`Recipients now: ${expected} members`).waitFor();
  await rec.snapshot(page, "staff", "audience");
});

step("the server's template errors are shown next to the field, with line and column", async () => {
  const page = pages.staff;
  await page.getByLabel("Subject").fill(SUBJECT);
  await page.getByLabel("Text", { exact: true }).fill(TEXT);
  await page.getByLabel("HTML version (optional)").fill(BAD_HTML);
  const refused = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await refused;
  assert.equal(res.status(), 400);
  const alert = page.locator("#compose-errors").getByRole("alert");
  await alert.waitFor();
  assert.equal(await page.locator("#compose-errors").getAttribute("aria-live"), "assertive");
  assert.match(await alert.textContent(), /html_body: line 2, column \d+: unknown merge field 'nickname'/);
  const html = page.getByLabel("HTML version (optional)");
  assert.equal(await html.getAttribute("aria-invalid"), "true");
  const errId = (await html.getAttribute("aria-describedby")).split(" ").find((x) => x.endsWith("-error"));
  assert.match(await page.locator("#" + errId).textContent(), /line 2/);
  // The cursor is put on the line the server named.
  assert.equal(await page.evaluate(() => document.activeElement.name), "html_body");
  assert.ok(await page.evaluate(() => document.activeElement.selectionStart) > BAD_HTML.indexOf("\n"));
  await rec.snapshot(page, "staff", "validation error");
});

step("staff save the draft and preview it for a sample recipient", async () => {
  const page = pages.staff;
  await page.getByLabel("HTML version (optional)").fill(HTML);
  const created = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages$/));
  const previewed = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages\/\d+\/preview$/));
  await page.getByRole("button", { name: "Save and preview" }).click();
  const res = await created;
  assert.equal(res.status(), 201, await res.text());
  const m = (await res.json()).message;
  messageId = m.id;
  assert.equal(m.from.kind, "person");
  assert.equal(m.from.name, "Nina Named");
  assert.equal(m.requirements.on_behalf_approval, true);
  assert.equal(m.requirements.second_approval, true);
  assert.equal(m.requirements.recipients, expected);
  await page.getByRole("heading", { name: "Edit e-mail" }).waitFor();
  assert.equal((await previewed).status(), 200);
  assert.equal(await page.locator("#compose-errors").textContent(), "", "the old error is gone");

  const preview = page.locator("#preview");
  await preview.waitFor();
  assert.match(await preview.textContent(), /Hello Alex: the spring meeting/);
  const text = await page.locator("#preview-text").textContent();
  assert.match(text, /^Dear Alex,/);
  assert.match(text, /spring meeting on Saturday/);
  assert.match(text, /sent by Sam Staff.*on behalf of Nina Named/s, "the footer names sender and identity");
  assert.match(text, /Unsubscribe: http/);
  // The HTML version is in a sandboxed frame (no scripts, own origin), never in the page.
  const frame = page.locator("#preview-html");
  assert.equal(await frame.getAttribute("sandbox"), "");
  await page.frameLocator("#preview-html").getByText("See you at the").waitFor();
  assert.equal(await page.frameLocator("#preview-html").locator("strong").textContent(), await page.evaluate(() => {
    const t = document.getElementById("preview-text").textContent;
    return /the (.*) spring meeting on/.exec(t)[1];
  }));
  assert.equal(await page.locator("main strong").filter({ hasText: "spring" }).count(), 0);
  await rec.snapshot(page, "staff", "preview");
});

step("staff edit the draft, which makes version 2", async () => {
  const page = pages.staff;
  assert.match(await page.locator("#save-hint").textContent(), /new version/);
  await page.getByLabel("Text", { exact: true }).fill(TEXT_V2);
  const saved = page.waitForResponse(isApi("PATCH", /^\/api\/v1\/messages\/\d+$/));
  await page.getByRole("button", { name: "Save changes" }).click();
  const res = await saved;
  assert.equal(res.status(), 200, await res.text());
  const m = (await res.json()).message;
  assert.equal(m.version, 2);
  assert.equal(m.text_body, TEXT_V2);
  assert.deepEqual(m.audience.statuses, ["current"], "the audience is kept");
  assert.equal(m.from.account, ninaId);
  await page.getByRole("heading", { name: SUBJECT, level: 1 }).waitFor();
});

step("the message page shows what sending needs, and staff cannot send it", async () => {
  const page = pages.staff;
  assert.equal(await page.locator("#message-state").textContent(), "Draft, version 2");
  const onBehalf = await page.locator("#req-on-behalf").textContent();
  assert.match(onBehalf, /Nina Named/);
  assert.match(onBehalf, /not yet given/);
  assert.match(await page.locator("#req-second").textContent(),
    new RegExp(`the audience \\(${expected}\\) is above ${APPROVAL_ABOVE}: not yet given`));
  assert.match(await page.locator("#req-recipients").textContent(), new RegExp(`Recipients now: ${expected}`));
  // Staff draft and approve but do not send; the author never approves their own.
  assert.equal(await page.getByRole("button", { name: /^Send/ }).count(), 0);
  assert.equal(await page.getByRole("button", { name: /^Approve/ }).count(), 0);
  await page.locator("#no-send").waitFor();
  await page.getByRole("link", { name: "Edit", exact: true }).waitFor();
  // And the server agrees.
  const direct = await page.evaluate(async (id) => {
    const r = await fetch(`/api/v1/messages/${id}/send`, { method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": sessionStorage.getItem("switchboard.csrf") },
      body: JSON.stringify({ version: 2 }) });
    return { status: r.status, body: await r.json() };  // read, so the recorder gets the body too
  }, messageId);
  assert.equal(direct.status, 403, JSON.stringify(direct.body));
  messageUrl = await page.locator("#message-link").inputValue();
  assert.equal(messageUrl, `${server.url}/#/email/${messageId}`);
  await page.locator("#report [data-count=recipients] .big").getByText("0").waitFor();

  // It is in the staff member's list, with its state.
  await page.getByRole("link", { name: "All e-mail" }).click();
  const card = page.locator(`#message-list [data-message="${messageId}"]`);
  await card.getByRole("link", { name: SUBJECT }).waitFor();
  assert.match(await card.textContent(), /Draft · Campaign · from Nina Named \(a named person\)/);
  await rec.snapshot(page, "staff", "message page");
});

step("the officer's Send is refused: Nina has not approved, no second approval", async () => {
  const page = await newPage("officer");
  await signIn(page, "olga", PASSWORDS.olga);
  // Olga drafted nothing, but the message goes to her constituency: her list
  // shows it, with who drafted it, and she opens it from there.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "E-mail" }).click();
  await page.getByRole("heading", { name: "E-mail", level: 1 }).waitFor();
  const others = page.getByRole("region", { name: "Other messages in your scopes" });
  const card = others.locator(`[data-message="${messageId}"]`);
  await card.getByRole("link", { name: SUBJECT }).waitFor();
  assert.match(await card.textContent(), /Draft · Campaign · from Nina Named \(a named person\)/);
  assert.match(await card.textContent(), /drafted by Sam Staff/);
  await page.locator("#message-list").getByText("No messages yet").waitFor();
  await rec.snapshot(page, "officer", "message list");
  await card.getByRole("link", { name: SUBJECT }).click();
  await page.getByRole("heading", { name: SUBJECT, level: 1 }).waitFor();
  assert.equal(page.url(), messageUrl);
  const sent = page.waitForResponse(isApi("POST", /\/send$/));
  await page.getByRole("button", { name: "Send version 2" }).click();
  const res = await sent;
  assert.equal(res.status(), 409);
  const checks = (await res.json()).error.checks;
  const onBehalf = checks.find((c) => c.rule === "message.on_behalf");
  assert.equal(onBehalf.passed, false);
  const refused = page.locator("#send-refused");
  await refused.waitFor();
  assert.equal(await refused.getAttribute("role"), "alert");
  const items = await refused.locator(":scope > ul > li").allTextContents();
  assert.equal(items.length, 2, items.join("\n"));
  assert.ok(items.some((t) => t.startsWith("Approval by the person it speaks for:") && t.includes("Nina Named") &&
    t.includes("has not approved")), items.join("\n"));
  assert.ok(items.some((t) => t.startsWith("Second approval:")), items.join("\n"));
  await page.locator("#message-state").getByText("Draft, version 2").waitFor();
  await rec.snapshot(page, "officer", "refused");
});

// A screen left before its data arrived must not write over the next one.
// Once in three runs Nina's campaign list (the screen after signing in)
// answered after she had opened "Messages in your name", and wrote itself
// over it. Here her campaign list is held back until that screen has asked
// for its own list, and let through first.
step("Nina leaves her campaign list before it loaded, for the messages in her name", async () => {
  const page = await newPage("nina");
  let releaseCampaigns;
  const campaignsHeld = new Promise((resolve) => { releaseCampaigns = resolve; });
  await page.route((url) => url.pathname === "/api/v1/campaigns", async (route) => {
    await campaignsHeld;
    await route.fallback();  // on to the recorder
  });
  let releaseApprovals;
  const approvalsHeld = new Promise((resolve) => { releaseApprovals = resolve; });
  let approvalsRouted;
  const approvalsAsked = new Promise((resolve) => { approvalsRouted = resolve; });
  await page.route((url) => url.pathname === "/api/v1/me/approvals", async (route) => {
    approvalsRouted();
    await approvalsHeld;
    await route.fallback();  // on to the recorder
  });
  const campaignsAsked = page.waitForRequest((req) => new URL(req.url()).pathname === "/api/v1/campaigns");
  await signIn(page, "nina", MORE.nina);
  await campaignsAsked;
  const nav = page.getByRole("navigation", { name: "Main" });
  assert.equal(await nav.getByRole("link", { name: "E-mail" }).count(), 0, "no e-mail grants, no E-mail entry");
  await nav.getByRole("link", { name: "Messages in your name" }).click();
  await page.getByRole("heading", { name: "Messages in your name", level: 1 }).waitFor();
  await approvalsAsked;
  const campaignsAnswered = page.waitForResponse(isApi("GET", /^\/api\/v1\/campaigns$/));
  releaseCampaigns();
  await (await campaignsAnswered).finished();
  const approvalsAnswered = page.waitForResponse(isApi("GET", /^\/api\/v1\/me\/approvals$/));
  releaseApprovals();
  await (await approvalsAnswered).finished();
  await page.unrouteAll();
  await page.getByRole("region", { name: "Waiting for you" }).getByRole("article", { name: SUBJECT }).waitFor();
  assert.equal(await page.getByRole("heading", { name: "Messages in your name", level: 1 }).count(), 1);
  assert.equal(await page.getByText("You are not in any campaign yet").count(), 0, "the campaign list stayed away");
});

step("Nina reads the message in her inbox and approves it in her name", async () => {
  const page = pages.nina;
  await page.getByRole("heading", { name: "Messages in your name", level: 1 }).waitFor();
  assert.equal(await page.locator("#your-account strong").textContent(), String(ninaId));
  const card = page.getByRole("article", { name: SUBJECT });
  await card.waitFor();
  assert.equal(await card.locator(".source pre.mail-text").first().textContent(), TEXT_V2);
  await card.getByText("HTML version (as written").click();
  assert.equal(await card.locator("details pre").textContent(), HTML);
  assert.match(await card.textContent(), /In your name asNina Named/);
  assert.match(await card.textContent(), /Drafted bySam Staff/, "the inbox says who drafted it");
  assert.match(await card.textContent(), /Goes toMembers in .*status current/);
  // Shown as text: the markup made no element.
  assert.equal(await card.locator("strong").count(), 0);
  await rec.snapshot(page, "nina", "inbox");
  const approved = page.waitForResponse(isApi("POST", /^\/api\/v1\/me\/approvals\/\d+$/));
  await card.getByRole("button", { name: "Approve in my name" }).click();
  const res = await approved;
  assert.equal(res.status(), 200);
  assert.deepEqual(JSON.parse(res.request().postData()), { version: 2 });
  await page.getByRole("article", { name: SUBJECT }).getByText("You approved version 2.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Approve in my name" }).count(), 0);
});

step("a second person (the owner: neither author nor sender) approves version 2", async () => {
  const page = await newPage("owner");
  await signIn(page, "alice", PASSWORDS.alice);
  await page.goto(messageUrl);
  await page.getByRole("heading", { name: SUBJECT, level: 1 }).waitFor();
  assert.match(await page.locator("#req-on-behalf").textContent(), /given by Nina Named/);
  const approved = page.waitForResponse(isApi("POST", /\/approve$/));
  await page.getByRole("button", { name: "Approve version 2" }).click();
  const res = await approved;
  assert.equal(res.status(), 200, await res.text());
  assert.deepEqual(JSON.parse(res.request().postData()), { version: 2 });
  await page.locator("#req-second").getByText(/given by Alice Owner/).waitFor();
  const approvals = await page.locator("ul.approvals li").allTextContents();
  assert.ok(approvals.some((a) => a.startsWith("In their own name: Nina Named, version 2")), approvals.join("\n"));
  assert.ok(approvals.some((a) => a.startsWith("Second approval: Alice Owner, version 2")), approvals.join("\n"));
  await rec.snapshot(page, "owner", "approved");
});

step("the officer sends it and the report shows the queued recipients and the checks", async () => {
  const page = pages.officer;
  await page.reload();
  await page.getByRole("heading", { name: SUBJECT, level: 1 }).waitFor();
  const sent = page.waitForResponse(isApi("POST", /\/send$/));
  await page.getByRole("button", { name: "Send version 2" }).click();
  const res = await sent;
  assert.equal(res.status(), 202, await res.text());
  assert.equal((await res.json()).queued, expected);
  await page.locator("#message-state").getByText("Sending, version 2").waitFor();
  const report = page.locator("#report");
  const count = async (k) => Number(await report.locator(`[data-count=${k}] .big`).textContent());
  assert.equal(await count("recipients"), expected);
  assert.equal(await count("queued") + await count("sent") + await count("deferred"), expected,
    "every recipient is queued (no relay is configured)");
  for (const k of ["failed", "bounced", "suppressed", "cancelled", "unsubscribed"]) assert.equal(await count(k), 0, k);
  const facts = await report.locator("dl").textContent();
  assert.match(facts, /Drafted bySam Staff/);
  assert.match(facts, /Sent byOlga Organiser, as officer/);
  // Both send attempts are on the record: the refused one and this one.
  const runs = report.locator("table.checks");
  assert.equal(await runs.count(), 2);
  assert.match(await runs.nth(0).locator("caption").textContent(), /^Send attempt 1 of 2: refused$/);
  assert.match(await runs.nth(1).locator("caption").textContent(), /^Send attempt 2 of 2: every check passed$/);
  assert.match(await runs.nth(0).textContent(), /Approval by the person it speaks forFailedthe message speaks for Nina Named/);
  const rows = await runs.nth(1).locator("tbody tr").allTextContents();
  assert.ok(rows.some((r) => /^Approval by the person it speaks forPassedapproved by Nina Named from their own account/.test(r)),
    rows.join("\n"));
  assert.ok(rows.some((r) => /^Second approvalPassed/.test(r)), rows.join("\n"));
  assert.ok(rows.some((r) => new RegExp(`^AudiencePassed${expected} recipients`).test(r)), rows.join("\n"));
  assert.ok(rows.every((r) => r.includes("Passed")), rows.join("\n"));
  const approvals = await report.locator("ul.approvals li").allTextContents();
  assert.equal(approvals.length, 2, approvals.join("\n"));
  // A sent message is no longer waiting for Nina, and can no longer be sent.
  assert.equal(await page.getByRole("button", { name: /^Send/ }).count(), 0);
  await rec.snapshot(page, "officer", "report");
  await pages.nina.reload();
  await pages.nina.getByText("Nothing is waiting for your approval.").waitFor();
  await rec.snapshot(pages.nina, "nina", "inbox after sending");
});

step("the officer can still stop it: nobody queued gets it", async () => {
  const page = pages.officer;
  await page.getByRole("button", { name: "Cancel the message" }).click();
  const dialog = page.getByRole("alertdialog");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Stop sending\?/);
  const cancelled = page.waitForResponse(isApi("POST", /\/cancel$/));
  await dialog.getByRole("button", { name: "Yes, cancel it" }).click();
  const res = await cancelled;
  assert.equal(res.status(), 200, await res.text());
  await page.locator("#message-state").getByText("Cancelled, version 2").waitFor();
  const report = page.locator("#report");
  assert.equal(Number(await report.locator("[data-count=cancelled] .big").textContent()), (await res.json()).cancelled);
  assert.ok((await res.json()).cancelled > 0, "queued recipients were cancelled");
  assert.equal(await page.getByRole("button", { name: "Cancel the message" }).count(), 0);
  await rec.snapshot(page, "officer", "cancelled");
});

test("no member e-mail address or phone number reached any browser", async () => {
  const leaks = await rec.leaks(data.members);
  assert.deepEqual(rec.problems, [], "problems in the pages");
  assert.deepEqual(leaks, []);
  console.log(`responses checked: ${rec.checked}; without a body: ${rec.bodiless.length}`);
  assert.ok(rec.items.some((i) => i.where.includes("/preview")), "the recorder saw the preview");
  assert.ok(rec.items.some((i) => i.where.includes("/report")), "the recorder saw the report");
});
