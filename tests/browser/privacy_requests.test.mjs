// The DPO's request queue and a member's subject-access report in a real
// browser (web/sar.js): the DPO opens Requests from the console, records a
// subject-access request received today and sees it due one calendar month
// later, opens the member's report (what is held, who saw it), fetches the
// member's copy, and answers the request, which closes it. axe-core checks
// each screen at desktop and phone widths.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before } from "node:test";
import { BIN, PASSWORDS, Recorder, cli, launch, setUpDataDir, startServer, story, totp } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;

let data;
let server;
let browser;
let page;
let memberId = 0;
let verifierKey = "";
const rec = new Recorder();
const step = story(rec);

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

// What the API says of the queue, read with the page's own session.
async function requests() {
  return page.evaluate(async () => {
    const r = await fetch("/api/v1/privacy/requests", { credentials: "same-origin" });
    return (await r.json()).requests;
  });
}

before(async () => {
  data = setUpDataDir();
  verifierKey = cli(data.dir, ["audit", "key"]).trim();
  server = await startServer(data.dir);
  browser = await launch();
  const context = await browser.newContext({ timezoneId: "UTC" });
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, "privacy_requests");
  page = await context.newPage();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("the DPO opens the request queue from the console", async () => {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill("alice");
  await page.getByLabel("Password").fill(PASSWORDS.alice);
  await page.getByRole("button", { name: "Sign in" }).click();
  // The set-up used the current step's code; a code works once.
  await page.getByLabel("Code from your authenticator app").fill(totp(data.aliceSecret, Date.now() / 1000 + 30));
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("link", { name: "Data protection" }).click();
  await page.getByRole("heading", { name: "Data protection", level: 1 }).waitFor();
  await page.getByRole("link", { name: "Requests" }).click();
  await page.getByRole("heading", { name: "Requests from members", level: 1 }).waitFor();
  await page.getByText("No open requests.").waitFor();
  memberId = await page.evaluate(async () => {
    const r = await fetch("/api/v1/members?unit=E14000530&page_size=1", { credentials: "same-origin" });
    return (await r.json()).members[0].id;
  });
  assert.ok(memberId > 0);
  await audit("request queue");
});

step("a request received today is due one calendar month later", async () => {
  await page.getByLabel("Kind").selectOption("access");
  await page.getByLabel("Member number").fill(String(memberId));
  await page.getByLabel("How it arrived").fill("letter");
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("Received on").fill(today);
  await page.getByRole("button", { name: "Record" }).click();
  const row = page.locator("table.requests tbody tr").filter({ hasText: `Member ${memberId}` });
  await row.waitFor();
  const [r] = await requests();
  assert.equal(r.kind, "access");
  assert.equal(r.member, memberId);
  assert.equal(r.state, "open");
  // One calendar month: the same day next month, or that month's last day.
  const [y, m, d] = today.split("-").map(Number);
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const due = new Date(Date.UTC(y, m, Math.min(d, last))).toISOString().slice(0, 10);
  assert.equal(String(r.due_on).slice(0, 10), due);
  assert.equal(await row.locator("td.days-left").innerText(), `${r.days_left} days left`);
  await audit("request queue with a request");
});

step("the DPO opens the member's report and fetches the member's copy", async () => {
  await page.getByRole("link", { name: `Member ${memberId}` }).first().click();
  await page.getByRole("heading", { name: `Subject access: member ${memberId}`, level: 1 }).waitFor();
  await page.getByRole("heading", { name: "Who saw this member's data" }).waitFor();
  await audit("member report");
  const href = await page.getByRole("link", { name: "Download for the member (HTML)" }).getAttribute("href");
  const copy = await page.context().request.get(server.url + href);
  assert.equal(copy.status(), 200);
  assert.match(copy.headers()["content-type"], /text\/html/);
  assert.match(await copy.text(), /<html/i);
});

step("the report's proofs check out in the browser and at the command line", async () => {
  await page.getByRole("button", { name: "Check every proof in this report" }).click();
  const said = page.getByText(/^\d+ verified, \d+ not verified, against the signed checkpoint of \d+ events\.$/);
  await said.waitFor();
  const [, good, bad] = (await said.textContent()).match(/^(\d+) verified, (\d+) not verified/);
  assert.ok(Number(good) > 0, "the organiser's search of the member is proved");
  assert.equal(Number(bad), 0);
  assert.equal(await page.locator('#sar-audit td.proof[data-verified="no"]').count(), 0);
  // The member's copy, checked without the server by `audit check-report`.
  const href = await page.getByRole("link", { name: "Download for the member, with the proofs (JSON)" }).getAttribute("href");
  const copy = await page.context().request.get(server.url + href);
  assert.equal(copy.status(), 200);
  const report = await copy.json();
  const file = join(data.dir, "member-report.json");
  writeFileSync(file, JSON.stringify(report));
  let p = spawnSync(BIN, ["audit", "check-report", file, "--key", verifierKey], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stdout + p.stderr);
  assert.match(p.stdout, /^[1-9]\d* events verified in the signed checkpoint of \d+ events .* 0 failed$/m);
  // One event's leaf hash changed in the file: that event fails, exit 3.
  const ev = report.audit.events.find((e) => e.provable);
  ev.leaf_hash = (ev.leaf_hash[0] === "0" ? "1" : "0") + ev.leaf_hash.slice(1);
  writeFileSync(file, JSON.stringify(report));
  p = spawnSync(BIN, ["audit", "check-report", file, "--key", verifierKey], { encoding: "utf8" });
  assert.equal(p.status, 3, p.stdout + p.stderr);
  assert.match(p.stdout, new RegExp(`^NOT VERIFIED: event ${ev.seq}: `, "m"));
  // And in the browser: a report whose event was changed on its way.
  await page.route("**/api/v1/privacy/members/*/report", async (route) => {
    const res = await route.fetch();
    const j = await res.json();
    const e = j.audit.events.find((x) => x.seq === ev.seq);
    e.leaf_hash = ev.leaf_hash;
    await route.fulfill({ response: res, json: j });
  });
  await page.reload();
  await page.getByRole("button", { name: "Check every proof in this report" }).click();
  await page.getByText(/^\d+ verified, 1 not verified/).waitFor();
  await page.locator('#sar-audit td.proof[data-verified="no"]').getByText("Not verified").waitFor();
  await page.unroute("**/api/v1/privacy/members/*/report");
  await page.reload();
  await page.getByRole("heading", { name: "Who saw this member's data" }).waitFor();
  await audit("member report with proofs");
});

step("answering the request closes it", async () => {
  await page.getByRole("link", { name: "Back to the requests" }).click();
  await page.getByRole("heading", { name: "Requests from members", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Send the report and close" }).click();
  await page.getByText("No open requests.").waitFor();
  const [r] = await requests();
  assert.equal(r.state, "closed");
  await page.locator("table.requests").filter({ hasText: "Closed requests" }).locator("td.days-left")
    .filter({ hasText: /^closed / }).waitFor();
});
