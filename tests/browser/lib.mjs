// Helpers for the browser tests: a fresh data directory set up through the
// CLI, the server on port 0, Debian's Chromium through playwright-core, and a
// recorder that keeps everything the browser received so a test can prove no
// member e-mail address or phone number reached it (TARGETS R1).
//
// Only synthetic data: example.org addresses and Ofcom drama numbers
// (07700 900xxx).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
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
// yet (vic), who joins through an invitation link. `secondOwner`: a login
// (with its password) bootstrapped beside alice as a second founding owner,
// who can approve the privileged grants alice makes.
export function setUpDataDir(memberCount = 24, { secondOwner } = {}) {
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
  const founders = ["--to", "alice"];
  if (secondOwner) {
    cli(dir, ["account", "add", secondOwner.login, "--name", secondOwner.name, "--password-stdin"],
      secondOwner.password + "\n");
    founders.push("--and", secondOwner.login);
  }
  cli(dir, ["grant", "bootstrap", ...founders, "--until", "+300d", "--reason", "browser test"]);
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
// error and page snapshot of the contexts it watches, and lists as problems
// what a test must not pass over: uncaught errors and console errors in a
// page, CSP violations, server errors and requests that failed.
//
// Every request of a watched context passes through the recorder: it fetches
// the answer, keeps it, and only then hands it to the page, so no body can
// reach a page unread. (Reading bodies from response events instead loses
// one now and then: Chromium drops a finished response's body when its page
// loads another document, e.g. a 5-second poll that answered just before a
// reload.) A response that did not pass through (a test's own route that
// continues to the network) is read from its response event; one that
// cannot be read there is in `unchecked`, and leaks() reports it, unless it
// has no body to read: a redirect, or a request its page abandoned
// (net::ERR_ABORTED after another document started loading, or after the
// test closed the page). Those are kept in `bodiless` with the reason.
export class Recorder {
  constructor() {
    this.items = [];  // {where, kind, text}
    this.pending = [];
    this.problems = [];  // CSP violations, uncaught and console errors, failed requests, 5xx
    this.checked = 0;  // responses whose headers and body were read
    this.bodiless = [];  // {where, why}: responses that have no body, and why
    this.unchecked = [];  // {where, why}: responses that escaped the check
    this.failed = [];  // requests that failed: classified in settle()
    this.abandoned = new WeakSet();
    this.read = new WeakSet();  // requests whose answers passed through
  }

  async watch(context, who) {
    context.on("page", (page) => this.watchPage(page, who));
    for (const page of context.pages()) this.watchPage(page, who);
    await context.route(() => true, (route) => this.passThrough(route, who));
  }

  async passThrough(route, who) {
    const req = route.request();
    let res;
    let body;
    try {
      // Redirects go to the browser, which follows them through here again.
      res = await route.fetch({ maxRedirects: 0 });
      body = await res.body();
    } catch {
      // No answer (the server is gone, or the page): the page sees a failed
      // request, which the requestfailed handler judges.
      await route.abort().catch(() => {});
      return;
    }
    const where = `${who}: ${req.method()} ${req.url()} -> ${res.status()}`;
    this.items.push({ where, kind: "headers", text: JSON.stringify(res.headers()) });
    this.items.push({ where, kind: "body", text: body.toString("utf8") });
    this.read.add(req);
    this.checked++;
    // Its page may have gone meanwhile; the answer was read all the same.
    await route.fulfill({ response: res, body }).catch(() => {});
  }

  watchPage(page, who) {
    // Document loads of the page's main frame, to tell a request the page
    // abandoned by navigating from one that failed on its own.
    let documents = 0;
    const startedAt = new WeakMap();
    const describe = (req) => `${who}: ${req.method()} ${req.url()}`;
    // Why a request the page gave up is no problem, or null. `closed`: the
    // page was closed when it failed.
    const abandoned = (req, closed) => {
      const f = req.failure();
      if (f && f.errorText === "net::ERR_ABORTED" && documents > startedAt.get(req)) {
        return "abandoned by a navigation";
      }
      return closed ? "abandoned: the test closed its page" : null;
    };
    page.on("request", (req) => {
      if (req.isNavigationRequest() && req.frame() === page.mainFrame()) documents++;
      startedAt.set(req, documents);
    });
    page.on("requestfailed", (req) => {
      const closed = page.isClosed();
      this.failed.push({ req, where: describe(req), verdict: () => abandoned(req, closed), error: req.failure().errorText });
    });
    page.on("response", (res) => {
      const req = res.request();
      const where = `${describe(req)} -> ${res.status()}`;
      if (res.status() >= 500) this.problems.push(`${where}: a server error`);
      if (this.read.has(req)) return;  // read as it passed through
      this.pending.push((async () => {
        const [headers, body] = await Promise.allSettled([res.allHeaders(), res.body()]);
        if (headers.status === "fulfilled") {
          this.items.push({ where, kind: "headers", text: JSON.stringify(headers.value) });
        }
        if (body.status === "fulfilled") {
          this.items.push({ where, kind: "body", text: body.value.toString("utf8") });
        }
        const redirect = res.status() >= 300 && res.status() < 400;
        if (headers.status === "fulfilled" && body.status === "fulfilled") {
          this.checked++;
        } else if (headers.status === "fulfilled" && redirect) {
          this.bodiless.push({ where, why: "a redirect" });
        } else {
          const why = String((body.reason || headers.reason || {}).message || "unreadable").split("\n")[0];
          // Decided once the navigation that may explain it has been seen.
          const closed = page.isClosed();
          this.failed.push({ req, where, verdict: () => abandoned(req, closed), error: why, response: true });
        }
      })());
    });
    page.on("console", (msg) => {
      const text = msg.text();
      this.items.push({ where: `${who}: console.${msg.type()}`, kind: "console", text });
      if (/Content Security Policy|Refused to (execute|load|apply)/i.test(text)) {
        this.problems.push(`${who}: ${text}`);
      } else if (msg.type() === "error" &&
        !/^Failed to load resource: the server responded with a status of [1-4]\d\d /.test(text)) {
        // Chromium logs every 4xx answer as an error; the tests assert those
        // they provoke, and a 5xx is a problem of its own (above).
        this.problems.push(`${who}: console error: ${text}`);
      }
    });
    page.on("pageerror", (e) => {
      this.items.push({ where: `${who}: pageerror`, kind: "console", text: String(e) });
      this.problems.push(`${who}: uncaught ${e}`);
    });
    page.on("crash", () => this.problems.push(`${who}: the page crashed`));
  }

  // The page's HTML now, plus the values of its form fields (which the HTML
  // does not show).
  async snapshot(page, who, label) {
    const html = await page.content();
    const values = await page.evaluate(() =>
      [...document.querySelectorAll("input, textarea, select")].map((e) => e.value).join("\n"));
    this.items.push({ where: `${who}: page at ${label}`, kind: "html", text: html + "\n" + values });
  }

  // Waits for every response read so far, then sorts the failures: a
  // request its page abandoned is expected, anything else is a problem.
  async settle() {
    while (this.pending.length) await Promise.all(this.pending.splice(0));
    for (const f of this.failed.splice(0)) {
      if (this.read.has(f.req)) continue;  // its answer was read before the page lost it
      const why = f.verdict();
      if (why) {
        // Both its response and its failure may be reported: count it once.
        if (this.abandoned.has(f.req)) continue;
        this.abandoned.add(f.req);
        this.bodiless.push({ where: f.where, why });
      } else if (f.response) {
        this.unchecked.push({ where: f.where, why: f.error });
      } else {
        this.problems.push(`${f.where}: the request failed: ${f.error}`);
      }
    }
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
    const found = this.unchecked.map((u) => `${u.where}: not checked, it could not be read: ${u.why}`);
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

// A scenario told as one story: returns step(name, fn). Once a step fails
// the later ones fail at once (not skip) instead of each waiting out its
// timeouts. A step also fails when a page it drove reported a problem
// (Recorder.problems), and a failing step's message lists them, so an error
// in a page is seen in the step where it happened.
export function story(rec) {
  let broken = null;
  return (name, fn) => test(name, async () => {
    if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
    try {
      await fn();
      await rec.settle();
      assert.deepEqual(rec.problems, [], "problems in the pages");
    } catch (e) {
      broken = name;
      if (rec.problems.length) e.message += "\nProblems in the pages:\n" + rec.problems.join("\n");
      throw e;
    }
  });
}
