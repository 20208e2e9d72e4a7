// Contests in a real browser (RULEBOOK §8, docs/contests.md "The screens"):
// (a) the returning officer (a staff grant over the whole organisation,
//     which holds contest.manage) loads a rulebook through the page: a file
//     with a mistake is refused naming the line and the setting, the good
//     one is checked (its SHA-256 shown) and loaded; the contest page shows
//     the timeline with a countdown; nominations recorded through the form
//     show in the standing and the nominations table; a candidate's
//     campaign in that contest sees when member data opens, with a
//     countdown, and no more;
// (b) a candidate's campaign in a second contest, past data release, sees
//     its access and entitlements, then composes an endorsement statement
//     and watches "N / 50 words" follow its typing; the browser's count is
//     the CLI's (`switchboard contest words`) and the server's: 51 words
//     are refused with "51 / 50", 50 are saved;
// (c) a staff account sees the neutrality notice on every screen, and
//     drafting a message that names a candidate is refused with the rule
//     and the server's message.
// The second contest is loaded and its nomination recorded with the CLI
// before the server starts: its nominations closed a minute ago, and a
// nomination recorded after close releases member data at once (the rule
// for a candidate who qualifies late), so no clock has to move.
// Everything the browsers receive is recorded and checked for member data.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BIN, PASSWORDS, Recorder, cli, launch, setUpDataDir, startServer, story, totp } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;
const MORE = {
  rita: "rita returns the officers' verdict",
  sam: "sam stays neutral in every contest",
  ash: "ash campaigns for the deputy",
  quill: "quill campaigns for the leader",
};
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

// "2027-01-07T09:00:00Z": TOML's offset date-time, to the second.
const instant = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
const day = (ms) => new Date(ms).toISOString().slice(0, 10);

// Contest A, loaded through the page: nominations open now.
function deputyRulebook(now, extra = "") {
  return `[contest]
id = "deputy-2027"
name = "Deputy leadership 2027"
returning_officer = "rita"${extra}

[timeline]
announced = ${instant(now - 2 * MINUTE)}
nominations_open = ${instant(now - MINUTE)}
nominations_close = ${instant(now + 2 * DAY)}
data_release = ${instant(now + 2 * DAY)}
ballot_open = ${instant(now + 3 * DAY)}
ballot_close = ${instant(now + 5 * DAY)}

[[candidates]]
id = "ashworth"
name = "Morwenna Ashworth"
aliases = ["MA"]
accounts = ["camp-ash"]

[[candidates]]
id = "bellweather"
name = "Caspar Bellweather"

[bodies.clps]
label = "Constituency parties"
kind = "units"
unit_kind = "constituency"

[bodies.affiliates]
label = "Affiliated organisations"
kind = "affiliates"

[[bodies.affiliates.affiliates]]
id = "lighthouse-keepers"
name = "Amalgamated Union of Lighthouse Keepers"
trade_union = true
membership = 410000

[[bodies.affiliates.affiliates]]
id = "beekeepers"
name = "Cooperative Beekeepers' Society"
membership = 7000

[qualification]
expression = "clps >= 2 or (affiliates >= 1 and affiliates.unions >= 1)"

[electorate]
statuses = ["current"]
frozen_on = ${day(now - 2 * MINUTE)}
`;
}

// Contest B, loaded with the CLI: nominations closed a minute ago.
function leaderRulebook(now) {
  return `[contest]
id = "leader-2027"
name = "Leadership election 2027"
returning_officer = "rita"

[timeline]
announced = ${instant(now - 2 * DAY)}
nominations_open = ${instant(now - 2 * DAY)}
nominations_close = ${instant(now - MINUTE)}
data_release = ${instant(now - MINUTE)}
ballot_open = ${instant(now + DAY)}
ballot_close = ${instant(now + 3 * DAY)}

[[candidates]]
id = "quill"
name = "Perpetua Quill-Hartley"
aliases = ["PQH"]
accounts = ["camp-quill"]

[[candidates]]
id = "rook"
name = "Anselm Rook"

[bodies.mps]
label = "Members of the parliamentary party"
kind = "people"
size = 20

[qualification]
expression = "mps >= 10%"

[electorate]
statuses = ["current"]
frozen_on = ${day(now - 2 * DAY)}

[statements]
word_limit = 50
`;
}

// A statement with the cases words-v1 decides (apostrophes, hyphens,
// numbers with separators, a URL, an e-mail address, a dash, an emoji),
// padded with plain words to `n` words by the browser's own count.
const TRICKY = "Don't miss Perpetua Quill-Hartley's rally: 50,000 members, 3.5 hours — " +
  "https://example.org/rally-2027 or write to rally@example.org 🙂 ";

let data;
let server;
let browser;
let leaderFile;
const pages = {};
const rec = new Recorder();

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

async function newPage(who) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
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
  assert.equal((await done).status(), 201, `${login} signs in`);
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

// axe-core on the page as it is: any WCAG A or AA violation fails.
async function audit(page, screen) {
  const violations = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
  }, AXE_TAGS);
  assert.deepEqual(violations, [], `accessibility of ${screen}`);
}

// What `switchboard contest words` says of `text` under the leader rulebook.
function cliWords(text) {
  const p = spawnSync(BIN, ["contest", "words", "--rulebook", leaderFile], { input: text, encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  return JSON.parse(p.stdout);
}

async function statementOf(page, words) {
  // The browser's words.js, as served, pads the statement to `words` words.
  return page.evaluate(async ({ base, n }) => {
    const { countWords } = await import("/app/words.js");
    let text = base;
    let i = 0;
    while (countWords(text) < n) text += (i++ % 2 ? "vote " : "together ");
    return text.trimEnd();
  }, { base: TRICKY, n: words });
}

const step = story(rec);

before(async () => {
  data = setUpDataDir();
  const { dir, tmp } = data;
  cli(dir, ["account", "add", "rita", "--name", "Rita Returning", "--password-stdin"], MORE.rita + "\n");
  cli(dir, ["account", "add", "sam", "--name", "Sam Staff", "--staff", "--password-stdin"], MORE.sam + "\n");
  cli(dir, ["account", "add", "camp-ash", "--name", "Ash Campaign", "--password-stdin"], MORE.ash + "\n");
  cli(dir, ["account", "add", "camp-quill", "--name", "Quill Campaign", "--password-stdin"], MORE.quill + "\n");
  // A code works once, and the set-up used this step's: each grant takes
  // the next step's code, waiting for the clock to reach the step before it
  // when it is not there yet (the server accepts one step ahead).
  let step30 = Math.floor(Date.now() / 30_000);
  const nextCode = async () => {
    step30++;
    while (Math.floor(Date.now() / 30_000) < step30 - 1) {
      await new Promise((r) => setTimeout(r, (step30 - 1) * 30_000 - Date.now() + 50));
    }
    return totp(data.aliceSecret, step30 * 30);
  };
  const grant = async (to, role, scope, purpose) => cli(dir, ["grant", "add", "--as", "alice", "--password-stdin",
    "--totp", await nextCode(), "--to", to, "--role", role,
    "--scope", scope, "--purpose", purpose, "--reason", "browser test", "--until", "+90d"], PASSWORDS.alice + "\n");
  await grant("rita", "staff", "UK", "returning officer");
  await grant("sam", "staff", "E14000530", "member e-mail");
  const now = Date.now();
  leaderFile = join(tmp, "leader-2027.toml");
  leaderRulebook.text = leaderRulebook(now);
  writeFileSync(leaderFile, leaderRulebook.text);
  cli(dir, ["contest", "load", leaderFile]);
  // After close: recording it releases member data to the candidate at once.
  cli(dir, ["contest", "nominate", "leader-2027", "--body", "mps", "--nominator", "MP-0001", "--candidate", "quill",
    "--decided-by", "the member herself", "--meeting-on", day(now - MINUTE), "--for", "1"]);
  cli(dir, ["contest", "nominate", "leader-2027", "--body", "mps", "--nominator", "MP-0002", "--candidate", "quill",
    "--decided-by", "the member himself", "--meeting-on", day(now - MINUTE), "--for", "1"]);
  const standing = JSON.parse(cli(dir, ["contest", "standing", "leader-2027", "--json"]));
  assert.ok(JSON.stringify(standing).includes("\"qualified\":true"), JSON.stringify(standing));
  server = await startServer(dir);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

// ---- (a) the returning officer --------------------------------------------------------

step("the returning officer finds Contests in the navigation, with the contests and their phases", async () => {
  const page = await newPage("rita");
  await signIn(page, "rita", MORE.rita);
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Contests" }).click();
  await page.getByRole("heading", { name: "Contests", level: 1 }).waitFor();
  assert.equal(await nav.getByRole("link", { name: "Contests" }).getAttribute("aria-current"), "page");
  const row = page.locator("#contest-list tbody tr").filter({ hasText: "Leadership election 2027" });
  await row.waitFor();
  assert.match(await row.textContent(), /Member data released to qualifying candidates/);
  assert.match(await row.textContent(), /the returning officer/);
  await page.getByRole("heading", { name: "Load a rulebook" }).waitFor();
  await audit(page, "contest list");
});

step("a rulebook with a mistake is refused, naming the line and the setting", async () => {
  const page = pages.rita;
  const bad = deputyRulebook(Date.now(), "\nflavour = \"vanilla\"");
  const badLine = bad.split("\n").findIndex((l) => l.startsWith("flavour")) + 1;
  await page.getByLabel("Rulebook file").setInputFiles({ name: "deputy-2027.toml", mimeType: "text/plain",
    buffer: Buffer.from(bad) });
  await page.getByLabel("Rulebook text").and(page.locator("#load-text")).waitFor();
  assert.equal(await page.locator("#load-text").inputValue(), bad, "the file is read into the text box");
  assert.equal(await page.getByRole("button", { name: "Load", exact: true }).isDisabled(), true, "nothing to load before a check");
  const checked = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests\/check$/));
  await page.getByRole("button", { name: "Check" }).click();
  const res = await (await checked).json();
  assert.equal(res.valid, false);
  const alert = page.locator("#load-errors").getByRole("alert");
  await alert.waitFor();
  const text = await alert.textContent();
  assert.match(text, new RegExp(`^Refused, line ${badLine}: deputy-2027\\.toml:${badLine}: unknown setting 'flavour' in \\[contest\\]`));
  assert.equal(await page.locator("#load-text").getAttribute("aria-invalid"), "true");
  // The faulty line is selected in the text box.
  const selected = await page.evaluate(() => {
    const t = document.getElementById("load-text");
    return t.value.slice(t.selectionStart, t.selectionEnd);
  });
  assert.equal(selected, "flavour = \"vanilla\"");
  assert.equal(await page.getByRole("button", { name: "Load", exact: true }).isDisabled(), true);
  await audit(page, "rulebook refused");
});

step("the corrected rulebook is checked (SHA-256 shown) and loaded", async () => {
  const page = pages.rita;
  const good = deputyRulebook(Date.now());
  await page.getByLabel("Rulebook file").setInputFiles({ name: "deputy-2027.toml", mimeType: "text/plain",
    buffer: Buffer.from(good) });
  await page.waitForFunction((t) => document.getElementById("load-text").value === t, good);
  const checked = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests\/check$/));
  await page.getByRole("button", { name: "Check" }).click();
  const res = await (await checked).json();
  assert.equal(res.valid, true, JSON.stringify(res));
  assert.equal(res.sha256, createHash("sha256").update(good).digest("hex"), "the SHA-256 of the file's bytes");
  const summary = page.locator("#load-summary");
  await summary.getByText("The rulebook is valid: Deputy leadership 2027 (deputy-2027), version 1.").waitFor();
  assert.match(await summary.textContent(), new RegExp(res.sha256));
  assert.equal(await page.locator("#load-errors").textContent(), "", "the old refusal is gone");
  const loaded = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests$/));
  await page.getByRole("button", { name: "Load", exact: true }).click();
  const created = await loaded;
  assert.equal(created.status(), 201, await created.text());
  assert.equal(JSON.parse(created.request().postData()).rulebook, good);
  await page.getByRole("heading", { name: "Deputy leadership 2027", level: 1 }).waitFor();
  assert.match(page.url(), /#\/contests\/\d+$/);
  await page.locator("#contest-phase").getByText("Now: Nominations open").waitFor();
  assert.equal(await page.locator("#rulebook-sha").textContent(), res.sha256);
});

step("the contest page shows the timeline with the next instant and a countdown to it", async () => {
  const page = pages.rita;
  const rows = page.locator("#timeline tbody tr");
  assert.equal(await rows.count(), 6);
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.equal(cells[0][2], "passed");
  assert.equal(cells[1][2], "passed");
  assert.equal(cells[2][2], "next");
  assert.match(cells[2][1], /^\d{4}-\d\d-\d\d \d\d:\d\d (GMT|BST)$/, "local times in the contest's zone");
  assert.equal(await rows.nth(2).getAttribute("aria-current"), "step");
  const countdown = page.locator("#next-instant");
  assert.equal(await countdown.getAttribute("role"), "timer");
  assert.match(await countdown.textContent(), /^Nominations close in 1 day 23 hours \(\d{4}-\d\d-\d\d \d\d:\d\d (GMT|BST)\)\.$/);
  // It runs: the seconds are not shown at this distance, but the text is rewritten each second.
  const first = await countdown.evaluate((el) => el.firstChild);
  await page.waitForFunction((old) => document.getElementById("next-instant").firstChild !== old, first);
  // Not in demo mode: the demo clock stays hidden (the server answers no 200).
  const probe = await page.evaluate(async () => (await fetch("/demo/clock")).status);
  assert.notEqual(probe, 200);
  assert.equal(await page.locator("#demo-clock").isHidden(), true);
  // Nobody has nominated yet.
  await page.locator("#nominations").getByText("No nominations recorded yet.").waitFor();
  const standing = page.locator("[data-standing=ashworth]");
  await standing.getByText("Does not qualify (yet)").waitFor();
  await audit(page, "contest page (returning officer)");
});

step("the returning officer records a unit's nomination; the standing counts it", async () => {
  const page = pages.rita;
  const form = page.locator("#nominate-form");
  await form.getByLabel("Nominating body").selectOption("clps");
  assert.equal(await form.getByLabel("Affiliate").isHidden(), true);
  await form.getByLabel("Unit code").fill("E14000530");
  await form.getByLabel("Candidate").selectOption("ashworth");
  await form.getByLabel("Decided by").fill("all-member meeting");
  await form.getByLabel("Meeting date").fill(day(Date.now()));
  await form.getByLabel("For", { exact: true }).fill("41");
  await form.getByLabel("Against").fill("12");
  await form.getByLabel("Abstaining").fill("3");
  const posted = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests\/\d+\/nominations$/));
  const reread = page.waitForResponse(isApi("GET", /^\/api\/v1\/contests\/\d+\/standing$/));
  await form.getByRole("button", { name: "Record the nomination" }).click();
  const res = await posted;
  assert.equal(res.status(), 201, await res.text());
  assert.deepEqual(JSON.parse(res.request().postData()), { body: "clps", nominator: "E14000530", candidate: "ashworth",
    decided_by: "all-member meeting", meeting_on: day(Date.now()), votes_for: 41, votes_against: 12, votes_abstaining: 3 });
  await reread;
  const row = page.locator("#nominations-table tbody tr");
  await row.first().waitFor();
  assert.deepEqual(await row.first().locator("td").allTextContents(),
    ["Constituency parties", "E14000530", "Morwenna Ashworth", "all-member meeting", day(Date.now()), "41 / 12 / 3"]);
  const standing = page.locator("[data-standing=ashworth]");
  await standing.getByText("Does not qualify (yet)").waitFor();
  const clause = standing.locator("tbody tr").first();
  const cells = await clause.locator("td").allTextContents();
  // A count threshold has no "of"; a percentage's is shown (contest B, below).
  assert.deepEqual(cells, ["clps >= 2", "no", "1", "2", ""]);
  assert.match(await standing.textContent(), /Nominationsclps: 1/);
});

step("the same unit cannot nominate twice; an affiliate's nomination makes the candidate qualify", async () => {
  const page = pages.rita;
  const form = page.locator("#nominate-form");
  await form.getByLabel("Nominating body").selectOption("clps");
  await form.getByLabel("Unit code").fill("E14000530");
  await form.getByLabel("Candidate").selectOption("bellweather");
  await form.getByLabel("Decided by").fill("executive committee");
  await form.getByLabel("Meeting date").fill(day(Date.now()));
  const refused = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests\/\d+\/nominations$/));
  await form.getByRole("button", { name: "Record the nomination" }).click();
  assert.equal((await refused).status(), 409);
  await page.locator("#nominate-errors").getByRole("alert")
    .getByText("nominator: E14000530 has already nominated a candidate in this contest").waitFor();
  assert.equal(await form.getByLabel("Unit code").getAttribute("aria-invalid"), "true");

  await form.getByLabel("Nominating body").selectOption("affiliates");
  assert.equal(await form.getByLabel("Unit code").isHidden(), true);
  const options = await form.getByLabel("Affiliate").locator("option").allTextContents();
  assert.deepEqual(options, ["Amalgamated Union of Lighthouse Keepers (trade union)", "Cooperative Beekeepers' Society"]);
  await form.getByLabel("Affiliate").selectOption("lighthouse-keepers");
  await form.getByLabel("Candidate").selectOption("ashworth");
  const posted = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests\/\d+\/nominations$/));
  await form.getByRole("button", { name: "Record the nomination" }).click();
  assert.equal((await posted).status(), 201);
  const standing = page.locator("[data-standing=ashworth]");
  await standing.getByText("Qualifies", { exact: true }).waitFor();
  assert.equal(await page.locator("#nominations-table tbody tr").count(), 2);
  assert.deepEqual((await page.locator("#nominations-table tbody tr").nth(1).locator("td").allTextContents()).slice(0, 3),
    ["Affiliated organisations", "Amalgamated Union of Lighthouse Keepers", "Morwenna Ashworth"]);
  const rows = await standing.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.cells].slice(0, 4).map((td) => td.textContent).join(" ")));
  assert.deepEqual(rows, ["clps >= 2 no 1 2", "affiliates >= 1 yes 1 1", "affiliates.unions >= 1 yes 1 1"]);
  await page.locator("[data-standing=bellweather]").getByText("Does not qualify (yet)").waitFor();
  await audit(page, "contest page after nominations");
});

step("a candidate's campaign sees when member data opens, with a countdown, and nothing more", async () => {
  const page = await newPage("ash");
  await signIn(page, "camp-ash", MORE.ash);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contests" }).click();
  await page.getByRole("link", { name: "Deputy leadership 2027" }).click();
  await page.getByRole("heading", { name: "Deputy leadership 2027", level: 1 }).waitFor();
  const now = page.locator("#campaign-now");
  await now.waitFor();
  const release = await page.locator("[data-instant=data_release] td").nth(1).textContent();
  assert.match(await now.textContent(), new RegExp(`^Member data opens at ${release} to every candidate who qualifies`));
  assert.match(await page.locator("#release-countdown").textContent(), /^Member data opens in 1 day 23 hours\.$/);
  assert.equal(await page.locator("#entitlements").count(), 0, "no entitlements before release");
  // The ledger, standing and nominations are the campaign's to read too.
  await page.locator("[data-standing=ashworth]").getByText("Qualifies", { exact: true }).waitFor();
  assert.equal(await page.locator("#nominate-form").count(), 0, "only managers record nominations");
  assert.equal(await page.locator("#amend-text").count(), 0, "only managers change the rulebook");
  await audit(page, "contest page (candidate before release)");
});

// ---- (b) a candidate's campaign after data release ------------------------------------

step("after data release the campaign sees its access and its (empty) entitlements", async () => {
  const page = await newPage("quill");
  await signIn(page, "camp-quill", MORE.quill);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contests" }).click();
  await page.getByRole("link", { name: "Leadership election 2027" }).click();
  await page.getByRole("heading", { name: "Leadership election 2027", level: 1 }).waitFor();
  const close = await page.locator("[data-instant=ballot_close] td").nth(1).textContent();
  const now = page.locator("#campaign-now");
  await now.waitFor();
  assert.match(await now.textContent(), new RegExp(`^Your campaign may contact the electorate through the platform .* until the ballot closes at ${close}\\.`));
  const grants = await page.locator("#campaign-grants tbody tr td").allTextContents();
  assert.equal(grants[0], "candidate_campaign");
  assert.equal(grants[2], close, "access ends at ballot close");
  await page.locator("#entitlements").getByText("None yet.").waitFor();
  const ledger = page.locator("#ledger-table tbody tr");
  await ledger.first().waitFor();
  assert.match(await ledger.first().textContent(), /Perpetua Quill-HartleyData released/);
  const clause = await page.locator("[data-standing=quill] tbody tr td").allTextContents();
  assert.deepEqual(clause, ["mps >= 10%", "yes", "2", "2", "20"]);
  await page.locator("[data-standing=rook]").getByText("Does not qualify (yet)").waitFor();
  await audit(page, "contest page (candidate after release)");
});

step("composing an endorsement, the campaign sees the live word count follow its typing", async () => {
  const page = pages.quill;
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "E-mail" }).click();
  await page.getByRole("link", { name: "New e-mail" }).click();
  await page.getByRole("heading", { name: "New e-mail" }).waitFor();
  const count = page.locator("#statement-count");
  assert.equal(await page.locator("#statement-count-box").isHidden(), true, "no count for a service message");
  await page.getByLabel("Endorsement", { exact: true }).check();
  await count.getByText("0 / 50 words", { exact: true }).waitFor();
  const text = page.getByLabel("Text", { exact: true });
  assert.match(await text.getAttribute("aria-describedby"), /statement-count/);
  await text.pressSequentially("Vote for");
  await count.getByText("2 / 50 words", { exact: true }).waitFor();
  await text.pressSequentially(" Quill-Hartley's");
  await count.getByText("3 / 50 words", { exact: true }).waitFor();
  await text.pressSequentially(" plan: 50,000 homes!");
  await count.getByText("6 / 50 words", { exact: true }).waitFor();
  assert.equal(cliWords(await text.inputValue()).words, 6, "the CLI counts the same");
  assert.equal(await text.getAttribute("aria-invalid"), null);
});

step("51 words: marked over the limit, and the server refuses them with 51 / 50", async () => {
  const page = pages.quill;
  const text = page.getByLabel("Text", { exact: true });
  const long = await statementOf(page, 51);
  const server51 = cliWords(long);
  assert.deepEqual(server51, { words: 51, limit: 50, ok: false });
  await text.fill(long);
  await page.locator("#statement-count").getByText("51 / 50 words", { exact: true }).waitFor();
  assert.equal(await text.getAttribute("aria-invalid"), "true");
  assert.match(await page.locator("#statement-note").textContent(), /^Over the limit: Leadership election 2027 allows 50 words/);
  await page.getByLabel("Subject").fill("Why I back Perpetua");
  const saved = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await saved;
  assert.equal(res.status(), 400, await res.text());
  const alert = page.locator("#compose-errors").getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /^text_body: the statement has 51 words; Leadership election 2027 allows 50 \(51 \/ 50 words/);
  assert.equal(await text.getAttribute("aria-invalid"), "true");
  await audit(page, "compose, statement over the limit");
});

step("50 words: within the limit, and the server saves the draft", async () => {
  const page = pages.quill;
  const text = page.getByLabel("Text", { exact: true });
  const fifty = await statementOf(page, 50);
  assert.deepEqual(cliWords(fifty), { words: 50, limit: 50, ok: true });
  await text.fill(fifty);
  await page.locator("#statement-count").getByText("50 / 50 words", { exact: true }).waitFor();
  assert.equal(await text.getAttribute("aria-invalid"), null);
  const saved = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await saved;
  assert.equal(res.status(), 201, await res.text());
  const m = (await res.json()).message;
  assert.equal(m.kind, "endorsement");
  assert.equal(m.text_body, fifty);
  await page.getByRole("heading", { name: "Why I back Perpetua", level: 1 }).waitFor();
});

// ---- (c) staff --------------------------------------------------------------------------

step("a staff account sees the neutrality notice on every screen", async () => {
  const page = await newPage("sam");
  await signIn(page, "sam", MORE.sam);
  const notice = page.getByRole("region", { name: "Contest rules in force" });
  await notice.waitFor();
  const close = "(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d (GMT|BST))";
  const lines = await notice.locator("p").allTextContents();
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.ok(lines.some((l) => new RegExp(`^Staff neutrality is in force for Leadership election 2027 until ${close}: ` +
    "you may not draft, approve or send anything that names a candidate\\.$").test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("Staff neutrality is in force for Deputy leadership 2027 until ")), lines.join("\n"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "E-mail" }).click();
  await page.getByRole("heading", { name: "E-mail", level: 1 }).waitFor();
  assert.equal(await notice.isVisible(), true, "still there on another screen");
  // The returning officer (not flagged staff) has no such notice.
  assert.equal(await pages.rita.getByRole("region", { name: "Contest rules in force" }).isHidden(), true);
  await audit(page, "e-mail list with the neutrality notice");
});

step("a staff draft naming a candidate is refused with the rule and its message", async () => {
  const page = pages.sam;
  await page.getByRole("link", { name: "New e-mail" }).click();
  await page.getByRole("heading", { name: "New e-mail" }).waitFor();
  await page.getByLabel("Scope").selectOption("E14000530");
  await page.getByLabel("Subject").fill("Meet the candidates");
  // Rook has not qualified: naming him alone is no official notice (one
  // naming every qualifying candidate could be drafted, for the returning
  // officer to approve). Written as a look-alike would: upper case, with a
  // Cyrillic "О" and a non-breaking space.
  await page.getByLabel("Text", { exact: true }).fill("Dear member,\n\nCome and hear ANSELM\u00a0R\u041eOK on Friday.");
  const saved = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await saved;
  assert.equal(res.status(), 403);
  const err = (await res.json()).error;
  assert.equal(err.rule, "contest.neutrality");
  const alert = page.locator("#compose-errors").getByRole("alert");
  await alert.waitFor();
  assert.equal(await alert.getAttribute("data-rule"), "contest.neutrality");
  assert.equal(await alert.locator("strong").textContent(),
    "Refused under the contest's staff neutrality rule (contest.neutrality)");
  assert.equal(await alert.locator("p").textContent(), err.message);
  assert.match(err.message, /names candidate Anselm Rook .*in text_body, line 3/);
  assert.match(err.message, /take leave for that campaign/);
  await audit(page, "compose, refused under neutrality");
});

// ---- amending a running contest's rulebook -----------------------------------------------

step("the returning officer proposes version 2; she cannot approve it herself, the owner does", async () => {
  const page = pages.rita;
  await page.getByRole("link", { name: "All contests" }).click();
  await page.getByRole("link", { name: "Leadership election 2027" }).click();
  await page.getByRole("heading", { name: "Leadership election 2027", level: 1 }).waitFor();
  const editor = page.locator("#amend-text");
  await editor.waitFor();
  const v1 = await editor.inputValue();
  assert.equal(v1, leaderRulebook.text, "the box starts from the rulebook in force");
  const v2 = v1.replace('returning_officer = "rita"', 'version = 2\nreturning_officer = "rita"')
    .replace("word_limit = 50", "word_limit = 60");
  await editor.fill(v2);
  await page.locator("#rulebook").getByRole("button", { name: "Check" }).click();
  await page.locator("#amend-summary").getByText("The rulebook is valid: Leadership election 2027 (leader-2027), version 2.").waitFor();
  const proposed = page.waitForResponse(isApi("POST", /^\/api\/v1\/contests\/\d+\/rulebook$/));
  await page.getByRole("button", { name: "Propose this version" }).click();
  const res = await (await proposed).json();
  assert.deepEqual(res, { version: 2, in_force: false, waiting_for: "a second approver with contest.manage" });
  const card = page.locator("[data-proposed='2']");
  await card.getByRole("heading", { name: "Version 2 proposed" }).waitFor();
  const refused = page.waitForResponse(isApi("POST", /\/rulebook\/approve$/));
  await card.getByRole("button", { name: "Approve version 2" }).click();
  assert.equal((await refused).status(), 403);
  await card.getByRole("alert").getByText(/a second person, not the one who proposed it/).waitFor();
  await audit(page, "contest page with a proposed version");

  const owner = await newPage("alice");
  await owner.goto(server.url + "/");
  await owner.getByLabel("Login name").fill("alice");
  await owner.getByLabel("Password").fill(PASSWORDS.alice);
  await owner.getByRole("button", { name: "Sign in" }).click();
  await owner.getByLabel("Code from your authenticator app").fill(data.aliceRecoveryCodes[0]);
  await owner.getByRole("button", { name: "Continue" }).click();
  await owner.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contests" }).click();
  await owner.getByRole("link", { name: "Leadership election 2027" }).click();
  const approve = owner.locator("[data-proposed='2']").getByRole("button", { name: "Approve version 2" });
  const approved = owner.waitForResponse(isApi("POST", /\/rulebook\/approve$/));
  await approve.click();
  assert.equal((await approved).status(), 200);
  await owner.getByText("Version 2 is in force.", { exact: false }).first().waitFor();
  assert.equal(await owner.locator("#rulebook-sha").textContent(), createHash("sha256").update(v2).digest("hex"));
  assert.equal(await owner.locator("[data-proposed]").count(), 0);
  // The statement limit the compose screen shows follows the rulebook in force.
  await pages.quill.goto(server.url + "/#/email/new");
  await pages.quill.getByLabel("Endorsement", { exact: true }).check();
  await pages.quill.locator("#statement-count").getByText("0 / 60 words", { exact: true }).waitFor();
});

test("no member e-mail address or phone number reached any browser", async () => {
  const leaks = await rec.leaks(data.members);
  // The statements and the staff draft hold example.org addresses the
  // campaign typed itself; nothing else may.
  const others = leaks.filter((l) => !/contains an e-mail address: rally@example\.org/.test(l));
  assert.deepEqual(rec.problems, [], "problems in the pages");
  assert.deepEqual(others, []);
  console.log(`responses checked: ${rec.checked}; without a body: ${rec.bodiless.length}`);
});
