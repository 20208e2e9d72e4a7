// Member exports and leak tracing in a real browser (web/exports.js, the DPO
// console's Exports tab): the owner asks for an export with a purpose, her
// public key and a fresh code; the DPO approves it in the console with her
// own code; the owner downloads the sealed file once, and it opens with her
// secret key (`switchboard export open`); the DPO traces rows pasted from
// it, with columns renamed and most rows gone, and sees the export, its
// requester and its purpose named; rows of real members alone are not
// traced. axe-core checks each screen at desktop and phone widths.
//
// Set-up: alice and otto are the two founding owners (grant bootstrap
// --and); alice grants dora the dpo role through the API and, the role being
// privileged, otto approves it with his own code.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before } from "node:test";
import { spawnSync } from "node:child_process";
import { BIN, PASSWORDS, Recorder, cli, launch, setUpDataDir, startServer, story, totp } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;
const DORA_PASSWORD = "dora protects the members' data";
const OTTO_PASSWORD = "otto co-founded the organisation";
let ottoSecret;
const PURPOSE = "Mailing house for the spring appeal";

let data;
let server;
let browser;
let owner;  // alice's page
let dpo;  // dora's page
let keyFile;
let publicKey;
let doraSecret;
let exportId = 0;
let csv = "";
const rec = new Recorder();
const step = story(rec);

async function audit(page, screen) {
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

// A call to the API with the page's own session and CSRF token.
async function call(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const headers = { "X-CSRF-Token": sessionStorage.getItem("switchboard.csrf") || "" };
    if (body) headers["Content-Type"] = "application/json";
    const r = await fetch("/api/v1" + path, { method, headers, credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.text() };
  }, [method, path, body]);
}

// A command that needs no data directory (export keygen, export open).
function bare(args) {
  const p = spawnSync(BIN, args, { encoding: "utf8", timeout: 120_000 });
  if (p.status !== 0) throw new Error(`switchboard ${args.join(" ")} exited ${p.status}\n${p.stderr}`);
  return p.stdout;
}

// The cells of one CSV row (RFC 4180 quoting), and a cell quoted again.
function cells(row) {
  const out = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (quoted && c === '"' && row[i + 1] === '"') { cur += '"'; i++; }
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) { out.push(cur); cur = ""; }
    else cur += c;
  }
  out.push(cur);
  return out;
}
const quote = (cell) => (/[;"\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

async function signIn(page, login, password, code) {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill(login);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Code from your authenticator app").fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

before(async () => {
  data = setUpDataDir(24, { secondOwner: { login: "otto", name: "Otto Owner", password: OTTO_PASSWORD } });
  const otto = cli(data.dir, ["account", "totp", "otto", "--password-stdin"], OTTO_PASSWORD + "\n");
  ottoSecret = otto.split("\n").find((l) => l.startsWith("Secret:")).split(/\s+/)[1];
  cli(data.dir, ["account", "add", "dora", "--name", "Dora Protector", "--password-stdin"], DORA_PASSWORD + "\n");
  const out = cli(data.dir, ["account", "totp", "dora", "--password-stdin"], DORA_PASSWORD + "\n");
  doraSecret = out.split("\n").find((l) => l.startsWith("Secret:")).split(/\s+/)[1];
  keyFile = join(data.tmp, "alice-export.key");
  publicKey = bare(["export", "keygen", "--out", keyFile]).match(/public key: ([0-9a-f]{64})/)[1];
  server = await startServer(data.dir);
  browser = await launch();
  const open = async (who) => {
    const context = await browser.newContext({ acceptDownloads: true, timezoneId: "UTC" });
    context.setDefaultTimeout(TIMEOUT);
    await context.addInitScript({ path: AXE });
    await rec.watch(context, who);
    return context.newPage();
  };
  owner = await open("alice");
  dpo = await open("dora");
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("the owner makes dora the data protection officer", async () => {
  // A recovery code: the authenticator's codes are kept for the step-ups.
  await signIn(owner, "alice", PASSWORDS.alice, data.aliceRecoveryCodes[0]);
  const session = JSON.parse((await call(owner, "GET", "/session")).body);
  const root = session.grants.find((g) => g.role === "owner").scope.code;
  const accounts = JSON.parse((await call(owner, "GET", "/accounts")).body).accounts;
  const dora = accounts.find((a) => a.login === "dora");
  const until = new Date(Date.now() + 30 * 86400_000).toISOString().replace(/\.\d+Z$/, "Z");
  const g = await call(owner, "POST", "/grants", { account: String(dora.id), role: "dpo", scope: root,
    purpose: "data protection", reason: "browser test", not_after: until });
  assert.equal(g.status, 201, g.body);
  // Privileged: it waits for the other founding owner.
  const made = JSON.parse(g.body);
  assert.equal(made.pending, true, g.body);
  cli(data.dir, ["grant", "approve", String(made.grant.id), "--as", "otto", "--password-stdin",
    "--totp", totp(ottoSecret)], OTTO_PASSWORD + "\n");
});

step("the owner asks for an export with a purpose, her key and a fresh code", async () => {
  await owner.getByRole("link", { name: "Exports" }).click();
  await owner.getByRole("heading", { name: "Exports", level: 1 }).waitFor();
  await owner.getByText("You have not asked for an export.").waitFor();
  await audit(owner, "exports, none yet");
  await owner.getByLabel("Purpose").fill(PURPOSE);
  await owner.getByLabel("Your export public key").fill(publicKey);
  await owner.getByLabel("Authenticator code").fill(totp(data.aliceSecret, Date.now() / 1000 + 30));
  await owner.getByRole("button", { name: "Ask for the export" }).click();
  const done = owner.locator("#export-request .banner.ok");
  await done.waitFor();
  exportId = Number((await done.innerText()).match(/Export (\d+) asked for/)[1]);
  assert.ok(exportId > 0);
  assert.match(await done.innerText(), /A second person must approve it/);
  const row = owner.locator(`#my-exports-table tr[data-export="${exportId}"]`);
  await row.locator("td.state").filter({ hasText: "Waiting for a second approver" }).waitFor();
  assert.equal(await owner.getByRole("button", { name: `Download export ${exportId}` }).count(), 0,
    "no download before approval");
  await audit(owner, "exports, one waiting");
});

step("the DPO approves it in the console with her own code", async () => {
  await signIn(dpo, "dora", DORA_PASSWORD, totp(doraSecret));
  await dpo.getByRole("link", { name: "Data protection" }).click();
  await dpo.getByRole("heading", { name: "Data protection", level: 1 }).waitFor();
  await dpo.getByRole("navigation", { name: "Data protection" }).getByRole("link", { name: "Exports" }).click();
  await dpo.getByRole("heading", { name: "Exports", level: 1 }).waitFor();
  const row = dpo.locator(`#approvals-table tr[data-export="${exportId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(PURPOSE));
  assert.match(await row.innerText(), /alice/);
  await audit(dpo, "exports tab, one to approve");
  await dpo.getByLabel(`Authenticator code to approve export ${exportId}`)
    .fill(totp(doraSecret, Date.now() / 1000 + 30));
  await dpo.getByRole("button", { name: `Approve export ${exportId}` }).click();
  await dpo.locator("#export-approvals").getByText("None.").waitFor();
  const hist = dpo.locator(`#exports-table tr[data-export="${exportId}"]`);
  await hist.locator("td.state").filter({ hasText: "Approved" }).waitFor();
  assert.match(await hist.innerText(), /dora/);
});

step("the owner downloads the sealed file once; her key opens it", async () => {
  await owner.reload();
  await owner.getByRole("heading", { name: "Exports", level: 1 }).waitFor();
  const button = owner.getByRole("button", { name: `Download export ${exportId}` });
  const [download] = await Promise.all([owner.waitForEvent("download"), button.click()]);
  const file = join(data.tmp, "export.sbx");
  await download.saveAs(file);
  assert.equal(readFileSync(file).subarray(0, 10).toString("latin1"), "SBEXPORT1\n");
  csv = bare(["export", "open", file, "--key", keyFile]);
  const lines = csv.trim().split(/\r?\n/);
  assert.match(lines[0], /^first_name,last_name,status/);
  // Every member of the register, and the export's own canaries (40 at least).
  assert.ok(lines.length - 1 >= 24 + 40, `${lines.length - 1} rows`);
  const row = owner.locator(`#my-exports-table tr[data-export="${exportId}"]`);
  await row.locator("td.state").filter({ hasText: "Downloaded" }).waitFor();
  assert.equal(await owner.getByRole("button", { name: `Download export ${exportId}` }).count(), 0,
    "downloaded once");
  const again = await call(owner, "POST", `/exports/${exportId}/download`);
  assert.equal(again.status, 409, again.body);
});

step("the DPO traces pasted rows to the export and its requester", async () => {
  const rows = csv.trim().split(/\r?\n/).slice(1);
  // Members of the register have the set-up's addresses; a few rows of
  // theirs alone name nobody.
  const members = rows.filter((r) => data.members.emails.some((e) => r.includes(e)));
  assert.ok(members.length > 0);
  await dpo.getByLabel("Or paste some rows").fill(members.slice(0, 10).join("\n"));
  await dpo.getByRole("button", { name: "Trace" }).click();
  await dpo.locator("#trace-result").getByText(/^Not traced/).waitFor();
  // A third of the rows, columns reversed and renamed, separated by
  // semicolons.
  const kept = rows.filter((_, i) => i % 3 === 0).map((r) => cells(r).reverse().map(quote).join(";"));
  const header = cells(rows[0]).map((_, i) => `column ${i + 1}`).join(";");
  await dpo.getByLabel("Or paste some rows").fill("");
  await dpo.getByLabel("The suspected file").setInputFiles({ name: "found-on-a-forum.csv",
    mimeType: "text/csv", buffer: Buffer.from(header + "\n" + kept.join("\n")) });
  await dpo.getByRole("button", { name: "Trace" }).click();
  await dpo.locator("#trace-result").getByText(`Traced to export ${exportId}.`).waitFor();
  const card = dpo.locator(`[data-traced-export="${exportId}"]`);
  assert.match(await card.innerText(), /alice \(Alice Owner\)/);
  assert.match(await card.innerText(), new RegExp(PURPOSE));
  assert.match(await card.innerText(), /dora/);
  await audit(dpo, "a traced file");
});
