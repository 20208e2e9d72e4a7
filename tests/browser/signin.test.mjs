// The web app is served by the binary and signing in works in a real
// browser, with a second factor, under the server's Content-Security-Policy,
// and nothing the browser receives contains a member's contact details.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, test } from "node:test";
import { PASSWORDS, Recorder, launch, setUpDataDir, startServer, totp } from "./lib.mjs";

let data;
let server;
let browser;
const rec = new Recorder();

before(async () => {
  data = setUpDataDir();
  server = await startServer(data.dir);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

test("the app's files are served with their types and the CSP", async () => {
  for (const [path, type] of [["/", "text/html"], ["/join/anything", "text/html"],
    ["/app/app.js", "text/javascript"], ["/app/app.css", "text/css"], ["/app/icon.svg", "image/svg+xml"]]) {
    const res = await fetch(server.url + path);
    assert.equal(res.status, 200, path);
    assert.ok(res.headers.get("content-type").startsWith(type), path);
    assert.match(res.headers.get("content-security-policy"), /default-src 'self'/, path);
    assert.equal(res.headers.get("cache-control"), "no-store", path);
  }
  assert.equal((await fetch(server.url + "/app/missing.js")).status, 404);
});

test("sign in with a second factor, then sign out", async () => {
  const context = await browser.newContext();
  await rec.watch(context, "alice");
  const page = await context.newPage();
  await page.goto(server.url + "/");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  // Focus starts in the first field; the skip link comes first in the tab order.
  assert.equal(await page.evaluate(() => document.activeElement.name), "login");
  assert.equal(await page.evaluate(() =>
    document.querySelector("a[href], button, input, select, textarea").textContent), "Skip to content");

  await page.getByLabel("Login name").fill("alice");
  await page.getByLabel("Password").fill("not the right password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /password/i);

  await page.getByLabel("Password").fill(PASSWORDS.alice);
  const asked = page.waitForResponse((r) => r.url().endsWith("/api/v1/session") && r.status() === 401);
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal((await (await asked).json()).error.code, "second_factor_required");
  const code = page.getByLabel("Code from your authenticator app");
  await code.waitFor();
  // The set-up used the current step's code for a grant; a code works once,
  // so take the next step's (inside the server's one-step window).
  await code.fill(totp(data.aliceSecret, Date.now() / 1000 + 30));
  const signedIn = page.waitForResponse((r) => r.url().endsWith("/api/v1/session") &&
    r.request().method() === "POST" && r.status() === 201);
  await page.getByRole("button", { name: "Continue" }).click();
  await signedIn;
  await page.getByText("Signed in as Alice Owner").waitFor();
  await page.getByRole("heading", { name: "Your campaigns" }).waitFor();
  await rec.snapshot(page, "alice", "signed in");

  // The session cookie is HttpOnly; the CSRF token lives in this tab only.
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /sb_session/);
  assert.ok(await page.evaluate(() => sessionStorage.getItem("switchboard.csrf")));

  // An invitation link opens the app, which asks whoever is not signed in to sign in.
  const other = await context.browser().newContext();
  await rec.watch(other, "anonymous");
  const anon = await other.newPage();
  await anon.goto(server.url + "/join/not-a-real-token");
  await anon.getByRole("heading", { name: "Sign in to join this campaign" }).waitFor();
  await rec.snapshot(anon, "anonymous", "join link");
  await rec.settle();  // every response read before its page goes
  await other.close();

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("switchboard.csrf")), null);
  const res = await page.request.get(server.url + "/api/v1/session");
  assert.equal(res.status(), 401, "the session ended on the server");
  await rec.snapshot(page, "alice", "signed out");
  await rec.settle();
  await context.close();
});

// Failures provoked on purpose, so this page is not recorded (the recorder
// would count them as problems); its uncaught errors still fail the test.
test("a request that fails, or answers what the page cannot read, is shown, not swallowed", async () => {
  const context = await browser.newContext();
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill("olga");
  await page.getByLabel("Password").fill(PASSWORDS.olga);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your campaigns" }).waitFor();
  const api = (path) => (url) => url.pathname === "/api/v1" + path;

  // The calling screen works without its campaign's name, and says why it is missing.
  await page.route(api("/campaigns"), (route) => route.abort("connectionrefused"));
  await page.goto(server.url + "/#/call/1");
  await page.getByRole("heading", { name: "Calling", exact: true }).waitFor();
  await page.locator("#call-errors").getByRole("alert").getByText(/Cannot reach Switchboard/).waitFor();

  // A success whose body is not JSON is no success.
  await page.route(api("/me/approvals"), (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<html>a proxy's page</html>" }));
  await page.goto(server.url + "/#/approvals");
  await page.getByRole("alert").getByText(/answer could not be read/).waitFor();
  assert.equal(await page.getByText("Nothing is waiting for your approval.").count(), 0);

  // Signing out while the server cannot be reached: signed out here, and told so.
  await page.route(api("/session"), (route) =>
    (route.request().method() === "DELETE" ? route.abort("connectionrefused") : route.continue()));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByRole("alert").getByText(/could not end the session/).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("switchboard.csrf")), null);
  assert.equal((await page.request.get(server.url + "/api/v1/session")).status(), 200,
    "the session is still open on the server, as the page says");
  await context.close();
  assert.deepEqual(errors, []);
});

test("no member e-mail address or phone number reached the browser", async () => {
  const leaks = await rec.leaks(data.members);
  assert.deepEqual(rec.problems, [], "problems in the pages");
  assert.deepEqual(leaks, []);
  assert.ok(rec.checked > 10, "the recorder read the session's responses");
  // And the check would notice a leak, in any of the forms a number takes.
  const probe = new Recorder();
  const phone = data.members.phones[3].replace(/\D/g, "");
  for (const text of ["+44" + phone.slice(1), phone, data.members.emails[5].toUpperCase()]) {
    probe.items = [{ where: "probe", kind: "body", text: `{"x":"${text}"}` }];
    assert.notDeepEqual(await probe.leaks(data.members), [], text);
  }
});

// A stand-in for a Playwright page, to drive the recorder through the cases
// a real browser produces only by chance.
class FakePage extends EventEmitter {
  constructor() {
    super();
    this.frame = {};
    this.closed = false;
  }

  mainFrame() { return this.frame; }

  isClosed() { return this.closed; }

  request(url, { navigation = false, failure = null } = {}) {
    const req = { method: () => "GET", url: () => url, isNavigationRequest: () => navigation,
      frame: () => this.frame, failure: () => failure };
    this.emit("request", req);
    return req;
  }

  respond(req, status, body) {
    this.emit("response", { request: () => req, status: () => status, url: () => req.url(),
      allHeaders: async () => ({ "content-type": "application/json" }), body });
  }
}

test("a response the recorder cannot read fails the check, unless it has no body to read", async () => {
  const rec = new Recorder();
  const page = new FakePage();
  rec.watchPage(page, "fake");
  const unreadable = async () => { throw new Error("No resource with given identifier found"); };
  page.respond(page.request("http://127.0.0.1/api/v1/ok"), 200, async () => Buffer.from("{}"));
  page.respond(page.request("http://127.0.0.1/api/v1/lost"), 200, unreadable);
  page.respond(page.request("http://127.0.0.1/old"), 302, unreadable);
  // A poll its page abandoned by loading another document.
  const poll = page.request("http://127.0.0.1/api/v1/calls/1", { failure: { errorText: "net::ERR_ABORTED" } });
  page.request("http://127.0.0.1/", { navigation: true });
  page.respond(poll, 200, unreadable);
  page.emit("requestfailed", poll);
  // Aborted with no navigation to explain it, and a failure on the network.
  const cut = page.request("http://127.0.0.1/api/v1/cut", { failure: { errorText: "net::ERR_ABORTED" } });
  page.respond(cut, 200, unreadable);
  page.emit("requestfailed", page.request("http://127.0.0.1/api/v1/gone",
    { failure: { errorText: "net::ERR_CONNECTION_REFUSED" } }));
  page.emit("console", { type: () => "error", text: () => "TypeError: x is null" });
  page.emit("console", { type: () => "error",
    text: () => "Failed to load resource: the server responded with a status of 403 (Forbidden)" });
  page.respond(page.request("http://127.0.0.1/api/v1/boom"), 500, async () => Buffer.from("{}"));
  // Passed through the recorder, then lost by its page: read all the same.
  const through = page.request("http://127.0.0.1/api/v1/progress", { failure: { errorText: "net::ERR_ABORTED" } });
  await rec.passThrough({
    request: () => through,
    fetch: async () => ({ status: () => 200, headers: () => ({}), body: async () => Buffer.from('{"x":"passed"}') }),
    fulfill: async () => { throw new Error("Target page, context or browser has been closed"); },
    abort: async () => {},
  }, "fake");
  page.respond(through, 200, unreadable);
  page.emit("requestfailed", through);
  await rec.settle();
  // A request cut short because the test closed the page.
  page.closed = true;
  page.emit("requestfailed", page.request("http://127.0.0.1/api/v1/closing",
    { failure: { errorText: "net::ERR_ABORTED" } }));

  const leaks = await rec.leaks({ emails: [], phones: [] });
  assert.deepEqual(leaks.map((l) => l.split(" -> ")[0]),
    ["fake: GET http://127.0.0.1/api/v1/lost", "fake: GET http://127.0.0.1/api/v1/cut"]);
  assert.ok(leaks.every((l) => /not checked/.test(l)), leaks.join("\n"));
  assert.deepEqual(rec.bodiless.map((b) => b.why).sort(),
    ["a redirect", "abandoned by a navigation", "abandoned: the test closed its page"]);
  assert.equal(rec.checked, 3);  // /ok, /boom and /progress
  assert.ok(rec.items.some((i) => i.kind === "body" && i.text === '{"x":"passed"}'));
  assert.equal(rec.problems.length, 3, rec.problems.join("\n"));
  assert.match(rec.problems.join("\n"), /api\/v1\/boom -> 500: a server error/);
  assert.match(rec.problems.join("\n"), /console error: TypeError/);
  assert.match(rec.problems.join("\n"), /gone: the request failed: net::ERR_CONNECTION_REFUSED/);
});

// Call scripts are a Markdown subset rendered in the caller's browser; the
// renderer reads line by line and never recurses, so even input a million
// levels "deep" renders (the server already caps scripts at 20,000 characters).
test("the script renderer takes input a million levels deep without recursing", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + "/");
  const results = await page.evaluate(async () => {
    const { renderMarkdown } = await import("/app/markdown.js");
    const n = 1_000_000;
    const cases = {
      lists: "- ".repeat(n) + "x",
      numbered: "1. ".repeat(n) + "x",
      headings: "#".repeat(n) + " x",
      emphasis: "*".repeat(n) + "x" + "*".repeat(n),
      underscores: "_".repeat(n) + "x",
      bold: "**a** ".repeat(n / 10),
      lines: "- a\n".repeat(n / 10),
    };
    const out = {};
    for (const [name, text] of Object.entries(cases)) {
      const el = renderMarkdown(text);
      out[name] = { elements: el.querySelectorAll("*").length, text: el.textContent.length };
    }
    return out;
  });
  await context.close();
  assert.deepEqual(results.lists, { elements: 2, text: 2 * 1_000_000 - 1 });  // one list item
  assert.equal(results.numbered.elements, 2);
  assert.equal(results.headings.elements, 1);  // a paragraph: not a heading of level 10^6
  assert.equal(results.bold.elements, 1 + 100_000);  // a paragraph and its <strong>s
  assert.deepEqual(results.lines, { elements: 1 + 100_000, text: 100_000 });
  for (const name of ["emphasis", "underscores"]) assert.ok(results[name].text > 0, name);
});
