// Helpers for the browser tests: a fresh data directory set up through the
// CLI, the server on port 0, Debian's Chromium through playwright-core, and a
// recorder that keeps everything the browser received so a test can prove no
// member e-mail address or phone number reached it (TARGETS R1).
//
// Only synthetic data: example.org addresses and Ofcom drama numbers
// (07700 900xxx).
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const BIN = process.env.SWITCHBOARD_BIN || "switchboard";
export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";

// Runs the CLI on `dir`; throws with its output unless it exits 0.
export function cli(dir, args, stdin) {
  const p = spawnSync(BIN, [...args, "--data-dir", dir], { input: stdin, encoding: "utf8", timeout: 120_000 });
  if (p.status !== 0) {
    throw new Error(`switchboard ${args.join(" ")} exited ${p.status}\n${p.stdout}\n${p.stderr}`);
  }
  return p.stdout;
}

// RFC 6238 (SHA-1, 6 digits, 30 s), independent of the code under test.
export function totp(secretB32, atSeconds = Date.now() / 1000) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secretB32.toUpperCase().replace(/=+$/, "")) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atSeconds / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

// Members: `count` people in the campaign's unit and a few elsewhere, two of
// them sharing one number. Returns their emails and phones for the R1 check,
// and how many are current, in E14000530 and consent to phone calls.
export function writeMembersCsv(path, count) {
  const units = ["E14000530", "E14000530", "E14000530", "E14000639"];
  const rows = ["member_id,first_name,last_name,email,mobile,postcode,constituency,status,joined," +
    "consent_email,consent_phone"];
  const emails = [];
  const phones = [];
  let audience = 0;
  for (let i = 0; i < count; i++) {
    const email = `browser.member.${i}@example.org`;
    // Members 1 and 2 share a household number.
    const phone = `07700 900${String(100 + (i === 2 ? 1 : i)).padStart(3, "0")}`;
    emails.push(email);
    phones.push(phone);
    const unit = units[i % units.length];
    const status = i % 5 === 4 ? "lapsed" : "current";
    const phoneConsent = i % 7 === 6 ? "no" : "yes";
    if (unit === "E14000530" && status === "current" && phoneConsent === "yes") audience++;
    rows.push([`B${i}`, `Member${i}`, `Surname${i}`, email, phone, "", unit, status,
      `20${10 + (i % 12)}-03-01`, "yes", phoneConsent].join(","));
  }
  writeFileSync(path, rows.join("\n") + "\n");
  return { emails, phones: [...new Set(phones)], audience };
}

export const PASSWORDS = {
  alice: "alice's long test passphrase",
  olga: "olga organises the phone bank",
  vic: "vic volunteers on tuesdays",
};

// Calling hours (09:00-21:00) are read in the organisation's time zone,
// [organisation] time_zone in switchboard.toml. The tests set a fixed-offset
// zone in which it is now about noon, so the real hours check runs and
// passes at any time of day; the server process itself is started in a zone
// where it is about midnight (startServer), which must not matter.
function hoursFromNoon() {
  return 12 - new Date().getUTCHours();  // -11 .. 12
}

export function organisationTimeZone() {
  const offset = hoursFromNoon();
  // IANA's Etc zones use the POSIX sign: Etc/GMT-3 is three hours east of UTC.
  return offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
}

function setTimeZone(dir, zone) {
  const path = join(dir, "switchboard.toml");
  const text = readFileSync(path, "utf8");
  const changed = text.replace(/^time_zone = ".*"$/m, `time_zone = "${zone}"`);
  if (changed === text) throw new Error(`no time_zone setting in ${path}`);
  writeFileSync(path, changed);
}

// A fresh data directory: members, an owner with a second factor (alice),
// an organiser (olga, officer over E14000530) and a volunteer with no grants
// yet (vic), who joins through an invitation link.
export function setUpDataDir(memberCount = 24) {
  const tmp = mkdtempSync(join(tmpdir(), "sb-browser-"));
  const dir = join(tmp, "data");
  cli(dir, ["init"]);
  setTimeZone(dir, organisationTimeZone());
  const csv = join(tmp, "members.csv");
  const members = writeMembersCsv(csv, memberCount);
  cli(dir, ["import", "members", csv, "--unit-column", "constituency", "--json"]);
  cli(dir, ["account", "add", "alice", "--name", "Alice Owner", "--password-stdin"], PASSWORDS.alice + "\n");
  cli(dir, ["account", "add", "olga", "--name", "Olga Organiser", "--password-stdin"], PASSWORDS.olga + "\n");
  cli(dir, ["account", "add", "vic", "--name", "Vic Volunteer", "--password-stdin"], PASSWORDS.vic + "\n");
  cli(dir, ["grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason", "browser test"]);
  const out = cli(dir, ["account", "totp", "alice", "--password-stdin"], PASSWORDS.alice + "\n");
  const secret = out.split("\n").find((l) => l.startsWith("Secret:")).split(/\s+/)[1];
  const recoveryCodes = [...out.matchAll(/^\s+([a-z0-9]{5}-[a-z0-9]{5})\s*$/gm)].map((m) => m[1]);
  cli(dir, ["grant", "add", "--as", "alice", "--password-stdin", "--totp", totp(secret), "--to", "olga",
    "--role", "officer", "--scope", "E14000530", "--purpose", "local phone banks",
    "--reason", "browser test organiser", "--until", "+90d"], PASSWORDS.alice + "\n");
  return { tmp, dir, csv, members, aliceSecret: secret, aliceRecoveryCodes: recoveryCodes, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

// Starts `switchboard serve --port 0`; resolves to {url, stop}.
export function startServer(dir) {
  return new Promise((resolve, reject) => {
    // The process's own zone is about midnight now: calling hours must come
    // from the organisation's zone (setUpDataDir), not from TZ.
    const midnight = ((hoursFromNoon() + 24) % 24) - 12;  // noon's offset + 12, as -12 .. 11
    const tz = `SBT${midnight >= 0 ? "-" : "+"}${Math.abs(midnight)}`;
    const proc = spawn(BIN, ["serve", "--data-dir", dir, "--port", "0"],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TZ: tz } });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + out + err)), 30_000);
    proc.stderr.on("data", (d) => { err += d; });
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          log: () => err,
          stop: () => new Promise((done) => {
            if (proc.exitCode !== null) return done(proc.exitCode);
            proc.once("exit", (code) => done(code));
            proc.kill("SIGTERM");
          }),
        });
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited ${code}:\n${out}${err}`));
    });
  });
}

// Debian's Chromium, headless. A missing browser is a failure, not a skip.
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (make setup) or set CHROMIUM_BIN`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

// Keeps every response (URL, status, headers, body), console message, page
// error and page snapshot of the contexts it watches.
export class Recorder {
  constructor() {
    this.items = [];  // {where, kind, text}
    this.pending = [];
    this.problems = [];  // CSP violations and uncaught errors
  }

  watch(context, who) {
    context.on("page", (page) => this.watchPage(page, who));
    for (const page of context.pages()) this.watchPage(page, who);
  }

  watchPage(page, who) {
    page.on("response", (res) => {
      this.pending.push((async () => {
        const where = `${who}: ${res.request().method()} ${res.url()} -> ${res.status()}`;
        const headers = await res.allHeaders().catch(() => ({}));
        this.items.push({ where, kind: "headers", text: JSON.stringify(headers) });
        const body = await res.body().catch(() => null);
        if (body) this.items.push({ where, kind: "body", text: body.toString("utf8") });
      })());
    });
    page.on("console", (msg) => {
      const text = msg.text();
      this.items.push({ where: `${who}: console.${msg.type()}`, kind: "console", text });
      if (/Content Security Policy|Refused to (execute|load|apply)/i.test(text)) this.problems.push(`${who}: ${text}`);
    });
    page.on("pageerror", (e) => {
      this.items.push({ where: `${who}: pageerror`, kind: "console", text: String(e) });
      this.problems.push(`${who}: uncaught ${e}`);
    });
  }

  // The page's HTML now, plus the values of its form fields (which the HTML
  // does not show).
  async snapshot(page, who, label) {
    const html = await page.content();
    const values = await page.evaluate(() =>
      [...document.querySelectorAll("input, textarea, select")].map((e) => e.value).join("\n"));
    this.items.push({ where: `${who}: page at ${label}`, kind: "html", text: html + "\n" + values });
  }

  async settle() {
    while (this.pending.length) await Promise.all(this.pending.splice(0));
  }

  // Every place a member e-mail address or phone number appears; `allowed`
  // are numbers that may appear (the volunteer's own phone, which they typed).
  async leaks({ emails, phones }, allowed = []) {
    await this.settle();
    const digits = (p) => p.replace(/\D/g, "").replace(/^0/, "");  // national number, "7700900123"
    const allowedDigits = new Set(allowed.map(digits));
    const needles = [];
    for (const e of emails) needles.push([e.toLowerCase(), e]);
    for (const p of phones) {
      const n = digits(p);
      needles.push([n, p], [n.slice(0, 4) + " " + n.slice(4), p], [n.slice(0, 4) + "-" + n.slice(4), p]);
    }
    const generic = [
      [/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, "an e-mail address"],
      [/(?:\+44\s?\(?0?\)?\s?|\b0)7\d{3}[\s-]?\d{3}[\s-]?\d{3}\b/g, "a UK mobile number"],
      [/\b447\d{9}\b/g, "a UK mobile number without +"],
    ];
    const found = [];
    for (const item of this.items) {
      const lower = item.text.toLowerCase();
      for (const [needle, what] of needles) {
        if (lower.includes(needle)) found.push(`${item.where} [${item.kind}] contains member data ${what}`);
      }
      for (const [re, what] of generic) {
        for (const m of item.text.matchAll(re)) {
          if (allowedDigits.has(digits(m[0]))) continue;
          found.push(`${item.where} [${item.kind}] contains ${what}: ${m[0]}`);
        }
      }
    }
    return found;
  }
}
