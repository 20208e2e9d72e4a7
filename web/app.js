// Start-up and routing. Screens live in their own modules; each exports
// render(ctx) and registers any timers with ctx.onLeave so that leaving the
// screen stops them. A screen shows itself with ctx.show, which does nothing
// once the person has moved on to another screen, and after an await
// changes only elements it made itself: a screen whose data arrives late
// never writes over the one that replaced it.
//
//   /join/<token>          an invitation link (join.js); without a session,
//                          sign in or "I'm new here" (enrol.js)
//   #/welcome/<link>[/<invitation>]   a one-time sign-up link (enrol.js)
//   #/reset/<link>[/<invitation>]     a one-time password-reset link (enrol.js)
//   #/forgot                "Forgot your password?" (enrol.js)
//   #/                      the account's campaigns (campaigns.js)
//   #/call/<id>             the calling screen (call.js)
//   #/progress/<id>         a caller's own progress (progress.js)
//   #/organise/new, #/organise/<id>[/progress|/invitations|/settings]
//                           organisers (organise.js): a campaign's three views
//   #/email, #/email/<id>   e-mail to members: list and one message (email.js)
//   #/email/new, #/email/<id>/edit   compose and edit (compose.js)
//   #/approvals             messages in the signed-in person's name (approvals.js)
//   #/contests, #/contests/<id>   internal elections (contests.js)
//   #/dpo[/audit|/breaches[/<id>]|/grants|/witness]   the DPO console (dpo.js)
//   #/privacy/requests, #/privacy/members/<id>       requests and reports (sar.js)
//   #/exports               member exports: ask, follow, download (exports.js)
//
// Above every screen, a contest's staff-neutrality notice for the accounts
// it binds (contests.js, neutralityNotices).

import { ApiError, get, del, setCsrfToken } from "./api.js";
import { show, h, errorBanner, messageOf, setSiteName } from "./dom.js";
import * as signin from "./signin.js";
import * as campaigns from "./campaigns.js";
import * as join from "./join.js";
import * as enrol from "./enrol.js";
import * as call from "./call.js";
import * as progress from "./progress.js";
import * as organise from "./organise.js";
import * as email from "./email.js";
import * as compose from "./compose.js";
import * as approvals from "./approvals.js";
import { canEmail } from "./mail.js";
import * as contests from "./contests.js";
import * as dpo from "./dpo.js";
import * as sar from "./sar.js";
import * as exportsScreen from "./exports.js";

// contests: GET /contests as last read (null: not read, or unreadable).
const state = { session: null, notice: null, contests: null };
let leaving = [];
let current = null;  // the screen being shown: { live }

function route() {
  const join = /^\/join\/([^/]+)\/?$/.exec(location.pathname);
  if (join) return { screen: "join", params: { token: decodeURIComponent(join[1]) } };
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("/").filter(Boolean);
  if (parts.length === 0) return { screen: "campaigns", params: {} };
  if (parts[0] === "signin") return { screen: "signin", params: {} };
  if (parts[0] === "forgot" && parts.length === 1) return { screen: "forgot", params: {} };
  if ((parts[0] === "welcome" || parts[0] === "reset") && parts[1] && parts.length <= 3) {
    return { screen: "link", params: { token: parts[1], invite: parts[2] || "" } };
  }
  if (parts[0] === "call" && parts[1]) return { screen: "call", params: { id: parts[1] } };
  if (parts[0] === "progress" && parts[1]) return { screen: "progress", params: { id: parts[1] } };
  if (parts[0] === "organise" && parts[1] && parts.length <= 3) {
    return { screen: "organise", params: { id: parts[1], view: parts[2] || "" } };
  }
  if (parts[0] === "email" && parts.length === 1) return { screen: "emailList", params: {} };
  if (parts[0] === "email" && parts[1] === "new" && parts.length === 2) {
    return { screen: "compose", params: { id: "new" } };
  }
  if (parts[0] === "email" && /^\d+$/.test(parts[1] || "")) {
    if (parts.length === 2) return { screen: "emailMessage", params: { id: parts[1] } };
    if (parts.length === 3 && parts[2] === "edit") return { screen: "compose", params: { id: parts[1] } };
  }
  if (parts[0] === "approvals" && parts.length === 1) return { screen: "approvals", params: {} };
  if (parts[0] === "contests" && parts.length === 1) return { screen: "contestList", params: {} };
  if (parts[0] === "contests" && /^\d+$/.test(parts[1] || "") && parts.length === 2) {
    return { screen: "contest", params: { id: parts[1] } };
  }
  // The DPO console; its audit search keeps its filters after a "?".
  if (parts[0] === "dpo" || parts[0].startsWith("dpo?")) {
    const clean = hash.split("?")[0].split("/").filter(Boolean);
    if (clean[0] === "dpo" && clean.length <= 3) {
      return { screen: "dpo", params: { view: clean[1] || "", id: clean[2] || "" } };
    }
  }
  // The DPO's request queue and one member's report (sar.js).
  if (parts[0] === "privacy" && parts[1] === "requests" && parts.length === 2) {
    return { screen: "privacyRequests", params: {} };
  }
  if (parts[0] === "privacy" && parts[1] === "members" && /^\d+$/.test(parts[2] || "") &&
      parts.length === 3) {
    return { screen: "privacyReport", params: { id: parts[2] } };
  }
  if (parts[0] === "exports" && parts.length === 1) return { screen: "exports", params: {} };
  return { screen: "notfound", params: {} };
}

const screens = {
  campaigns, join, call, progress, organise, compose, approvals,
  emailList: { render: email.renderList },
  emailMessage: { render: email.renderMessage },
  contestList: { render: contests.renderList },
  contest: { render: contests.renderContest },
  dpo,
  privacyRequests: { render: sar.renderRequests },
  privacyReport: { render: sar.renderReport },
  exports: exportsScreen,
  forgot: { render: enrol.renderForgot },
  link: { render: enrol.renderLink },
};

// Screens for people who are not signed in (yet).
const PUBLIC_SCREENS = ["forgot", "link"];

// The main navigation: [link, label, shown to this session?, screens it covers].
// "Messages in your name" is for everyone: anyone may be named in a message.
const NAV = [
  ["/#/", "Campaigns", () => true, ["campaigns", "call", "progress", "organise"]],
  ["/#/email", "E-mail", (s) => canEmail(s), ["emailList", "emailMessage", "compose"]],
  ["/#/approvals", "Messages in your name", () => true, ["approvals"]],
  // For accounts a contest binds, and those who manage contests.
  ["/#/contests", "Contests", () => contests.showsContests(state.contests), ["contestList", "contest"]],
  // For accounts with audit.read or a privacy.* capability (dpo.js). The
  // subject-access and erasure queue ("Requests") is a tab inside it.
  ["/#/dpo", "Data protection", (s) => dpo.isDpo(s), ["dpo", "privacyRequests", "privacyReport"]],
  // For accounts with member.export (exports.js).
  ["/#/exports", "Exports", (s) => exportsScreen.canExport(s), ["exports"]],
];

// The session cookie is shared by every tab; each page gets its CSRF token
// from GET /session (docs/security.md, "CSRF").
async function loadSession() {
  try {
    state.session = await get("/session");
    if (state.session.csrf_token) setCsrfToken(state.session.csrf_token);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    state.session = null;
    setCsrfToken(null);
  }
}

function updateHeader() {
  const nav = document.getElementById("account-nav");
  const who = document.getElementById("who");
  const main = document.getElementById("main-nav");
  if (state.session) {
    who.textContent = "Signed in as " + state.session.account.display_name;
    nav.hidden = false;
    const current = route().screen;
    const entries = NAV.filter(([, , visible]) => visible(state.session));
    main.replaceChildren(h("ul", {}, entries.map(([href, label, , covers]) =>
      h("li", {}, h("a", { href, "aria-current": covers.includes(current) ? "page" : null }, label)))));
    main.hidden = false;
  } else {
    who.textContent = "";
    nav.hidden = true;
    main.replaceChildren();
    main.hidden = true;
  }
  const notice = document.getElementById("contest-notice");
  const lines = state.session ? contests.neutralityNotices(state.contests) : [];
  notice.replaceChildren(...lines.map((t) => h("p", {}, t)));
  notice.hidden = lines.length === 0;
}

// Reads the contests again (each screen change, so a notice comes and goes
// with the contest's timeline) and redraws the header when they change.
let contestsAsked = 0;
async function refreshContests() {
  if (!state.session) return;
  const mine = ++contestsAsked;
  const list = await contests.loadContests();
  if (mine !== contestsAsked || !state.session) return;
  // The server's "now" changes at every read; the rest is what counts.
  const same = (x) => JSON.stringify(x, (k, v) => (k === "now" ? undefined : v));
  if (same(list) === same(state.contests)) return;
  state.contests = list;
  updateHeader();
}

export async function render() {
  for (const fn of leaving) fn();
  leaving = [];
  if (current) current.live = false;
  const view = { live: true };
  current = view;
  const { screen, params } = route();
  if (state.session && screen !== "signin") refreshContests();
  const ctx = {
    session: state.session,
    params,
    // Runs fn when the screen is left (at once if it has been already).
    onLeave: (fn) => (view.live ? leaving.push(fn) : fn()),
    // Whether this screen is still the one shown.
    live: () => view.live,
    // Replaces the screen, unless another one has replaced this one meanwhile.
    show: (...children) => (view.live ? show(...children) : h("div", {}, children)),
    // After signing in: load the session and show the screen asked for.
    signedIn: async () => {
      await loadSession();
      updateHeader();
      if (route().screen === "signin") location.hash = "#/";
      else await render();
    },
    rerender: () => render(),
  };
  updateHeader();
  try {
    if (screen === "notfound") {
      ctx.show(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/#/" }, "Go to your campaigns")));
      return;
    }
    if (PUBLIC_SCREENS.includes(screen)) {
      await screens[screen].render(ctx);
      return;
    }
    if (!state.session && screen === "join") {
      await join.renderSignedOut(ctx, state.notice);
      state.notice = null;
      return;
    }
    if (!state.session || screen === "signin") {
      signin.render(ctx, "Sign in", state.notice);
      state.notice = null;
      return;
    }
    await screens[screen].render(ctx);
  } catch (err) {
    // The API's refusals are shown where they happen; this is a fault in the
    // page itself: show it, and report it as an uncaught error would be.
    if (!(err instanceof ApiError)) window.reportError(err);
    ctx.show(h("h1", {}, "Something went wrong"), errorBanner(err));
  }
}

async function signOut() {
  let notice = null;
  try {
    await del("/session");
  } catch (err) {
    // Signed out on the server already is fine; otherwise say the session
    // may still be open there. Either way it is forgotten here.
    if (!(err instanceof ApiError) || err.status !== 401) {
      notice = "You are signed out on this device, but Switchboard could not end the session: " +
        messageOf(err) + " Sign in and out again to end it now; otherwise it ends when it expires.";
    }
  }
  setCsrfToken(null);
  state.session = null;
  state.contests = null;
  state.notice = notice;
  // One render, with no hashchange to start a second that would drop the notice.
  history.replaceState(null, "", "/#/");
  await render();
}

window.addEventListener("switchboard:signed-out", () => {
  setCsrfToken(null);
  state.session = null;
  state.contests = null;
  render();
});
window.addEventListener("hashchange", () => render());

// The skip link's "#main" is an in-page target, not a route: following it
// would change the hash the router reads and show "Page not found". Move
// focus to the main content instead, leaving the address as it is.
function skipToMain(ev) {
  ev.preventDefault();
  const main = document.getElementById("main");
  main.focus();
  main.scrollIntoView({ block: "start" });
}

// The organisation's name ([organisation] name) in the header and the tab's
// title, from the public GET /organisation: shown before signing in too.
async function showOrganisation() {
  let name = "";
  try {
    name = ((await get("/organisation")).organisation || {}).name || "";
  } catch {
    return;  // the header keeps "Switchboard"
  }
  if (!name) return;
  const brand = document.querySelector("header .brand");
  brand.replaceChildren(h("span", { class: "org", id: "org-name" }, name), " · Switchboard");
  const site = name + " · Switchboard";
  setSiteName(site);
  document.title = document.title.endsWith(" - Switchboard")
    ? document.title.slice(0, -" - Switchboard".length) + " - " + site
    : site;
}

async function start() {
  document.getElementById("sign-out").addEventListener("click", signOut);
  showOrganisation();
  document.querySelector("a.skip").addEventListener("click", skipToMain);
  try {
    await loadSession();
  } catch (err) {
    show(h("h1", {}, "Switchboard is unavailable"), errorBanner(err));
    return;
  }
  await render();
}

start();
