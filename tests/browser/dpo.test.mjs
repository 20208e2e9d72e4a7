// The data-protection officer's console in a real browser. A volunteer with
// no grant probes member records through the API (a script would) and is
// suspended by the probing rule; the DPO finds the alert on the dashboard,
// follows it to the alert's audit event and on to a member's audit trail,
// checks an event's inclusion proof in the browser against the signed
// checkpoint (and sees a tampered proof and a tampered event fail),
// reinstates the volunteer with a reason, records a breach and sees the
// 72-hour countdown, works out the affected members from an organiser's
// reads, and downloads the signed checkpoints, and a witness export whose
// consistency proofs `switchboard audit witness check` accepts (and refuses
// with one hash changed). axe-core checks each screen;
// nothing the browser received holds a member's e-mail address or phone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { BIN, PASSWORDS, Recorder, cli, launch, setUpDataDir, startServer, story, totp } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;

let data;
let server;
let browser;
let page;
const rec = new Recorder();
const step = story(rec);
let olgaSaw = 0;
let olgaId = 0;
let verifierKey = "";  // as `switchboard audit key` prints it, before the server starts

async function apiLogin(login) {
  const res = await fetch(server.url + "/api/v1/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login, password: PASSWORDS[login], client: "api" }),
  });
  const answer = await res.text();
  assert.equal(res.status, 201, answer);
  const token = JSON.parse(answer).token;
  return async (method, path) => {
    const r = await fetch(server.url + "/api/v1" + path, { method, headers: { Authorization: "Bearer " + token } });
    return { status: r.status, body: await r.text() };
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

// "YYYY-MM-DDTHH:MM" in the browser's zone (the datetime-local field).
function localMinutes(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

before(async () => {
  data = setUpDataDir();
  verifierKey = cli(data.dir, ["audit", "key"]).trim();
  server = await startServer(data.dir);
  browser = await launch();
  const context = await browser.newContext({ acceptDownloads: true, timezoneId: "UTC" });
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, "dpo");
  page = await context.newPage();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("an organiser reads a page of members; a volunteer probes and is suspended", async () => {
  const olga = await apiLogin("olga");
  const page1 = await olga("GET", "/members?unit=E14000530&page_size=5");
  assert.equal(page1.status, 200, page1.body);
  olgaSaw = JSON.parse(page1.body).members.length;
  assert.ok(olgaSaw > 0);
  const vic = await apiLogin("vic");
  let suspended = false;
  for (let id = 1; id <= 40 && !suspended; id++) {
    const r = await vic("GET", `/members/${id}`);
    assert.ok([403, 404, 401].includes(r.status), r.body);
    suspended = r.status === 401 || /suspended/.test(r.body);
  }
  assert.ok(suspended, "the probing rule suspended the volunteer");
});

step("the DPO signs in and finds the alert on the dashboard", async () => {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill("alice");
  await page.getByLabel("Password").fill(PASSWORDS.alice);
  await page.getByRole("button", { name: "Sign in" }).click();
  // The set-up used the current step's code; a code works once.
  await page.getByLabel("Code from your authenticator app").fill(totp(data.aliceSecret, Date.now() / 1000 + 30));
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("link", { name: "Data protection" }).click();
  await page.getByRole("heading", { name: "Data protection", level: 1 }).waitFor();
  const alert = page.locator("li.alert").filter({ hasText: "Repeated refused requests (probing)" });
  await alert.waitFor();
  await alert.getByText("vic").first().waitFor();
  await page.locator("li[data-account]").filter({ hasText: "(vic)" }).waitFor();
  // The charts: the server's SVG, loaded, each described in words.
  for (const name of ["reads-per-day", "reads-by-role", "alerts-per-day"]) {
    await page.waitForFunction((n) => {
      const img = document.querySelector(`figure.chart[data-chart="${n}"] img`);
      return img && img.complete && img.naturalWidth > 0;
    }, name);
  }
  const byRole = await page.context().request.get(server.url + "/api/v1/audit/charts/reads-by-role");
  assert.equal(byRole.status(), 200);
  assert.match(await byRole.text(), new RegExp(`<desc[^>]*>Records read by role: .*officer ${olgaSaw}`));
  olgaId = await page.evaluate(async () => {
    const r = await fetch("/api/v1/accounts", { credentials: "same-origin" });
    return (await r.json()).accounts.find((a) => a.login === "olga").id;
  });
  await audit("dashboard");
});

step("the DPO follows the alert to a member's audit trail and checks a proof", async () => {
  const alert = page.locator("li.alert").filter({ hasText: "Repeated refused requests (probing)" });
  await alert.getByRole("link", { name: "The alert in the audit log" }).click();
  await page.getByRole("heading", { name: "Audit log", level: 1 }).waitFor();
  // The record whose refusal raised the alert, and that member's whole trail.
  const row = page.locator("#audit-table tbody tr").filter({ hasText: "alert.raised" }).first();
  const member = row.locator("td").nth(5).getByRole("link").first();
  const memberId = await member.textContent();
  await member.click();
  await page.waitForURL(new RegExp(`#/dpo/audit\\?member=${memberId}$`));
  assert.equal(await page.getByLabel("Member id").inputValue(), memberId);
  const denied = page.locator("#audit-table tbody tr").filter({ hasText: "member.view" }).filter({ hasText: "deny" }).first();
  await denied.waitFor();
  await denied.getByRole("button", { name: "Check proof" }).click();
  const cell = denied.locator("td.proof[data-verified]");
  await cell.waitFor();
  const said = await cell.textContent();
  assert.equal(await cell.getAttribute("data-verified"), "yes", said);
  assert.match(said, /^Verified: included in the signed checkpoint of \d+ events$/);
  await audit("audit trail");
});

step("a tampered proof or a tampered event fails the check", async () => {
  const rows = page.locator("#audit-table tbody tr");
  // One hash of the proof changed on its way to the page.
  await page.route("**/api/v1/audit/proof*", async (route) => {
    const res = await route.fetch();
    const j = await res.json();
    assert.ok(j.proof.length > 0, "a proof with hashes to change");
    j.proof[0] = (j.proof[0][0] === "0" ? "1" : "0") + j.proof[0].slice(1);
    await route.fulfill({ response: res, json: j });
  });
  const first = rows.first();
  await first.getByRole("button", { name: "Check proof" }).click();
  await first.locator("td.proof").getByText("Not verified", { exact: true }).waitFor();
  assert.match(await first.locator("td.proof").textContent(), /does not lead to the signed root/);
  await page.unroute("**/api/v1/audit/proof*");
  // The event as the server sends it, with its decision turned round.
  await page.route("**/api/v1/audit/events*", async (route) => {
    const res = await route.fetch();
    const j = await res.json();
    for (const e of j.events) e.body = e.body.replace('"decision":"deny"', '"decision":"allow"');
    await route.fulfill({ response: res, json: j });
  });
  await page.reload();
  const denied = rows.filter({ hasText: "member.view" }).first();
  await denied.getByRole("button", { name: "Check proof" }).click();
  await denied.locator("td.proof").getByText("Not verified", { exact: true }).waitFor();
  await page.unroute("**/api/v1/audit/events*");
});

step("the DPO reinstates the suspended volunteer", async () => {
  await page.getByRole("link", { name: "Dashboard" }).click();
  const card = page.locator("li[data-account]").filter({ hasText: "(vic)" });
  await card.getByRole("button", { name: "Reinstate vic" }).click();
  await card.getByText("Give a reason").waitFor();
  await card.getByLabel("Reason for reinstating").fill("Spoke to Vic: a broken script, now removed.");
  await card.getByRole("button", { name: "Reinstate vic" }).click();
  await page.getByText("No account is suspended.").waitFor();
  const vic = await apiLogin("vic");
  assert.equal((await vic("GET", "/session")).status, 200, "vic can sign in again");
  const events = await page.evaluate(async () => {
    const r = await fetch("/api/v1/audit/events?action=account.active", { credentials: "same-origin" });
    return (await r.json()).events;
  });
  assert.equal(events.length, 1, "the reinstatement is in the audit log");
});

step("the DPO records a breach and sees the 72-hour countdown", async () => {
  await page.getByRole("link", { name: "Breaches" }).click();
  await page.getByRole("heading", { name: "Breach register", level: 1 }).waitFor();
  await page.getByLabel("Discovered at (your local time)").fill(localMinutes(new Date(Date.now() - 90 * 60_000)));
  await page.getByLabel("What happened").fill("An organiser's laptop was stolen with the app open.");
  await page.getByLabel("Kinds of data involved").fill("names, membership details");
  await page.getByLabel("Kinds of people involved").fill("members in Aldershot");
  await page.getByRole("button", { name: "Record the breach" }).click();
  await page.getByRole("heading", { name: /^Breach #\d+$/ }).waitFor();
  assert.match(await page.locator("#countdown").textContent(), /Time left to tell the regulator: 2 days 22 hours left/);
  await audit("breach");
  // The affected members: what the organiser read, from the audit log.
  await page.getByLabel("Account, campaign or export id").fill(String(olgaId));
  await page.getByLabel("From").fill(localMinutes(new Date(Date.now() - 24 * 3600_000)));
  await page.getByLabel("Until").fill(localMinutes(new Date(Date.now() + 60_000)));
  await page.getByRole("button", { name: "Work out the affected members" }).click();
  await page.getByText(new RegExp(`^${olgaSaw} members, from the account ${olgaId}'s reads`)).waitFor();
  const draft = await page.locator("#draft-regulator").inputValue();
  assert.match(draft, new RegExp(`${olgaSaw} members affected`));
  assert.ok(!/Member\d|Surname|@example\.org|7700/.test(draft), "the draft names no member");
  await page.getByRole("link", { name: "Dashboard" }).click();
  await page.locator("tr[data-breach]").getByText(/2 days 2\d hours left/).waitFor();
});

step("the DPO sees who can see what, and which grants end soon", async () => {
  await page.getByRole("link", { name: "Who can see what" }).click();
  await page.getByRole("heading", { name: "Who can see what", level: 1 }).waitFor();
  const olga = page.locator("#grants-table tbody tr").filter({ hasText: "(olga)" });
  await olga.waitFor();
  const cells = await olga.locator("th, td").allTextContents();
  assert.equal(cells[1], "officer");
  assert.equal(cells[3], "first_name, location, membership, name, notes");
  assert.match(cells[5], /\(alice\)/, "granted by alice");
  assert.equal(await page.locator("#grants-table tbody tr").filter({ hasText: "(vic)" }).count(), 0,
    "vic holds no grant");
  await audit("grants overview");
});

step("the DPO downloads the signed checkpoints for a witness", async () => {
  await page.getByRole("link", { name: "Checkpoints" }).click();
  await page.getByRole("heading", { name: "Signed checkpoints" }).waitFor();
  await page.getByText("Signature valid").first().waitFor();
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download every signed checkpoint" }).click();
  const text = readFileSync(await (await download).path(), "utf8");
  const origin = verifierKey.split("+")[0];
  await page.getByText(verifierKey, { exact: true }).waitFor();
  assert.ok(text.startsWith(origin + "\n"), text.slice(0, 200));
  assert.ok(text.includes("\n\u2014 " + origin + " "), "each note carries its signature line");
  await audit("checkpoints");
});

step("a witness holding an older checkpoint checks that the log only grew", async () => {
  const cps = await page.evaluate(async () => {
    const r = await fetch("/api/v1/audit/checkpoints", { credentials: "same-origin" });
    return (await r.json()).checkpoints.filter((c) => c.note);
  });
  assert.ok(cps.length >= 2, "two checkpoints at least");
  const held = cps[0];
  const heldFile = join(data.dir, "witness.txt");
  writeFileSync(heldFile, held.note + "\n");
  await page.getByLabel("Events in the witness's newest checkpoint").fill(String(held.tree_size));
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download for a witness, with consistency proofs" }).click();
  const file = await (await download).path();
  const exported = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(exported.from_size, held.tree_size);
  assert.ok(exported.checkpoints.length >= 1);
  assert.equal(exported.checkpoints[0].consistency_from, held.tree_size);
  await page.getByText(/^\d+ checkpoints after \d+ events, with their proofs\.$/).waitFor();
  const check = (f, extra = []) =>
    spawnSync(BIN, ["audit", "witness", "check", f, "--key", verifierKey, "--held", heldFile, ...extra], { encoding: "utf8" });
  // One hash of a proof changed: refused, and nothing appended.
  const bad = structuredClone(exported);
  const withProof = bad.checkpoints.find((c) => c.consistency.length > 0);
  withProof.consistency[0] = (withProof.consistency[0][0] === "0" ? "1" : "0") + withProof.consistency[0].slice(1);
  const badFile = join(data.dir, "witness-bad.json");
  writeFileSync(badFile, JSON.stringify(bad));
  let p = check(badFile, ["--append"]);
  assert.equal(p.status, 3, p.stdout + p.stderr);
  assert.match(p.stdout, /^NOT CONSISTENT: checkpoint of \d+ events: /);
  assert.equal(readFileSync(heldFile, "utf8"), held.note + "\n");
  // The real export: consistent, and appended to the witness's file.
  p = check(file, ["--append"]);
  assert.equal(p.status, 0, p.stdout + p.stderr);
  const newest = exported.checkpoints[exported.checkpoints.length - 1].tree_size;
  assert.match(p.stdout, new RegExp(`^consistent: the log grew from ${held.tree_size} to ${newest} events`));
  p = check(file);
  assert.match(p.stdout, new RegExp(`^nothing newer than the checkpoint of ${newest} events you hold`));
});

test("no member e-mail address or phone number reached the browser", async () => {
  const leaks = await rec.leaks(data.members);
  assert.deepEqual(rec.problems, [], "problems in the page");
  assert.deepEqual(leaks, []);
  assert.ok(rec.items.some((i) => i.where.includes("/audit/proof")), "the recorder saw the proofs");
});
