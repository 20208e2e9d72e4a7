// The phone bank end to end in a real browser: an organiser creates a
// campaign, sees its audience, invites volunteers and later pauses it; a
// volunteer signs in from the invitation link, joins, registers a phone,
// makes three simulated calls with outcomes and survey answers, sees their
// progress, and after the pause gets a clear refusal. Everything the
// browsers receive is recorded, and no member e-mail address or phone number
// may appear in any of it (TARGETS R1).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PASSWORDS, Recorder, launch, organisationTimeZone, setUpDataDir, startServer, story } from "./lib.mjs";

// The volunteer's own phone (they type it): the one number allowed on screen.
const VOLUNTEER_PHONE = "07700 900999";
const CAMPAIGN = "Spring check-in";
const TIMEOUT = 20_000;

let data;
let server;
let browser;
let organiser;  // page
let volunteer;  // page
let campaignId;
let inviteUrl;
const rec = new Recorder();

async function signIn(page, login) {
  await page.getByLabel("Login name").fill(login);
  await page.getByLabel("Password").fill(PASSWORDS[login]);
  const done = page.waitForResponse((r) => r.url().endsWith("/api/v1/session") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal((await done).status(), 201, `${login} signs in`);
}

async function newPage(who) {
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await rec.watch(context, who);
  return context.newPage();
}

// One story: a failed step fails the later ones at once. The R1 check always runs.
const step = story(rec);

function isApi(method, pathRe) {
  return (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname);
}

before(async () => {
  data = setUpDataDir();
  server = await startServer(data.dir);
  browser = await launch();
  organiser = await newPage("organiser");
  volunteer = await newPage("volunteer");
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (data) data.cleanup();
});

step("the organiser creates a campaign and sees its audience", async () => {
  const page = organiser;
  await page.goto(server.url + "/");
  await signIn(page, "olga");
  await page.getByRole("link", { name: "New campaign" }).click();
  await page.getByRole("heading", { name: "New campaign" }).waitFor();
  await page.getByLabel("Campaign name").fill(CAMPAIGN);
  await page.getByLabel("Scope").selectOption("E14000530");
  await page.getByLabel("Purpose").fill("Ask members how the branch can help them this spring.");
  await page.getByLabel("Script").fill([
    "# Hello",
    "Hi, I'm calling from your **local branch**.",
    "<img src=x id=injected> is shown as text, never as markup.",
    "- Ask how they are",
    "- Ask the survey questions",
  ].join("\n"));
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 1").fill("Can we count on your support?");
  await page.getByRole("button", { name: "Add a question" }).click();
  await page.getByLabel("Question 2").fill("Anything else the branch should know?");
  await page.locator("#survey-editor .card").nth(1).getByLabel("Answer type").selectOption("text");
  // The audience is counted before the draft exists.
  await page.locator("#audience-count").getByText(`Audience: ${data.members.audience} members`).waitFor();

  // Who may join: the settings carry the eligibility rules to the server.
  const nonMembers = "People who are not members may sign up with an e-mail address of their own";
  assert.equal(await page.getByLabel(nonMembers).isChecked(), false, "off by default");
  await page.getByLabel(nonMembers).check();
  const created = page.waitForResponse(isApi("POST", /^\/api\/v1\/campaigns$/));
  await page.getByRole("button", { name: "Save draft" }).click();
  const res = await created;
  assert.equal(res.status(), 201, await res.text());
  const saved = (await res.json()).campaign;
  campaignId = saved.id;
  assert.equal(saved.eligibility.non_members_may_sign_up, true);
  assert.equal(saved.eligibility.members_in_scope_only, false);
  await page.getByRole("heading", { name: CAMPAIGN, level: 1 }).waitFor();
  assert.equal(await page.getByLabel(nonMembers).isChecked(), true, "the draft shows what was saved");
  await page.locator("#audience-count").getByText(/Audience: \d+ members?/).waitFor();
  const count = Number((await page.locator("#audience-count").textContent()).replace(/\D/g, ""));
  assert.equal(count, data.members.audience, "current members in E14000530 who agreed to phone calls");

  // The count follows the audience as it is edited.
  const recount = page.waitForResponse(isApi("POST", /\/audience-count$/));
  await page.getByLabel("Lapsed", { exact: true }).check();
  const after = await (await recount).json();
  assert.ok(after.count > count, "adding lapsed members widens the audience");
  await page.locator("#audience-count").getByText(`Audience: ${after.count} members`).waitFor();
  // Narrowing by a date range the synthetic members all fall outside of.
  const narrowed = page.waitForResponse(isApi("POST", /\/audience-count$/));
  await page.getByRole("group", { name: "Joined (optional)" }).getByLabel("Before").fill("2005-01-01");
  assert.equal((await (await narrowed).json()).count, 0);
  await page.getByRole("group", { name: "Joined (optional)" }).getByLabel("Before").fill("");
  await page.locator("#audience-count").getByText(`Audience: ${after.count} members`).waitFor();
  // Calling hours are the organisation's (switchboard.toml), not the server process's.
  await page.getByRole("group", { name: `Calling hours (${organisationTimeZone()} time)` }).waitFor();
  await rec.snapshot(page, "organiser", "campaign draft");

  await page.getByRole("button", { name: "Go live" }).click();
  await page.locator("#campaign-state").getByText("Live").waitFor();
});

step("the organiser creates an invitation link", async () => {
  const page = organiser;
  // A live campaign opens on its progress; invitations are a view of their own.
  await page.getByRole("link", { name: "Invitations", exact: true }).click();
  await page.waitForURL(/#\/organise\/\d+\/invitations$/);
  await page.getByLabel("Label", { exact: true }).fill("Tuesday volunteers");
  const made = page.waitForResponse(isApi("POST", /\/invites$/));
  await page.getByRole("button", { name: "Create invitation link" }).click();
  assert.equal((await made).status(), 201);
  inviteUrl = await page.locator("#invite-url").inputValue();
  assert.match(inviteUrl, new RegExp("^" + server.url.replace(/[.]/g, "\\.") + "/join/[^/]+$"));
  await page.locator("#invite-list").getByRole("heading", { name: "Tuesday volunteers" }).waitFor();
  await rec.snapshot(page, "organiser", "invitation");
});

step("a volunteer signs in from the link and joins", async () => {
  const page = volunteer;
  await page.goto(inviteUrl);
  await page.getByRole("heading", { name: "Sign in to join this campaign" }).waitFor();
  await signIn(page, "vic");
  await page.getByRole("heading", { name: "Join " + CAMPAIGN }).waitFor();
  await page.getByText("Ask members how the branch can help them this spring.").waitFor();
  const joined = page.waitForResponse(isApi("POST", /^\/api\/v1\/join\//));
  await page.getByRole("button", { name: "Join" }).click();
  assert.equal((await joined).status(), 201);
  await rec.snapshot(page, "volunteer", "joined");
  await page.getByRole("link", { name: "Start calling" }).click();
  await page.getByRole("heading", { name: "Calling for " + CAMPAIGN }).waitFor();
  await page.getByText("Practice mode: calls are simulated").waitFor();
});

step("the volunteer registers their own phone with the simulator's code", async () => {
  const page = volunteer;
  await page.getByText("Your phone", { exact: true }).click();
  await page.getByLabel("Your phone number").fill(VOLUNTEER_PHONE);
  await page.getByRole("button", { name: "Send a code" }).click();
  const sandbox = page.locator("#sandbox-code");
  await sandbox.waitFor();
  assert.match(await sandbox.textContent(), /^Simulator:/);
  const code = /(\d{4,8})\.?$/.exec(await sandbox.textContent())[1];
  await page.getByLabel("Verification code").fill(code);
  await page.getByRole("button", { name: "Confirm my phone" }).click();
  await page.locator("#endpoint-ok").waitFor();
});

step("the volunteer makes three calls and records outcomes and answers", async () => {
  const page = volunteer;
  const outcomes = [
    ["Answered: we spoke", { support: "Yes", note: "Would like to help at the next event." }],
    ["No answer", null],
    ["Answered: we spoke", { support: "No", note: "" }],
  ];
  for (const [i, [outcome, answers]] of outcomes.entries()) {
    const next = page.waitForResponse(isApi("POST", /\/next$/));
    await page.locator("#next").click();
    assert.equal((await next).status(), 200, `call ${i + 1}: a member is assigned`);
    await page.getByRole("heading", { name: "Who you are calling" }).waitFor();
    // Only the allowed fields are shown.
    const labels = await page.locator(".contact dt").allTextContents();
    assert.ok(labels.length > 0, "the contact card shows something");
    for (const l of labels) assert.ok(["First name", "Member for", "Branch"].includes(l), l);
    // The script is text: the markup in it was not turned into an element.
    assert.equal(await page.locator(".script img, #injected").count(), 0);
    await page.locator(".script").getByText("<img src=x id=injected> is shown as text").waitFor();
    assert.equal(await page.locator(".script strong").first().textContent(), "local branch");

    const connect = page.waitForResponse(isApi("POST", /\/connect$/));
    await page.getByRole("button", { name: "Connect" }).click();
    assert.equal((await connect).status(), 201, `call ${i + 1}: connected`);
    await page.locator("#call-status").getByText(/Ringing your phone|You answered|Connected|ended/).waitFor();
    await rec.snapshot(page, "volunteer", `call ${i + 1}`);

    await page.getByLabel(outcome).check();
    if (answers) {
      await page.getByRole("group", { name: "Can we count on your support?" }).getByLabel(answers.support, { exact: true }).check();
      if (answers.note) await page.getByLabel("Anything else the branch should know?").fill(answers.note);
    }
    const saved = page.waitForResponse(isApi("POST", /\/outcome$/));
    await page.getByRole("button", { name: "Save outcome" }).click();
    const res = await saved;
    assert.equal(res.status(), 200, `call ${i + 1}: ${await res.text()}`);
    const body = JSON.parse(res.request().postData());
    assert.equal(body.outcome, outcome === "No answer" ? "no_answer" : "answered");
    if (answers) assert.equal(Object.values(body.answers).includes(answers.support === "Yes"), true);
    await page.locator("#saved").waitFor();
  }
});

step("the volunteer sees their progress", async () => {
  const page = volunteer;
  await page.getByRole("link", { name: "Your progress" }).click();
  await page.getByRole("heading", { name: "Your progress" }).waitFor();
  const calls = page.locator(".stats .card").filter({ hasText: "Calls" }).locator(".big");
  assert.equal(await calls.textContent(), "3");
  await rec.snapshot(page, "volunteer", "progress");
});

// The simulator's timeline is decided by the call id's last digit
// (docs/phonebank.md, "The sandbox connector"): 4, the caller's own phone
// does not answer; 3, 7 and 9, the member does not or is busy.
step("the volunteer follows a call from ringing to connected and hangs up", async () => {
  const page = volunteer;
  await page.goto(server.url + "/#/call/" + encodeURIComponent(campaignId));
  await page.getByRole("heading", { name: "Calling for " + CAMPAIGN }).waitFor();
  const connectNext = async () => {
    let status = 0;
    for (let tries = 0; status !== 200 && tries < 3; ++tries) {
      // After the burst the pace applies: the screen enables the button
      // again at the time the server gave (Retry-After).
      await page.locator("#next:enabled").waitFor({ timeout: 60_000 });
      const next = page.waitForResponse(isApi("POST", /\/next$/));
      await page.locator("#next").click();
      const res = await next;
      status = res.status();
      assert.ok(status === 200 || status === 429, `next: ${status}`);
      if (status === 429) {
        // retry_at is to the second: wait until it has surely passed.
        const at = Date.parse((await res.json()).error.retry_at) + 1000;
        await page.waitForFunction((t) => Date.now() > t, at, { timeout: 60_000 });
      }
    }
    assert.equal(status, 200);
    const connect = page.waitForResponse(isApi("POST", /\/connect$/));
    await page.getByRole("button", { name: "Connect" }).click();
    const res = await connect;
    assert.equal(res.status(), 201);
    return (await res.json()).call.id;
  };
  let id = await connectNext();
  if (id % 10 === 4) {
    // The caller's own phone does not answer: said plainly, and the member
    // goes back untried.
    await page.locator("#call-status").getByText("Your phone did not answer").waitFor();
    assert.match(await page.locator("#call-status").textContent(), /no try was counted/);
    assert.equal(await page.locator("form.outcome").isHidden(), true, "no outcome to record");
    await rec.snapshot(page, "volunteer", "caller did not answer");
    id = await connectNext();
  }
  assert.ok(![3, 4, 7, 9].includes(id % 10), `call ${id} would not connect in the simulator`);
  const current = page.locator("#call-progress li[aria-current=step]");
  await current.getByText("Ringing your phone").or(current.getByText("Ringing the member")).waitFor();
  await current.getByText("Ringing the member").waitFor();
  await current.getByText("Connected").waitFor();
  await page.locator("#call-status").getByText("You are talking to the member").waitFor();
  await rec.snapshot(page, "volunteer", "connected");
  const hungUp = page.waitForResponse(isApi("POST", /\/calls\/\d+\/hangup$/));
  await page.getByRole("button", { name: "Hang up" }).click();
  const res = await hungUp;
  assert.equal(res.status(), 200, await res.text());
  assert.equal((await res.json()).call.end, "completed");
  await current.getByText("Ended").waitFor();
  await page.locator("#call-status").getByText(/The call has ended\. It lasted \d+ seconds?\./).waitFor();
  assert.equal(await page.getByRole("button", { name: "Hang up" }).isHidden(), true);
  // Leaves the calling screen (the contact stays leased, no outcome recorded).
  await page.goto(server.url + "/#/");
});

step("the organiser changes the live campaign's script, and only that", async () => {
  const page = organiser;
  await page.reload();
  await page.getByRole("heading", { name: CAMPAIGN, level: 1 }).waitFor();
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  assert.equal(await page.getByLabel("Campaign name").isDisabled(), true);
  assert.equal(await page.getByLabel("Lapsed", { exact: true }).isDisabled(), true);
  await page.getByLabel("Script").fill("# Hello\nHi, I'm calling from your **local branch** about the spring social.");
  const saved = page.waitForResponse(isApi("PATCH", /^\/api\/v1\/campaigns\/\d+$/));
  await page.getByRole("button", { name: "Save live changes" }).click();
  const res = await saved;
  assert.equal(res.status(), 200, await res.text());
  const body = await res.json();
  assert.deepEqual(body.changed, ["script"]);
  assert.equal(body.campaign.version, 2);
  await page.locator("dt", { hasText: "Version" }).locator("xpath=following-sibling::dd[1]")
    .getByText("2", { exact: true }).waitFor();
});

step("the organiser sees who joined and the progress, and pauses the campaign", async () => {
  const page = organiser;
  await page.reload();
  await page.getByRole("heading", { name: CAMPAIGN, level: 1 }).waitFor();
  // The reload kept the settings view.
  await page.getByLabel("Script").waitFor();
  await page.getByRole("link", { name: "Invitations", exact: true }).click();
  await page.locator("#invite-list").getByText("Vic Volunteer").waitFor();
  await page.getByRole("link", { name: "Progress and results", exact: true }).click();
  await page.locator("#progress .stats .card").filter({ hasText: "Calls made" }).locator(".big")
    .getByText("3", { exact: true }).waitFor();
  await rec.snapshot(page, "organiser", "progress");
  const paused = page.waitForResponse(isApi("POST", /\/state$/));
  await page.getByRole("button", { name: "Pause" }).click();
  assert.equal((await paused).status(), 200);
  await page.locator("#campaign-state").getByText("Paused").waitFor();
});

step("after the pause the volunteer gets a clear refusal", async () => {
  const page = volunteer;
  await page.goto(server.url + "/#/call/" + encodeURIComponent(campaignId));
  await page.getByRole("heading", { name: "Calling for " + CAMPAIGN }).waitFor();
  const next = page.waitForResponse(isApi("POST", /\/next$/));
  await page.locator("#next").click();
  const res = await next;
  assert.ok(res.status() >= 400 && res.status() < 500, `refused with a 4xx, got ${res.status()}`);
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /paused/i, "the refusal says the campaign is paused");
  assert.equal(await page.getByRole("heading", { name: "Who you are calling" }).count(), 0);
  await rec.snapshot(page, "volunteer", "refused");
});

test("no member e-mail address or phone number reached either browser", async () => {
  const leaks = await rec.leaks(data.members, [VOLUNTEER_PHONE]);
  assert.deepEqual(rec.problems, [], "problems in the pages");
  assert.deepEqual(leaks, []);
  console.log(`responses checked: ${rec.checked}; without a body: ${rec.bodiless.length}`);
  assert.ok(rec.items.some((i) => i.where.includes("/outcome")), "the recorder saw the calls");
});
