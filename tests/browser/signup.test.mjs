// Volunteers sign themselves up, end to end in a real browser: from an
// invitation link in a fresh browser, "I'm new here" with a membership
// number; the one-time link is read from a real SMTP server on loopback
// (tests/mail/smtp_sink.py, python3-aiosmtpd), where it arrived DKIM-signed
// (checked by the independent python3-dkim) and addressed to the address the
// register holds; a password is chosen, the account is made and joins; then
// a first call in the sandbox. Then a password reset by e-mailed link, which
// ends the other session; then a second tab that works without signing in
// again. axe-core checks every new screen. No member e-mail address or phone
// number reaches any browser (TARGETS R1).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, chmodSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { Recorder, launch, setUpDataDir, startServer, story } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const HERE = dirname(fileURLToPath(import.meta.url));
const SINK = join(HERE, "..", "mail", "smtp_sink.py");
const CAMPAIGN = "Autumn welcome calls";
const VOLUNTEER_PHONE = "07700 900998";
const PASSWORD = "my own long passphrase here";
const NEW_PASSWORD = "a different passphrase, reset";
const TIMEOUT = 20_000;

let data;
let server;
let sink;
let mailDir;
let dkimPublic;
let browser;
let invite;
let campaignId;
let signupPage;  // the new volunteer's first browser
let resetPage;  // a second browser, after the reset
const rec = new Recorder();
const step = story(rec);

// The SMTP capture: resolves to {port, stop}.
function startSink(dir) {
  return new Promise((resolve, reject) => {
    const proc = spawn("/usr/bin/python3", [SINK, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stderr.on("data", (d) => { err += d; });
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /(\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), stop: () => proc.kill("SIGTERM") });
    });
    proc.once("exit", (code) => reject(new Error(`smtp_sink exited ${code}: ${err}`)));
  });
}

// The n-th message received (1-based), once complete: {raw, rcpt}.
async function mail(n) {
  const base = join(mailDir, `msg-${String(n).padStart(4, "0")}`);
  for (let i = 0; i < 300 && !existsSync(base + ".json"); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(base + ".json"), `mail ${n} arrived at the SMTP capture`);
  return { raw: readFileSync(base + ".eml"), rcpt: JSON.parse(readFileSync(base + ".json", "utf8")).rcpt_tos };
}

function received() {
  return readdirSync(mailDir).filter((f) => f.endsWith(".json")).length;
}

// The text of a single-part message, its transfer encoding undone.
function bodyText(raw) {
  const text = raw.toString("latin1");
  const split = text.indexOf("\r\n\r\n");
  const head = text.slice(0, split);
  const body = text.slice(split + 4);
  const cte = (/^Content-Transfer-Encoding:\s*(\S+)/im.exec(head) || [])[1] || "7bit";
  if (/base64/i.test(cte)) return Buffer.from(body, "base64").toString("utf8");
  if (/quoted-printable/i.test(cte)) {
    const bytes = body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  return body;
}

// The link's path and fragment, to open on this server.
function linkIn(raw, kind) {
  const m = new RegExp(`https?://[^\\s/]+(/#/${kind}/[A-Za-z0-9_-]{43}(?:/[A-Za-z0-9_-]+)?)`).exec(bodyText(raw));
  assert.ok(m, `the mail holds a ${kind} link`);
  return m[1];
}

// DKIM verified by python3-dkim, answering its DNS query with our key.
function dkimVerifies(raw) {
  const script = `
import sys, dkim
raw = open(sys.argv[1], "rb").read()
rec = ("v=DKIM1; k=rsa; p=" + sys.argv[2]).encode()
ok = dkim.verify(raw, dnsfunc=lambda name, timeout=5: rec if name.decode().rstrip(".") == "sb2026._domainkey.example.org" else None)
sys.exit(0 if ok else 1)`;
  const path = join(data.tmp, "check.eml");
  writeFileSync(path, raw);
  return spawnSync("/usr/bin/python3", ["-c", script, path, dkimPublic]).status === 0;
}

async function audit(page, screen) {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
    await page.setViewportSize(viewport);
    const violations = await page.evaluate(async (tags) => {
      const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
      return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
        v.nodes.map((n) => n.target.join(" ")).join(", "));
    }, TAGS);
    assert.deepEqual(violations, [], `${screen} at ${viewport.width} px: WCAG violations`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function newPage(who) {
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, who);
  return context.newPage();
}

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

async function api(method, path, body, token) {
  const res = await fetch(server.url + "/api/v1" + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: "Bearer " + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  data = setUpDataDir();
  mailDir = join(data.tmp, "mail");
  mkdirSync(mailDir);
  sink = await startSink(mailDir);
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPath = join(data.tmp, "dkim.key");
  writeFileSync(keyPath, privateKey.export({ type: "pkcs1", format: "pem" }));
  chmodSync(keyPath, 0o600);
  dkimPublic = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  const toml = join(data.dir, "switchboard.toml");
  // [mail] is the file's last section: replaced whole.
  const text = readFileSync(toml, "utf8");
  assert.ok(text.includes("\n[mail]\n"), "switchboard.toml has a [mail] section");
  writeFileSync(toml, text.slice(0, text.indexOf("\n[mail]\n")) + `
[mail]
relay = "smtp://127.0.0.1:${sink.port}"
tls = "none"
from_address = "members@example.org"
bounce_address = "bounces@example.org"
message_id_domain = "example.org"
public_base_url = "https://switchboard.example.org"
dkim_domain = "example.org"
dkim_selector = "sb2026"
dkim_key_file = "${keyPath}"
retry_seconds = 1
`);
  server = await startServer(data.dir);
  browser = await launch();
  // The organiser's campaign and invitation, through the API.
  const olga = (await api("POST", "/session", { login: "olga", password: "olga organises the phone bank", client: "api" })).token;
  const made = await api("POST", "/campaigns", {
    name: CAMPAIGN, scope: "E14000530", purpose: "Welcome new members to the branch.",
    ends_at: "+14d", script: "Hello, I'm calling from the branch.",
    survey: [{ id: "welcome", question: "Would you like to come to a meeting?", type: "yesno" }],
  }, olga);
  campaignId = made.campaign.id;
  await api("POST", `/campaigns/${campaignId}/state`, { state: "live" }, olga);
  invite = (await api("POST", `/campaigns/${campaignId}/invites`, { label: "newsletter", max_joins: 100 }, olga)).token;
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (sink) sink.stop();
  if (data) data.cleanup();
});

step("from an invitation in a fresh browser: I'm new here, and a link arrives by e-mail", async () => {
  const page = signupPage = await newPage("newcomer");
  await page.goto(server.url + "/join/" + invite);
  await page.getByRole("heading", { name: "Join " + CAMPAIGN, level: 1 }).waitFor();
  await page.getByText("Welcome new members to the branch.").waitFor();
  await audit(page, "invitation, not signed in");
  await page.getByRole("button", { name: "I'm new here" }).click();
  const who = page.getByLabel("Your e-mail address or membership number");
  await who.waitFor();
  await audit(page, "I'm new here");
  // Member 0 (browser.member.0@example.org) by membership number: the page
  // never sees the address.
  await who.fill("B0");
  const asked = page.waitForResponse(isApi("POST", /\/sign-up$/));
  await page.getByRole("button", { name: "Send me a link" }).click();
  assert.equal((await asked).status(), 202);
  await page.getByRole("status").getByText("Check your e-mail.").waitFor();
  await audit(page, "link asked for");

  const m = await mail(1);
  assert.deepEqual(m.rcpt, ["browser.member.0@example.org"], "sent to the address on record");
  assert.match(m.raw.toString("latin1"), /^DKIM-Signature:/m);
  assert.ok(dkimVerifies(m.raw), "the DKIM signature verifies");
  const link = linkIn(m.raw, "welcome");
  assert.ok(link.endsWith("/" + invite), "the link carries the invitation");
  assert.ok(!server.log().includes(link.split("/")[3]), "the link's token is in no log line");

  // Someone unknown is answered word for word the same, and nothing is sent.
  const other = await fetch(server.url + `/api/v1/join/${invite}/sign-up`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ who: "Z999" }) });
  assert.equal(other.status, 202);
  assert.equal(await other.text(), await (await asked).text());
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(received(), 1, "no mail for an unknown number");
  signupPage.link = link;
});

step("the link: choose a password, signed in and joined, then a first call", async () => {
  const page = signupPage;
  await page.goto(server.url + "/" + signupPage.link);
  await page.getByRole("heading", { name: "Welcome: choose your password" }).waitFor();
  await audit(page, "choose a password (sign-up)");
  await page.getByLabel("Choose a login name").fill("newvol");
  await page.getByLabel("Your name").fill("Nia Newcomer");
  await page.getByLabel("Password", { exact: true }).fill("too short");
  await page.getByLabel("Password again").fill("too short");
  const refused = page.waitForResponse(isApi("POST", /^\/api\/v1\/account-link$/));
  await page.getByRole("button", { name: "Create my account" }).click();
  assert.equal((await refused).status(), 400, "the password policy applies");
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Password again").fill(PASSWORD);
  const made = page.waitForResponse(isApi("POST", /^\/api\/v1\/account-link$/));
  const joined = page.waitForResponse(isApi("POST", /^\/api\/v1\/join\/[^/]+$/));
  await page.getByRole("button", { name: "Create my account" }).click();
  assert.equal((await made).status(), 201);
  assert.equal((await joined).status(), 201, "joined through the invitation");
  await page.getByText("Signed in as Nia Newcomer").waitFor();
  await page.getByText("You have joined " + CAMPAIGN).waitFor();
  assert.ok(!page.url().includes("welcome"), "the link left the address bar");
  await rec.snapshot(page, "newcomer", "joined");
  // The link worked once.
  const again = await fetch(server.url + "/api/v1/account-link/check", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: signupPage.link.split("/")[3] }) });
  assert.equal(again.status, 404);

  await page.getByRole("link", { name: "Start calling" }).click();
  await page.getByRole("heading", { name: "Calling for " + CAMPAIGN }).waitFor();
  await page.getByText("Your phone", { exact: true }).click();
  await page.getByLabel("Your phone number").fill(VOLUNTEER_PHONE);
  await page.getByRole("button", { name: "Send a code" }).click();
  const sandbox = page.locator("#sandbox-code");
  await sandbox.waitFor();
  const code = /(\d{4,8})\.?$/.exec(await sandbox.textContent())[1];
  await page.getByLabel("Verification code").fill(code);
  await page.getByRole("button", { name: "Confirm my phone" }).click();
  await page.locator("#endpoint-ok").waitFor();
  const next = page.waitForResponse(isApi("POST", /\/next$/));
  await page.locator("#next").click();
  assert.equal((await next).status(), 200, "a member is assigned");
  await page.getByRole("heading", { name: "Who you are calling" }).waitFor();
  const connect = page.waitForResponse(isApi("POST", /\/connect$/));
  await page.getByRole("button", { name: "Connect" }).click();
  assert.equal((await connect).status(), 201);
  await page.locator("#call-status").getByText(/Ringing your phone|You answered|Connected|ended/).waitFor();
  await page.getByLabel("No answer").check();
  const saved = page.waitForResponse(isApi("POST", /\/outcome$/));
  await page.getByRole("button", { name: "Save outcome" }).click();
  assert.equal((await saved).status(), 200);
  await page.locator("#saved").waitFor();
  await rec.snapshot(page, "newcomer", "first call");
});

step("forgot password: a reset link by e-mail ends the other session", async () => {
  const page = resetPage = await newPage("reset");
  await page.goto(server.url + "/");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByRole("heading", { name: "Forgot your password?" }).waitFor();
  await audit(page, "forgot password");
  await page.getByLabel("Your login name, e-mail address or membership number").fill("newvol");
  const asked = page.waitForResponse(isApi("POST", /^\/api\/v1\/password-reset$/));
  await page.getByRole("button", { name: "Send me a link" }).click();
  assert.equal((await asked).status(), 202);
  await page.getByRole("status").getByText("Check your e-mail.").waitFor();

  const m = await mail(2);
  assert.deepEqual(m.rcpt, ["browser.member.0@example.org"]);
  assert.ok(dkimVerifies(m.raw));
  await page.goto(server.url + "/" + linkIn(m.raw, "reset"));
  await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
  await page.getByText("Your login name is newvol").waitFor();
  await audit(page, "choose a new password (reset)");
  await page.getByLabel("Password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Password again").fill(NEW_PASSWORD);
  const done = page.waitForResponse(isApi("POST", /^\/api\/v1\/account-link$/));
  await page.getByRole("button", { name: "Set my new password" }).click();
  const res = await done;
  assert.equal(res.status(), 201);
  assert.equal((await res.json()).sessions_ended, 1, "the sign-up browser's session ended");
  await page.getByText("Signed in as Nia Newcomer").waitFor();
  await page.getByRole("heading", { name: "Your campaigns" }).waitFor();
  // The first browser is signed out.
  assert.equal((await signupPage.request.get(server.url + "/api/v1/session")).status(), 401);
  await signupPage.reload();
  await signupPage.getByRole("heading", { name: "Sign in" }).waitFor();
});

step("a second tab on an app address works without signing in again", async () => {
  const tab = await resetPage.context().newPage();
  await tab.goto(server.url + "/#/progress/" + campaignId);
  await tab.getByText("Signed in as Nia Newcomer").waitFor();
  assert.equal(await tab.getByRole("button", { name: "Sign in" }).count(), 0);
  // A state-changing request from the new tab carries a valid CSRF token.
  const out = tab.waitForResponse(isApi("DELETE", /^\/api\/v1\/session$/));
  await tab.getByRole("button", { name: "Sign out" }).click();
  assert.equal((await out).status(), 200, "signed out from the second tab (CSRF accepted)");
  await tab.getByRole("heading", { name: "Sign in" }).waitFor();
  await tab.close();
});

step("no member e-mail address or phone number reached any browser", async () => {
  const found = await rec.leaks(data.members, [VOLUNTEER_PHONE]);
  assert.deepEqual(found, []);
});
