// An organiser reads what the volunteers learned, in a real browser: calls are
// made through the API by a volunteer (bearer token, as a script would), then
// the organiser opens the campaign's progress view and reads the counters,
// the survey results and the charts (server-drawn SVG, each with its text
// alternative), moves between the campaign's views by keyboard and by
// reload, and downloads the results as CSV. Every number is checked against
// the calls recorded; axe-core checks the three views; and nothing the
// browser received holds a member's e-mail address or phone number.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { PASSWORDS, Recorder, launch, setUpDataDir, startServer, story } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;
const CAMPAIGN = "Summer survey";
const SUPPORT = "Can we count on your support?";
const ISSUE = "Which issue matters most? <b>pick one</b>";

// What the volunteer records, in order: [outcome, answers].
const CALLS = [
  ["answered", { support: true, issue: "Housing" }],
  ["answered", { support: true, issue: "Housing" }],
  ["answered", { support: false, issue: "=SUM(A1)" }],
  ["no_answer", null],
  ["answered", { support: true }],
  ["voicemail", null],
];

let data;
let server;
let browser;
let page;
let campaignId;
const rec = new Recorder();
const step = story(rec);

// The API as a script uses it: a bearer token, no cookie.
async function apiLogin(login) {
  const res = await fetch(server.url + "/api/v1/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login, password: PASSWORDS[login], client: "api" }),
  });
  const answer = await res.text();
  assert.equal(res.status, 201, answer);
  const token = JSON.parse(answer).token;
  return async (method, path, body, expect = [200, 201]) => {
    for (;;) {
      const r = await fetch(server.url + "/api/v1" + path, {
        method,
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // The campaign's pace: wait as long as the server says, then ask again.
      if (r.status === 429 && path.endsWith("/next")) {
        await new Promise((done) => setTimeout(done, Number(r.headers.get("retry-after") || 1) * 1000));
        continue;
      }
      const text = await r.text();
      assert.ok(expect.includes(r.status), `${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : {};
    }
  };
}

async function audit(screen) {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
    await page.setViewportSize(viewport);
    const violations = await page.evaluate(async (tags) => {
      const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
      return r.violations.map((v) => `${v.id}: ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    }, TAGS);
    assert.deepEqual(violations, [], `${screen} at ${viewport.width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

const stat = (label) => page.locator("#progress .stats .card").filter({ hasText: label }).locator(".big");

before(async () => {
  data = setUpDataDir();
  server = await startServer(data.dir);
  browser = await launch();
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, "organiser");
  page = await context.newPage();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("a live campaign, and a volunteer who makes six calls", async () => {
  const olga = await apiLogin("olga");
  const made = await olga("POST", "/campaigns", {
    name: CAMPAIGN, scope: "E14000530", purpose: "Ask members what matters to them this summer.",
    ends_at: "+14d", script: "Hello from the branch.",
    survey: [
      { id: "support", question: SUPPORT, type: "yesno" },
      { id: "issue", question: ISSUE, type: "choice", options: ["Housing", "Transport", "=SUM(A1)"] },
    ],
    pace: { burst: 5, interval_seconds: 1 },
  });
  campaignId = made.campaign.id;
  await olga("POST", `/campaigns/${campaignId}/state`, { state: "live" });
  const invite = await olga("POST", `/campaigns/${campaignId}/invites`, { label: "summer", max_joins: 5 });
  const vic = await apiLogin("vic");
  await vic("POST", "/join/" + invite.token);
  for (const [outcome, answers] of CALLS) {
    await vic("POST", `/campaigns/${campaignId}/next`);
    await vic("POST", `/campaigns/${campaignId}/outcome`, answers ? { outcome, answers } : { outcome });
  }
});

step("the organiser reads the counters on the progress view", async () => {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill("olga");
  await page.getByLabel("Password").fill(PASSWORDS.olga);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Manage " + CAMPAIGN }).click();
  await page.getByRole("heading", { name: CAMPAIGN, level: 1 }).waitFor();
  // A live campaign opens on its progress.
  assert.equal(await page.getByRole("link", { name: "Progress and results" }).getAttribute("aria-current"), "page");
  const answered = CALLS.filter(([o]) => o === "answered").length;
  await stat("Calls made").getByText(String(CALLS.length), { exact: true }).waitFor();
  assert.equal(await stat("Conversations").textContent(), String(answered));
  assert.equal(await stat("Members finished").textContent(), String(answered));
  // Answered members are finished; no answer and voicemail will be tried again.
  assert.equal(await stat("Members to call").textContent(), String(data.members.audience - answered));
  const unitRow = page.locator("#progress table").filter({ hasText: "To call" }).locator("tbody tr").first();
  const cells = await unitRow.locator("td").allTextContents();
  assert.deepEqual(cells.slice(1), [String(data.members.audience), String(data.members.audience - answered),
    String(answered), String(CALLS.length)], "audience, to call, done, calls");
});

step("the organiser reads the survey results and the charts", async () => {
  const support = page.locator("section.question").filter({ has: page.getByRole("heading", { name: SUPPORT }) });
  await support.waitFor();
  await support.getByText("4 answers.").waitFor();
  const rows = await support.locator("table").first().locator("tbody tr").allTextContents();
  assert.deepEqual(rows, ["Yes375%", "No125%"]);
  const issue = page.locator("section.question").filter({ has: page.getByRole("heading", { name: ISSUE }) });
  await issue.getByText("3 answers; 1 answered call skipped it.").waitFor();
  assert.deepEqual(await issue.locator("table").first().locator("tbody tr").allTextContents(),
    ["Housing266.7%", "Transport00%", "=SUM(A1)133.3%"]);
  // In its unit only four answered: fewer than five, so not how.
  const byUnit = support.locator("details").filter({ hasText: "By unit" });
  await byUnit.getByText("By unit").click();
  const unitCells = await byUnit.locator("tbody tr").first().locator("th, td").allTextContents();
  assert.deepEqual(unitCells.slice(1), ["4", "—", "—", "fewer than 5 answers: not shown"]);

  // The charts: images of the server's SVG, loaded, each described in words.
  const chart = (name) => page.locator(`figure.chart[data-chart="${name}"] img`);
  for (const name of ["calls-per-hour", "outcomes", "question-1", "question-2"]) {
    await chart(name).waitFor();
    await page.waitForFunction((n) => {
      const img = document.querySelector(`figure.chart[data-chart="${n}"] img`);
      return img && img.complete && img.naturalWidth > 0;
    }, name);
  }
  assert.equal(await chart("question-1").getAttribute("alt"), "4 responses: Yes 3 (75%), No 1 (25%).");
  assert.equal(await chart("outcomes").getAttribute("alt"),
    "6 calls with an outcome: Answered 4 (67%), No answer 1 (17%), Voicemail 1 (17%).");
  assert.match(await chart("calls-per-hour").getAttribute("alt"), /^6 calls recorded from /);
  const svg = async (name) => {
    const res = await page.context().request.get(await chart(name).evaluate((img) => img.src));
    assert.equal(res.status(), 200);
    assert.equal(res.headers()["content-type"], "image/svg+xml; charset=utf-8");
    return res.text();
  };
  const q1 = await svg("question-1");
  assert.match(q1, /role="img"/);
  assert.ok(q1.includes(`<title id="question-1-title">${SUPPORT}</title>`), q1);
  assert.ok(q1.includes('<desc id="question-1-desc">4 responses: Yes 3 (75%), No 1 (25%).</desc>'), q1);
  // The organiser's own text is escaped, never markup, and nothing is fetched.
  const q2 = await svg("question-2");
  assert.ok(q2.includes("Which issue matters most? &lt;b&gt;pick one&lt;/b&gt;"), q2);
  assert.ok(!/<b>|href|<script/.test(q2), q2);
  await rec.snapshot(page, "organiser", "results");
  await audit("progress and results");
});

step("the organiser downloads the results as CSV", async () => {
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download results (CSV)" }).click();
  const file = await (await download).path();
  const csv = readFileSync(file, "utf8");
  const lines = csv.split("\r\n");
  assert.equal(lines[0], "section,question_id,question,breakdown,group,answer,count,percent,responses");
  assert.ok(lines.includes(`survey,support,${SUPPORT},campaign,${CAMPAIGN},yes,3,75.0,4`), csv);
  assert.ok(lines.includes(`outcome,,,campaign,${CAMPAIGN},answered,4,66.7,6`), csv);
  // A spreadsheet formula in an answer option is neutralised.
  assert.ok(lines.includes(`survey,issue,${ISSUE},campaign,${CAMPAIGN},"'=SUM(A1)",1,33.3,3`), csv);
  assert.ok(!/Member\d|Surname|@example\.org|7700/.test(csv), "no member-level data");
});

step("each view has its own address: keyboard, reload and back", async () => {
  const invitations = page.getByRole("link", { name: "Invitations", exact: true });
  await invitations.focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(/#\/organise\/\d+\/invitations$/);
  await page.getByRole("heading", { name: "Invitation links" }).waitFor();
  await page.locator("#invite-list").getByRole("heading", { name: "summer" }).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Invitation links" }).waitFor();
  assert.equal(await invitations.getAttribute("aria-current"), "page");
  assert.equal(await page.locator("#progress").count(), 0, "one view at a time");
  await audit("invitations");
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByRole("heading", { name: "Campaign details" }).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Campaign details" }).waitFor();
  assert.equal(await page.getByLabel("Campaign name").inputValue(), CAMPAIGN);
  await audit("settings");
  await page.goBack();
  await page.getByRole("heading", { name: "Invitation links" }).waitFor();
});

test("no member e-mail address or phone number reached the browser", async () => {
  const leaks = await rec.leaks(data.members);
  assert.deepEqual(rec.problems, [], "problems in the page");
  assert.deepEqual(leaks, []);
  assert.ok(rec.items.some((i) => i.where.includes("/results")), "the recorder saw the results");
});
