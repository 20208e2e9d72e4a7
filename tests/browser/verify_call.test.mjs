// A volunteer registers their own phone with real calls ([telephony]
// connector = "sip", docs/telephony.md "Verifying a caller's phone"): the
// screen shows the code and says the platform is calling; SIPp on loopback is
// the phone behind the trunk and keys the code shown (as SIP INFO); the
// screen follows the call until the phone is registered.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { BIN, Recorder, launch, startServer, story } from "./lib.mjs";

const SOURCE = process.env.SB_SOURCE_DIR || join(process.cwd(), "..", "..");
const PHONE = "07700 900555";  // the volunteer's own, typed by them
const TIMEOUT = 30_000;

let tmp;
let server;
let browser;
let page;
let sipp;
let login;
let password;
const rec = new Recorder();
const step = story(rec);

// `switchboard demo` makes a data directory with a live campaign the demo
// volunteer has joined; it serves at once, so it is stopped once it has.
function demoDataDir(dir) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ["demo", "--data-dir", dir, "--count", "30", "--port", "0"],
      { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      if (/serving on http/.test(out)) proc.kill("SIGTERM");
    });
    proc.once("exit", () => {
      const m = /volunteer: login (\S+)\s+password (\S+)/.exec(out);
      if (!m) return reject(new Error("demo printed no volunteer:\n" + out));
      resolve({ login: m[1], password: m[2] });
    });
  });
}

function freeUdpPort() {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// [telephony] of switchboard.toml set to the SIP connector and the trunk.
function useSipTrunk(dir, port) {
  const path = join(dir, "switchboard.toml");
  const [head, rest] = readFileSync(path, "utf8").split("[telephony]\n");
  const end = rest.indexOf("\n[");
  let section = end < 0 ? rest : rest.slice(0, end + 1);
  const tail = end < 0 ? "" : rest.slice(end + 1);
  for (const [key, value] of [["connector", '"sip"'], ["trunk_uri", `"sip:127.0.0.1:${port}"`],
    ["caller_id", '"+441632960000"'], ["port", "0"]]) {
    const re = new RegExp(`^${key} = .*$`, "m");
    assert.match(section, re, key);
    section = section.replace(re, `${key} = ${value}`);
  }
  writeFileSync(path, head + "[telephony]\n" + section + tail);
}

// tests/telephony/verify.xml keying `keys` as SIP INFO requests.
function infoScenario(keys, dir) {
  const text = readFileSync(join(SOURCE, "tests", "telephony", "verify.xml"), "utf8");
  const steps = [...keys].map((k, i) => `<send retrans="500"><![CDATA[

      INFO [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$to_hdr];tag=[pid]SIPpTag01[call_number]
      To: [$from_hdr]
      [last_Call-ID:]
      CSeq: ${i + 2} INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=${k}
      Duration=160
]]></send>
<recv response="200"/>
`).join("");
  assert.ok(text.includes("<!-- KEYS -->"));
  const path = join(dir, "verify-info.xml");
  writeFileSync(path, text.replace("<!-- KEYS -->", steps));
  return path;
}

let sippPort;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "sb-browser-verify-"));
  const dir = join(tmp, "data");
  ({ login, password } = await demoDataDir(dir));
  sippPort = await freeUdpPort();
  useSipTrunk(dir, sippPort);
  server = await startServer(dir);
  browser = await launch();
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await rec.watch(context, "volunteer");
  page = await context.newPage();
});

after(async () => {
  if (sipp && sipp.exitCode === null) sipp.kill("SIGKILL");
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

step("the volunteer is called and keys the code the screen shows", async () => {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill(login);
  await page.getByLabel("Password").fill(password);
  const signedIn = page.waitForResponse((r) => r.url().endsWith("/api/v1/session") &&
    r.request().method() === "POST");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal((await signedIn).status(), 201, "the volunteer signs in");
  const campaigns = await page.evaluate(async () => (await (await fetch("/api/v1/campaigns")).json()));
  const id = campaigns.campaigns[0].id;
  await page.goto(`${server.url}/#/call/${id}`);
  await page.getByText("Your phone", { exact: true }).click();
  await page.getByLabel("Your phone number").fill(PHONE);
  await page.getByRole("button", { name: "Send a code" }).click();
  const instructions = page.locator("#endpoint-instructions");
  await instructions.waitFor();
  const said = await instructions.textContent();
  const m = /^We are calling 07700 900555 now\. Answer and key (\d(?: \d){5}) on your phone's keypad\.$/
    .exec(said);
  assert.ok(m, said);
  // Nothing was typed back: the phone answers the INVITE's retransmission
  // and keys what the screen shows.
  sipp = spawn("sipp", ["-sf", infoScenario(m[1].replaceAll(" ", ""), tmp), "-i", "127.0.0.1",
    "-p", String(sippPort), "-t", "u1", "-m", "1", "-nostdin", "-timeout", "60s",
    "-timeout_error", "-set", "phone", "keys"], { stdio: "ignore" });
  await page.locator("#endpoint-ok").waitFor();
  assert.equal(await page.locator("#endpoint-ok").textContent(), "Your phone is registered.");
  const code = await new Promise((resolve) => {
    if (sipp.exitCode !== null) resolve(sipp.exitCode);
    else sipp.once("exit", (c) => resolve(c));
  });
  assert.equal(code, 0, "SIPp's phone followed its scenario");
});
