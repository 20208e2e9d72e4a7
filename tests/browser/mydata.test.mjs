// "Who saw my data", end to end in a real browser (issue 18): a member types
// their e-mail address on /my-data; the one-time link is read from a real
// SMTP server on loopback (tests/mail/smtp_sink.py), addressed to the address
// the register holds; an unknown address gets the same page word for word
// and no mail. The link opens the member's own report once (a GET spends
// nothing, the button does), naming nobody else; the member withdraws their
// consent to phone calls there, and the register's preferences page says it
// is saved. axe-core checks every page on the way.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
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
const TIMEOUT = 20_000;

let data;
let server;
let sink;
let mailDir;
let browser;
let page;
let link;
const rec = new Recorder();
const step = story(rec);

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

async function mail(n) {
  const base = join(mailDir, `msg-${String(n).padStart(4, "0")}`);
  for (let i = 0; i < 300 && !existsSync(base + ".json"); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(base + ".json"), `mail ${n} arrived at the SMTP capture`);
  return { raw: readFileSync(base + ".eml"), rcpt: JSON.parse(readFileSync(base + ".json", "utf8")).rcpt_tos };
}

function received() {
  return readdirSync(mailDir).filter((f) => f.endsWith(".json")).length;
}

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

async function audit(p, screen) {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
    await p.setViewportSize(viewport);
    const violations = await p.evaluate(async (tags) => {
      const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
      return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
        v.nodes.map((n) => n.target.join(" ")).join(", "));
    }, TAGS);
    assert.deepEqual(violations, [], `${screen} at ${viewport.width} px: WCAG violations`);
  }
  await p.setViewportSize({ width: 1280, height: 800 });
}

before(async () => {
  data = setUpDataDir();
  mailDir = join(data.tmp, "mail");
  mkdirSync(mailDir);
  sink = await startSink(mailDir);
  const toml = join(data.dir, "switchboard.toml");
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
retry_seconds = 1
`);
  server = await startServer(data.dir);
  browser = await launch();
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, "member");
  page = await context.newPage();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (sink) sink.stop();
  if (data) data.cleanup();
});

step("a member asks with their address; an unknown address gets the same page and no mail", async () => {
  await page.goto(server.url + "/my-data");
  await page.getByRole("heading", { name: "See the data we hold about you", level: 1 }).waitFor();
  await audit(page, "ask for a link");
  await page.getByLabel("Your e-mail address").fill("browser.member.0@example.org");
  const asked = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/my-data");
  await page.getByRole("button", { name: "Send me the link" }).click();
  const answer = await asked;
  assert.equal(answer.status(), 202);
  await page.getByRole("heading", { name: "Check your e-mail" }).waitFor();
  await audit(page, "link asked for");

  const m = await mail(1);
  assert.deepEqual(m.rcpt, ["browser.member.0@example.org"], "sent to the address on record");
  const found = /https?:\/\/[^\s/]+(\/my-data\/[A-Za-z0-9_-]{43})/.exec(bodyText(m.raw));
  assert.ok(found, "the mail holds a report link");
  link = found[1];
  assert.ok(!server.log().includes(link.split("/")[2]), "the link's token is in no log line");

  const other = await fetch(server.url + "/my-data", {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "email=" + encodeURIComponent("nobody.here@example.org") });
  assert.equal(other.status, 202);
  assert.equal(await other.text(), await answer.text(), "word for word the same");
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(received(), 1, "no mail for an unknown address");
});

step("the link opens the member's own report once, and nobody else's", async () => {
  await page.goto(server.url + link);
  await page.getByRole("heading", { name: "Your data", level: 1 }).waitFor();
  await audit(page, "open the report");
  await page.getByRole("button", { name: "Show my report" }).click();
  await page.getByRole("heading", { name: "Everything we hold about you", level: 1 }).waitFor();
  const text = await page.locator("body").innerText();
  assert.ok(text.includes("Member0 Surname0"), "the member's name");
  assert.ok(text.includes("browser.member.0@example.org"), "their own address");
  assert.ok(!/browser\.member\.(?!0@)\d+@/.test(text), "no other member's address");
  assert.ok(!/Surname(?!0\b)\d+/.test(text), "no other member's name");
  await page.getByRole("heading", { name: "Who saw your data" }).waitFor();
  await audit(page, "the member's report");
  await rec.snapshot(page, "member", "report");
  // Once: the same link again is refused.
  const again = await fetch(server.url + link, { method: "POST" });
  assert.equal(again.status, 404);
});

step("the member withdraws consent to phone calls from the report", async () => {
  const phone = page.getByLabel("Phone calls from volunteers");
  assert.equal(await phone.isChecked(), true, "they had agreed to calls (the import)");
  await phone.uncheck();
  await page.getByRole("button", { name: "Save my choices" }).click();
  await page.getByRole("status").getByText("Saved").waitFor();
  assert.equal(await page.getByLabel("Phone calls from volunteers").isChecked(), false);
  await audit(page, "choices saved");
});
