// Approvers see what they approve (issue 16), in a real browser:
// - the organisation's name is in the header and the tab's title, before
//   signing in too;
// - an officer drafts a message in a named person's name, finding that
//   person by typing part of their name and choosing them with the keyboard
//   (the compose screen's combobox), never by an account number;
// - the person named opens "Messages in your name" and sees the message
//   rendered for a sample member, labelled as a sample, beside its source:
//   the sample name substituted and no "{{" in the rendered pane, the HTML
//   in a sandboxed frame;
// - a caller gets the campaign's script with the member's first name merged
//   in, and their progress names their badge.
// axe-core checks each changed screen; no member e-mail address or phone
// number reaches any browser.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { PASSWORDS, Recorder, cli, launch, setUpDataDir, startServer, story } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const TIMEOUT = 20_000;
const NINA = "nina reads what goes out in her name";
const ORGANISATION = "Example Party";
const SUBJECT = "{{unit_name}} spring meeting, {{first_name}}";
const TEXT = "{{#first_name}}Dear {{first_name}},{{/first_name}}{{^first_name}}Dear member,{{/first_name}}\n\n" +
  "Come to the {{unit_name}} spring meeting.\n\nNina";
const HTML = "<p>Dear {{first_name}},</p><p>Come to the <strong>{{unit_name}}</strong> spring meeting.</p>";
const SCRIPT = "Hello{{#first_name}}, is that {{first_name}}{{/first_name}}? I'm calling from " +
  "{{#unit_name}}the {{unit_name}} branch{{/unit_name}}{{^unit_name}}your local branch{{/unit_name}}.";

let data;
let server;
let browser;
let ninaId;
let messageId;
let campaignId;
let inviteToken;
const pages = {};
const rec = new Recorder();

async function newPage(who) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript({ path: AXE });
  await rec.watch(context, who);
  const page = await context.newPage();
  pages[who] = page;
  return page;
}

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

async function signIn(page, login, password) {
  await page.goto(server.url + "/");
  await page.getByLabel("Login name").fill(login);
  await page.getByLabel("Password").fill(password);
  const done = page.waitForResponse(isApi("POST", /^\/api\/v1\/session$/));
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal((await done).status(), 201, `${login} signs in`);
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

// The app's own API client, in the page: the same session and CSRF handling
// as the screens use.
async function appApi(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const { api } = await import("/app/api.js");
    return api(m, p, b);
  }, [method, path, body]);
}

// axe at a desktop width and at 320 CSS pixels (WCAG 1.4.10).
async function audit(page, screen) {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
    await page.setViewportSize(viewport);
    const violations = await page.evaluate(async (tags) => {
      const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
      return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ` +
        v.nodes.map((n) => n.target.join(" ")).join("\n    "));
    }, TAGS);
    assert.deepEqual(violations, [], `${screen} at ${viewport.width} px: WCAG violations`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

const step = story(rec);

before(async () => {
  data = setUpDataDir();
  const { dir } = data;
  // Nina is a member in E14000530 (the first imported member) with an
  // account of her own, and no grant.
  cli(dir, ["account", "add", "nina", "--name", "Nina Named", "--member", "1", "--password-stdin"], NINA + "\n");
  const accounts = cli(dir, ["account", "list", "--json"]).trim().split("\n").map((l) => JSON.parse(l));
  ninaId = accounts.find((a) => a.login === "nina").id;
  server = await startServer(dir);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("the organisation's name is in the header and the title, before signing in", async () => {
  const page = await newPage("olga");
  await page.goto(server.url + "/");
  await page.locator("header .brand #org-name").getByText(ORGANISATION, { exact: true }).waitFor();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.waitForFunction((org) => document.title.includes(org), ORGANISATION);
  assert.match(await page.title(), new RegExp(`^Sign in - ${ORGANISATION} · Switchboard$`));
});

step("the drafter picks the person a message speaks for by typing part of a name", async () => {
  const page = pages.olga;
  await signIn(page, "olga", PASSWORDS.olga);
  await page.goto(server.url + "/#/email/new");
  await page.getByRole("heading", { name: "New e-mail" }).waitFor();
  await page.getByLabel("Scope").selectOption("E14000530");
  await page.getByLabel("A named person").check();
  const who = page.getByRole("combobox", { name: "The person it speaks for" });
  assert.equal(await who.getAttribute("aria-expanded"), "false");
  // Typed, not pasted: the search follows the keys.
  const searched = page.waitForResponse(isApi("GET", /^\/api\/v1\/messages\/speakers$/));
  await who.pressSequentially("nin");
  const res = await searched;
  assert.equal(res.status(), 200);
  assert.equal(new URL(res.url()).searchParams.get("unit"), "E14000530");
  const listbox = page.getByRole("listbox", { name: "People the message could speak for" });
  await listbox.getByRole("option", { name: "Nina Named" }).waitFor();
  assert.equal(await who.getAttribute("aria-expanded"), "true");
  // Only display names: no account number is shown to choose from.
  assert.doesNotMatch(await listbox.textContent(), /\d/);
  await audit(page, "compose with the speaker list open");
  // The keyboard chooses: Down highlights, Enter picks (and does not submit).
  await who.press("ArrowDown");
  const active = await who.getAttribute("aria-activedescendant");
  assert.ok(active, "a highlighted option");
  assert.equal(await page.locator("#" + active).textContent(), "Nina Named");
  assert.equal(await page.locator("#" + active).getAttribute("aria-selected"), "true");
  await who.press("Enter");
  assert.equal(await who.getAttribute("aria-expanded"), "false");
  assert.equal(await who.inputValue(), "Nina Named");
  await page.getByText("Speaks for Nina Named.").waitFor();

  await page.getByLabel("Campaign", { exact: true }).check();
  await page.getByLabel("Subject").fill(SUBJECT);
  await page.getByLabel("Text", { exact: true }).fill(TEXT);
  await page.getByLabel("HTML version (optional)").fill(HTML);
  const created = page.waitForResponse(isApi("POST", /^\/api\/v1\/messages$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const made = await created;
  assert.equal(made.status(), 201, await made.text());
  const sent = JSON.parse(made.request().postData());
  assert.deepEqual(sent.from, { kind: "person", account: ninaId });
  const m = (await made.json()).message;
  messageId = m.id;
  assert.equal(m.from.name, "Nina Named");
  assert.equal(m.requirements.on_behalf_approval, true);
});

step("a name outside the drafter's scope is not offered", async () => {
  const page = pages.olga;
  await page.goto(server.url + "/#/email/new");
  await page.getByRole("heading", { name: "New e-mail" }).waitFor();
  await page.getByLabel("A named person").check();
  const who = page.getByRole("combobox", { name: "The person it speaks for" });
  const searched = page.waitForResponse(isApi("GET", /^\/api\/v1\/messages\/speakers$/));
  // Alice's grant is over the whole organisation, above Olga's scope.
  await who.pressSequentially("alice");
  assert.equal((await searched).status(), 200);
  await page.getByRole("status").getByText("Nobody by that name in this scope.").waitFor();
  assert.equal(await page.locator("ul[role=listbox] [role=option]").count(), 0);
  // Saving without choosing says what to do, next to the field.
  await page.getByLabel("Subject").fill("x");
  await page.getByLabel("Text", { exact: true }).fill("x");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.locator(".field-error").getByText(/choose them from the list/).waitFor();
  assert.equal(await who.getAttribute("aria-invalid"), "true");
});

step("the approver sees the message rendered for a sample member beside its source", async () => {
  const page = await newPage("nina");
  await signIn(page, "nina", NINA);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Messages in your name" }).click();
  await page.getByRole("heading", { name: "Messages in your name", level: 1 }).waitFor();
  const card = page.locator(`article[data-message="${messageId}"]`);
  await card.waitFor();
  const rendered = card.locator("section.rendered");
  const source = card.locator("section.source");
  // Clearly a sample, with the made-up name and the message's unit.
  const sample = rendered.locator(`#preview-${messageId}-sample`);
  assert.match(await sample.textContent(), /^Sample: first name Alex, unit Aldershot\. A made-up member, never a real one\.$/);
  const text = await rendered.locator(`#preview-${messageId}-text`).textContent();
  assert.ok(text.startsWith("Dear Alex,\n\nCome to the Aldershot spring meeting."), text);
  assert.match(text, /This message was sent by Olga Organiser/);
  assert.equal((await rendered.textContent()).includes("{{"), false, "no merge tag in the rendered pane");
  assert.match(await rendered.textContent(), /Aldershot spring meeting, Alex/, "the subject rendered");
  // The HTML is in a sandboxed frame that runs nothing and loads nothing.
  const frame = rendered.locator(`#preview-${messageId}-html`);
  assert.equal(await frame.getAttribute("sandbox"), "");
  assert.match(await frame.getAttribute("srcdoc"), /default-src 'none'/);
  const inFrame = page.frameLocator(`#preview-${messageId}-html`);
  assert.equal(await inFrame.locator("strong").first().textContent(), "Aldershot");
  assert.equal((await inFrame.locator("body").textContent()).includes("{{"), false);
  assert.equal(await card.locator("strong").count(), 0, "the HTML made no element in the page itself");
  // The source beside it, as written.
  assert.equal(await source.locator(`#source-${messageId}-text`).textContent(), TEXT);
  assert.match(await source.textContent(), /\{\{unit_name\}\} spring meeting, \{\{first_name\}\}/);
  // Side by side on a wide screen, one above the other on a phone.
  const [a, b] = [await rendered.boundingBox(), await source.boundingBox()];
  assert.ok(Math.abs(a.y - b.y) < 2 && b.x > a.x + a.width - 1, "beside each other at 1280 px");
  await audit(page, "messages in your name");
  await rec.snapshot(page, "nina", "inbox");

  const approved = page.waitForResponse(isApi("POST", /^\/api\/v1\/me\/approvals\/\d+$/));
  await card.getByRole("button", { name: "Approve in my name" }).click();
  assert.equal((await approved).status(), 200);
  await page.locator(`article[data-message="${messageId}"]`).getByText("You approved version 1.").waitFor();
});

step("a caller sees the script with the member's first name merged in", async () => {
  const olga = pages.olga;
  const c = await appApi(olga, "POST", "/campaigns", {
    name: "Spring calls", scope: "E14000530", purpose: "invite members to the spring meeting",
    ends_at: "+14d", script: SCRIPT, survey: [],
  });
  campaignId = c.campaign.id;
  assert.equal(c.campaign.script, SCRIPT, "the organiser sees the script as written");
  await appApi(olga, "POST", `/campaigns/${campaignId}/state`, { state: "live" });
  inviteToken = (await appApi(olga, "POST", `/campaigns/${campaignId}/invites`, { label: "spring" })).token;

  const page = await newPage("vic");
  await signIn(page, "vic", PASSWORDS.vic);
  await appApi(page, "POST", "/join/" + encodeURIComponent(inviteToken));
  await page.goto(server.url + "/#/call/" + campaignId);
  const next = page.waitForResponse(isApi("POST", /\/next$/));
  await page.locator("#next").click();
  const res = await next;
  assert.equal(res.status(), 200);
  const first = (await res.json()).contact.first_name;
  assert.match(first, /^Member\d+$/);
  const script = page.locator(".script");
  await script.getByText(`Hello, is that ${first}? I'm calling from the Aldershot branch.`).waitFor();
  assert.equal((await script.textContent()).includes("{"), false, "no merge tag reaches the caller");
  await audit(page, "calling with a merged script");

  await page.getByLabel("Answered: we spoke").check();
  const saved = page.waitForResponse(isApi("POST", /\/outcome$/));
  await page.getByRole("button", { name: "Save outcome" }).click();
  assert.equal((await saved).status(), 200);
  await page.goto(server.url + "/#/progress/" + campaignId);
  await page.getByRole("heading", { name: "Your progress" }).waitFor();
  const badges = await page.locator("ul.badges li").allTextContents();
  assert.deepEqual(badges, ["First call"], "the badge by its name, not its id");
});

test("no member e-mail address or phone number reached a browser", async () => {
  const found = await rec.leaks(data.members);
  assert.deepEqual(found, []);
  assert.ok(rec.checked > 0);
});
