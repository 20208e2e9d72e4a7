// Contests (RULEBOOK §8; docs/contests.md, "The screens"):
//   #/contests        the contests the account may see; managers load a rulebook
//   #/contests/<id>   one contest: timeline, candidates, the standing, nominations,
//                     the equal-access ledger, the rulebook and its amendments,
//                     and for a candidate's campaign what it may do now and from when
// and what the rest of the app needs from them: the staff-neutrality notice
// (app.js) and the statement word limit (compose.js).
//
// Times: the server sends each instant in UTC ("at") and in the contest's
// zone ("local"), and its own "now". Countdowns run on the server's clock
// (its "now" plus the time since it answered), so they agree with what the
// server enforces, also when the demo clock has been moved.

import { get, post, csrfToken } from "./api.js";
import { h, field, errorBanner, announce, facts, messageOf } from "./dom.js";
import { hasCap } from "./mail.js";

export const PHASE_NAMES = {
  before: "Not yet announced",
  announced: "Announced: nominations not yet open",
  nominations: "Nominations open",
  closed: "Nominations closed: member data not yet released",
  released: "Member data released to qualifying candidates",
  ballot: "Ballot open",
  over: "Over",
};

const INSTANTS = [
  ["announced", "Announced (staff neutrality starts)"],
  ["nominations_open", "Nominations open"],
  ["nominations_close", "Nominations close"],
  ["data_release", "Member data released"],
  ["ballot_open", "Ballot opens"],
  ["ballot_close", "Ballot closes (all candidate access ends)"],
];

const ENTRY_NAMES = { used: "Used", entitlement: "Entitlement", released: "Data released" };
const FACILITY_NAMES = {
  mailing: "E-mail to members", phonebank: "Phone bank", notice: "Official notice",
  data: "Member data (through the platform)", export: "Watermarked export",
};
const BODY_KINDS = { people: "people", units: "units", affiliates: "affiliates" };

// ---- shared with the rest of the app ------------------------------------------

// GET /contests: {contests, manager}; null when it cannot be read.
export async function loadContests() {
  try {
    const res = await get("/contests");
    return { contests: res.contests || [], manager: !!res.manager };
  } catch {
    return null;
  }
}

export function showsContests(list) {
  return !!list && (list.manager || list.contests.length > 0);
}

function candidateName(c, id) {
  const cand = (c.candidates || []).find((x) => x.id === id);
  return cand ? cand.name : id;
}

function local(c, key) {
  const t = c.timeline && c.timeline[key];
  return t ? t.local || t.at : "";
}

// The notices for the top of every page: one per contest whose staff
// neutrality binds this account now (or that it is on leave from).
export function neutralityNotices(list) {
  const out = [];
  for (const c of (list && list.contests) || []) {
    if (!c.neutrality_in_force) continue;
    const parts = c.your_parts || [];
    const leave = parts.find((p) => p.startsWith("on_leave:"));
    if (leave) {
      out.push("You are on leave for " + candidateName(c, leave.slice(9)) + "'s campaign in " +
        c.name + ": staff neutrality does not bind you while your leave lasts. For other staff it " +
        "is in force until " + local(c, "ballot_close") + ".");
    } else if (parts.includes("staff")) {
      out.push("Staff neutrality is in force for " + c.name + " until " + local(c, "ballot_close") +
        ": you may not draft, approve or send anything that names a candidate.");
    }
  }
  return out;
}

// The statement word limit in force: the smallest of the live contests'
// ({limit, contest}), or null when no contest is live.
export function statementLimit(list) {
  let best = null;
  for (const c of (list && list.contests) || []) {
    if (!c.neutrality_in_force) continue;
    if (!best || c.word_limit < best.limit) best = { limit: c.word_limit, contest: c.name };
  }
  return best;
}

// ---- time ----------------------------------------------------------------------------

// The server's clock: its "now" when it answered, run on by the browser's.
function serverClock(now) {
  const skew = Date.parse(now) - Date.now();
  return () => Date.now() + (Number.isNaN(skew) ? 0 : skew);
}

// 93784000 -> "1 day 2 hours 3 minutes 4 seconds" (the two largest units).
export function durationText(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  const parts = [];
  for (const [name, size] of units) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(n + " " + name + (n === 1 ? "" : "s"));
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(" ") : "0 seconds";
}

// The next timeline instant after `now` ([key, label, ms]) or null.
function nextInstant(c, now) {
  for (const [key, label] of INSTANTS) {
    const at = Date.parse(c.timeline[key].at);
    if (at > now) return [key, label, at];
  }
  return null;
}

function partWords(c, p) {
  if (p === "returning_officer") return "the returning officer";
  if (p === "procedures_committee") return "on the procedures committee";
  if (p === "staff") return "staff, bound by neutrality";
  if (p.startsWith("candidate:")) return "working for " + candidateName(c, p.slice(10)) + "'s campaign";
  if (p.startsWith("on_leave:")) return "staff on leave for " + candidateName(c, p.slice(9)) + "'s campaign";
  return p;
}

function table(caption, head, rows, attrs = {}) {
  return h("table", attrs,
    caption ? h("caption", {}, caption) : "",
    h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", r.attrs || {}, (r.cells || r).map((x) => h("td", {}, x))))));
}

function section(id, title, ...children) {
  return h("section", { "aria-labelledby": id + "-h", id },
    h("h2", { id: id + "-h" }, title), children.flat(Infinity));
}

// ---- the demo clock (demo mode only) -------------------------------------------------

async function demoClock(method, body) {
  const init = { method, credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } };
  if (method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = csrfToken() || "";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch("/demo/clock", init);
  } catch {
    return { status: 0 };
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

// Shown only when the server answers GET /demo/clock (demo mode).
function demoPanel(ctx, c) {
  const panel = h("section", { id: "demo-clock", "aria-labelledby": "demo-clock-h", class: "card", hidden: true });
  (async () => {
    const res = await demoClock("GET");
    if (!ctx.live() || res.status !== 200 || !res.json) return;
    const now = h("p", { class: "status", id: "demo-now" }, "Demo time: " + res.json.now);
    const errors = h("div", {});
    const move = (label, body) => {
      const b = h("button", { type: "button", class: "secondary" }, label);
      b.addEventListener("click", async () => {
        b.disabled = true;
        errors.replaceChildren();
        const r = await demoClock("POST", body());
        b.disabled = false;
        if (r.status !== 200) {
          errors.append(errorBanner({ message: (r.json && r.json.error && r.json.error.message) ||
            "The demo clock did not move (the server answered " + r.status + ")." }));
          return;
        }
        announce("The demo clock is now " + r.json.now + ".");
        await ctx.rerender();
      });
      return b;
    };
    const clock = serverClock(res.json.now);
    const next = nextInstant(c, clock());
    const buttons = [move("+1 hour", () => ({ advance_seconds: 3600 })),
      move("+1 day", () => ({ advance_seconds: 86400 }))];
    if (next) {
      buttons.push(move("Jump to the next instant", () => ({ to: c.timeline[next[0]].at })));
    }
    panel.replaceChildren(h("h2", { id: "demo-clock-h" }, "Demo clock"),
      h("p", { class: "hint muted" }, "Demo mode only: move the server's clock to walk through the timeline." +
        (next ? " The next instant is " + next[1].toLowerCase() + "." : "")),
      now, errors, h("div", { class: "actions" }, buttons));
    panel.hidden = false;
  })();
  return panel;
}

// ---- #/contests ------------------------------------------------------------------------

export async function renderList(ctx) {
  const loading = h("p", { class: "muted" }, "Loading contests…");
  ctx.show(h("h1", {}, "Contests"), loading);
  let res;
  try {
    res = await get("/contests");
  } catch (err) {
    loading.replaceWith(errorBanner(err));
    return;
  }
  const list = res.contests || [];
  const out = [];
  if (list.length === 0) out.push(h("p", {}, "No contest binds you now."));
  else {
    out.push(table("", ["Contest", "Phase now", "Your part"], list.map((c) => [
      h("a", { href: "#/contests/" + encodeURIComponent(c.id) }, c.name),
      PHASE_NAMES[c.phase] || c.phase,
      (c.your_parts || []).length ? c.your_parts.map((p) => partWords(c, p)).join("; ") : "you manage contests",
    ]), { id: "contest-list" }));
  }
  if (res.manager) out.push(loadSection(ctx));
  loading.replaceWith(...out);
}

// A rulebook from a file or typed in, checked, then loaded (or, for an
// existing contest, proposed as a new version).
function rulebookEditor({ idPrefix, initial, actionLabel, act }) {
  const errors = h("div", { id: idPrefix + "-errors", "aria-live": "assertive" });
  const summary = h("div", { id: idPrefix + "-summary", "aria-live": "polite" });
  const file = h("input", { type: "file", accept: ".toml,text/plain", id: idPrefix + "-file" });
  const text = h("textarea", { id: idPrefix + "-text", rows: "14", spellcheck: "false", class: "code" });
  text.value = initial || "";
  let fileName = "";
  let checked = null;  // the text that passed the check
  const check = h("button", { type: "button", class: "secondary" }, "Check");
  const go = h("button", { type: "button", disabled: true }, actionLabel);
  const reset = () => {
    checked = null;
    go.disabled = true;
    text.removeAttribute("aria-invalid");
  };
  file.addEventListener("change", async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    fileName = f.name;
    text.value = await f.text();
    reset();
    summary.replaceChildren();
    errors.replaceChildren();
    announce("Read " + f.name + ". Check it before loading.");
  });
  text.addEventListener("input", () => {
    if (checked !== null && text.value !== checked) {
      reset();
      summary.replaceChildren(h("p", { class: "muted" }, "Changed since the check: check it again."));
    }
  });
  check.addEventListener("click", async () => {
    errors.replaceChildren();
    summary.replaceChildren();
    reset();
    if (!text.value.trim()) {
      errors.append(errorBanner({ message: "Choose a rulebook file or paste its text first." }));
      text.focus();
      return;
    }
    check.disabled = true;
    try {
      const res = await post("/contests/check", { rulebook: text.value, file_name: fileName || "rulebook.toml" });
      if (!res.valid) {
        const lm = /^[^:\n]*:(\d+): /.exec(res.error || "");
        errors.append(h("div", { class: "banner error", role: "alert", id: idPrefix + "-error" },
          h("strong", {}, lm ? "Refused, line " + lm[1] + ": " : "Refused: "), res.error));
        text.setAttribute("aria-invalid", "true");
        text.setAttribute("aria-describedby", idPrefix + "-error");
        if (lm) selectLine(text, Number(lm[1]));
        return;
      }
      checked = text.value;
      go.disabled = false;
      const rb = res.rulebook || {};
      summary.append(h("div", { class: "banner ok", role: "status" },
        h("p", {}, "The rulebook is valid: " + rb.name + " (" + rb.id + "), version " + rb.version + "."),
        facts([["SHA-256", res.sha256], ["Candidates", (rb.candidates || []).map((x) => x.name).join(", ")],
          ["Time zone", rb.time_zone], ["Word limit", rb.statements && rb.statements.word_limit],
          ["Qualification", rb.qualification && rb.qualification.expression]])));
    } catch (err) {
      errors.append(errorBanner(err));
    } finally {
      check.disabled = false;
    }
  });
  go.addEventListener("click", async () => {
    if (checked === null || text.value !== checked) return;
    go.disabled = true;
    errors.replaceChildren();
    try {
      await act(text.value, fileName || "rulebook.toml");
    } catch (err) {
      errors.append(errorBanner(err));
      go.disabled = false;
    }
  });
  return h("div", {},
    field("Rulebook file", file, "A TOML file; docs/contests.md describes the format"),
    field("Rulebook text", text, "Or paste or edit it here"),
    errors, summary,
    h("div", { class: "actions" }, check, go));
}

function selectLine(textarea, line) {
  const lines = textarea.value.split("\n");
  let pos = 0;
  for (let i = 0; i < Math.min(line, lines.length) - 1; i++) pos += lines[i].length + 1;
  const end = pos + (lines[Math.min(line, lines.length) - 1] || "").length;
  textarea.focus();
  textarea.setSelectionRange(pos, end);
}

function loadSection() {
  return section("load", "Load a rulebook",
    h("p", {}, "Choose the contest's rulebook file (or paste it), check it, then load it. A file with " +
      "a mistake is refused with the line and the setting at fault; nothing is stored until you load it."),
    rulebookEditor({
      idPrefix: "load", actionLabel: "Load",
      act: async (text, fileName) => {
        const res = await post("/contests", { rulebook: text, file_name: fileName });
        announce("Loaded " + res.contest.name + ".");
        location.hash = "#/contests/" + encodeURIComponent(res.contest.id);
      },
    }));
}

// ---- #/contests/<id> -----------------------------------------------------------------------

export async function renderContest(ctx) {
  const id = ctx.params.id;
  let c;
  try {
    c = (await get("/contests/" + encodeURIComponent(id))).contest;
  } catch (err) {
    ctx.show(h("h1", {}, "Contest"), errorBanner(err), h("p", {}, h("a", { href: "#/contests" }, "All contests")));
    return;
  }
  if (!ctx.live()) return;
  const timers = [];
  ctx.onLeave(() => timers.forEach((t) => clearInterval(t)));
  const clock = serverClock(c.now);
  const manager = hasCap(ctx.session, "contest.manage");
  const parts = c.your_parts || [];
  const mine = parts.find((p) => p.startsWith("candidate:"));
  const base = "/contests/" + encodeURIComponent(c.id);

  const ticks = [];  // functions run every second
  const standingBox = h("div", {}, h("p", { class: "muted" }, "Loading the standing…"));
  const nominationsBox = h("div", {});
  const ledgerBox = h("div", {}, h("p", { class: "muted" }, "Loading the ledger…"));
  const rulebookBox = h("div", {}, h("p", { class: "muted" }, "Loading the rulebook…"));
  const campaign = mine ? campaignView(ctx, c, mine.slice(10), clock, ticks) : null;

  const loadStanding = async () => {
    let standing;
    try {
      standing = await get(base + "/standing");
    } catch (err) {
      standingBox.replaceChildren(errorBanner(err));
      return;
    }
    standingBox.replaceChildren(standingView(c, standing));
    nominationsBox.replaceChildren(nominationsView(c, standing),
      manager ? nominationForm(c, standing, base, async () => { await loadStanding(); await loadLedger(); }) : "");
  };
  const loadLedger = async () => {
    let ledger;
    try {
      ledger = (await get(base + "/ledger")).ledger || [];
    } catch (err) {
      ledgerBox.replaceChildren(errorBanner(err));
      return;
    }
    ledgerBox.replaceChildren(ledgerView(c, ledger));
    if (campaign) campaign.showLedger(ledger);
  };

  const body = [
    h("h1", {}, c.name),
    h("p", { class: "status", id: "contest-phase" }, "Now: " + (PHASE_NAMES[c.phase] || c.phase)),
    facts([["Your part", parts.map((p) => partWords(c, p)).join("; ") || (manager ? "you manage contests" : "")],
      ["Rulebook", "version " + c.version + ", SHA-256 " + c.sha256],
      ["Statements", "at most " + c.word_limit + " words (" + c.counting + ")"],
      ["Exports for candidates", c.exports === "watermarked" ? "watermarked exports allowed" : "none: platform only"]]),
    demoPanel(ctx, c),
    timelineSection(c, clock, ticks),
  ];
  if (campaign) body.push(section("campaign", "Your campaign", campaign.els));
  body.push(candidatesSection(c));
  if (c.may_read_ledger) {
    body.push(section("standing", "Who qualifies", standingBox),
      section("nominations", "Nominations", nominationsBox),
      section("ledger", "Equal-access ledger", h("p", { class: "hint muted" },
        "Every facility given to or used by a campaign, and the matching entitlement every other " +
        "qualifying candidate gets."), ledgerBox));
  }
  body.push(section("rulebook", "The rulebook", rulebookBox));
  body.push(h("p", {}, h("a", { href: "#/contests" }, "All contests")));
  ctx.show(...body);
  if (c.may_read_ledger) {
    loadStanding();
    loadLedger();
  }
  loadRulebook(ctx, c, base, manager, rulebookBox);

  // Once a second: the countdowns; once the next instant has passed (and
  // the server has had a moment to release data at it), the page again.
  const upcoming = nextInstant(c, clock());
  let reloading = false;
  const tick = () => {
    const now = clock();
    for (const f of ticks) f(now);
    if (!reloading && upcoming && now >= upcoming[2] + 1500) {
      reloading = true;
      ctx.rerender();
    }
  };
  tick();
  timers.push(setInterval(tick, 1000));
}

function timelineSection(c, clock, ticks) {
  const countdown = h("p", { id: "next-instant", role: "timer", "aria-atomic": "true" });
  const rows = INSTANTS.map(([key, label]) => {
    const t = c.timeline[key];
    return { attrs: { "data-instant": key }, cells: [label, t.local || t.at, h("span", { class: "when" })] };
  });
  const tbl = table("Times in " + c.time_zone, ["Instant", "Local time", ""], rows, { id: "timeline" });
  ticks.push((now) => {
    const next = nextInstant(c, now);
    for (const tr of tbl.querySelectorAll("tbody tr")) {
      const key = tr.getAttribute("data-instant");
      const at = Date.parse(c.timeline[key].at);
      const when = tr.querySelector(".when");
      const isNext = next && next[0] === key;
      when.textContent = at <= now ? "passed" : isNext ? "next" : "";
      if (isNext) tr.setAttribute("aria-current", "step");
      else tr.removeAttribute("aria-current");
    }
    countdown.textContent = next
      ? next[1] + " in " + durationText(next[2] - now) + " (" + c.timeline[next[0]].local + ")."
      : "The contest is over: the ballot has closed.";
  });
  return section("timeline-s", "Timeline", countdown, tbl);
}

function candidatesSection(c) {
  return section("candidates", "Candidates", table("", ["Candidate", "Also written", "Member data"],
    (c.candidates || []).map((x) => ({
      attrs: { "data-candidate": x.id },
      cells: [x.name, (x.aliases || []).join(", "),
        x.released ? "through the platform from " + formatAt(c, x.access_from) : "no access"],
    }))));
}

// An RFC 3339 instant the server sent without a local form: shown as the
// timeline's local times are when it is one of them, else in the browser's zone.
function formatAt(c, iso) {
  if (!iso) return "";
  for (const [key] of INSTANTS) if (c.timeline[key].at === iso) return c.timeline[key].local;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-GB", {
    day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
}

// What a candidate's campaign may do now, and from when: {els, showLedger}.
function campaignView(ctx, c, candidate, clock, ticks) {
  const cand = (c.candidates || []).find((x) => x.id === candidate) || { id: candidate, name: candidate };
  const els = [h("p", {}, "You work for " + cand.name + "'s campaign.")];
  const release = Date.parse(c.timeline.data_release.at);
  const close = c.timeline.ballot_close;
  if (!cand.released) {
    const before = clock() < release;
    els.push(h("p", { class: "banner practice", id: "campaign-now" }, before
      ? "Member data opens at " + c.timeline.data_release.local + " to every candidate who qualifies " +
        "by then, all at the same instant. Until then your campaign has no access to members."
      : cand.name + " has not qualified, so the campaign has no access to members. Access starts " +
        "at once if enough nominations are recorded before the ballot closes (" + close.local + ")."));
    if (before) {
      const countdown = h("p", { id: "release-countdown", role: "timer", "aria-atomic": "true" });
      els.push(countdown);
      ticks.push((now) => {
        countdown.textContent = now < release
          ? "Member data opens in " + durationText(release - now) + "."
          : "Member data is being released now.";
      });
    }
    return { els, showLedger: () => {} };
  }
  const grants = ((ctx.session && ctx.session.grants) || []).filter((g) => g.source === "contest:" + c.id);
  els.push(h("p", { class: "banner ok", id: "campaign-now" },
    "Your campaign may contact the electorate through the platform (masked phone banks and platform " +
    "e-mail) from " + formatAt(c, cand.access_from) + " until the ballot closes at " + close.local +
    ". Only members of the electorate who agreed to contact from candidates are reached."));
  if (grants.length) {
    els.push(h("h3", {}, "Your access"), table("", ["Role", "From", "Until"],
      grants.map((g) => [g.role, formatAt(c, g.not_before), formatAt(c, g.not_after)]), { id: "campaign-grants" }));
  }
  const box = h("div", { id: "entitlements" }, h("p", { class: "muted" }, "Loading the ledger…"));
  els.push(h("h3", { id: "entitlements-h" }, "Your entitlements"), box);
  const showLedger = (ledger) => {
    const ents = ledger.filter((e) => e.candidate === candidate && e.entry === "entitlement");
    if (!ents.length) {
      box.replaceChildren(h("p", {}, "None yet. When another campaign is given or uses a facility, yours " +
        "gets a matching entitlement of the same size here."));
      return;
    }
    box.replaceChildren(h("ul", { "aria-labelledby": "entitlements-h" }, ents.map((e) => {
      const what = (FACILITY_NAMES[e.facility] || e.facility) + " to up to " + e.size + " members";
      if (e.used) {
        return h("li", {}, what + ": used " + formatAt(c, e.used_at) + (e.used_ref ? " (" + e.used_ref + ")" : ""));
      }
      const link = e.facility === "mailing" ? h("a", { href: "#/email/new" }, "Compose an e-mail")
        : e.facility === "phonebank" ? h("a", { href: "#/organise/new" }, "Create a phone bank") : "";
      return h("li", {}, what + ": open. ", link);
    })));
  };
  return { els, showLedger };
}

function standingView(c, s) {
  const out = [h("p", {}, "Qualification: ", h("code", {}, s.qualification))];
  for (const cs of s.candidates || []) {
    out.push(h("article", { class: "card", "aria-labelledby": "standing-" + cs.candidate + "-h",
      "data-standing": cs.candidate },
    h("h3", { id: "standing-" + cs.candidate + "-h" }, cs.name),
    h("p", { class: "status " + (cs.qualified ? "state-sent" : "state-draft") },
      cs.qualified ? "Qualifies" : "Does not qualify (yet)"),
    table("", ["Threshold", "Met", "Have", "Need", "Of"], (cs.clauses || []).map((cl) => [
      h("code", {}, cl.text), cl.met ? "yes" : "no", cl.have, cl.need, cl.of || "",
    ]), { class: "checks" }),
    facts([["Nominations", Object.entries(cs.nominations || {}).map(([b, n]) => b + ": " + n).join(", ") || "none"],
      ["Qualified", cs.qualified_at ? formatAt(c, cs.qualified_at) : ""],
      ["Member data from", cs.access_from ? formatAt(c, cs.access_from) : ""]])));
  }
  return h("div", {}, out);
}

function nominatorWords(s, n) {
  const body = (s.bodies || []).find((b) => b.id === n.body);
  if (body && body.kind === "affiliates") {
    const a = (body.affiliates || []).find((x) => x.id === n.nominator);
    if (a) return a.name;
  }
  return n.nominator;
}

function nominationsView(c, s) {
  const noms = s.nominations || [];
  if (!noms.length) return h("p", { id: "nominations-table" }, "No nominations recorded yet.");
  const bodyLabel = (id) => ((s.bodies || []).find((b) => b.id === id) || {}).label || id;
  return table("", ["Body", "Nominator", "Candidate", "Decided by", "Meeting", "For / against / abstaining"],
    noms.map((n) => ({
      attrs: { "data-nomination": n.id },
      cells: [bodyLabel(n.body), nominatorWords(s, n), candidateName(c, n.candidate), n.decided_by,
        n.meeting_on, n.votes_for + " / " + n.votes_against + " / " + n.votes_abstaining],
    })), { id: "nominations-table" });
}

function nominationForm(c, s, base, reload) {
  const errors = h("div", { id: "nominate-errors", "aria-live": "assertive" });
  const bodies = s.bodies || [];
  const body = h("select", { name: "body" }, bodies.map((b) =>
    h("option", { value: b.id }, (b.label || b.id) + " (" + (BODY_KINDS[b.kind] || b.kind) + ")")));
  const unit = h("input", { type: "text", name: "nominator_unit", autocapitalize: "characters" });
  const person = h("input", { type: "text", name: "nominator_person" });
  const affiliate = h("select", { name: "nominator_affiliate" });
  const unitField = field("Unit code", unit, "The code of the nominating unit, e.g. E14000530");
  const personField = field("Nominator's reference", person, "A register number, not a name");
  const affiliateField = field("Affiliate", affiliate);
  const candidate = h("select", { name: "candidate" },
    (c.candidates || []).map((x) => h("option", { value: x.id }, x.name)));
  const decided = h("input", { type: "text", name: "decided_by", maxlength: "100" });
  const meeting = h("input", { type: "date", name: "meeting_on",
    min: c.timeline.nominations_open.at.slice(0, 10), max: c.timeline.nominations_close.at.slice(0, 10) });
  const votes = {};
  for (const k of ["votes_for", "votes_against", "votes_abstaining"]) {
    votes[k] = h("input", { type: "number", name: k, min: "0", step: "1", inputmode: "numeric", value: "0" });
  }
  const sync = () => {
    const b = bodies.find((x) => x.id === body.value) || {};
    unitField.hidden = b.kind !== "units";
    personField.hidden = b.kind !== "people";
    affiliateField.hidden = b.kind !== "affiliates";
    if (b.kind === "affiliates") {
      affiliate.replaceChildren(...(b.affiliates || []).map((a) =>
        h("option", { value: a.id }, a.name + (a.trade_union ? " (trade union)" : ""))));
    }
  };
  body.addEventListener("change", sync);
  sync();
  const submit = h("button", { type: "submit" }, "Record the nomination");
  const fields = { body, nominator: null, candidate, decided_by: decided, meeting_on: meeting, votes: votes.votes_for };
  const form = h("form", { id: "nominate-form", novalidate: true, "aria-labelledby": "nominate-h" },
    h("h3", { id: "nominate-h" }, "Record a nomination"),
    errors,
    field("Nominating body", body),
    unitField, personField, affiliateField,
    field("Candidate", candidate),
    field("Decided by", decided, "Who decided, e.g. all-member meeting, executive committee"),
    field("Meeting date", meeting, "Between nominations opening and closing"),
    h("fieldset", {}, h("legend", {}, "Votes"), h("div", { class: "pair" },
      field("For", votes.votes_for), field("Against", votes.votes_against),
      field("Abstaining", votes.votes_abstaining))),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const b = bodies.find((x) => x.id === body.value) || {};
    const nominatorInput = b.kind === "units" ? unit : b.kind === "affiliates" ? affiliate : person;
    fields.nominator = nominatorInput;
    const payload = {
      body: body.value, nominator: nominatorInput.value.trim(), candidate: candidate.value,
      decided_by: decided.value.trim(), meeting_on: meeting.value,
    };
    for (const [k, input] of Object.entries(votes)) payload[k] = Number(input.value || 0);
    const fail = (msg) => {
      errors.append(errorBanner({ message: msg }));
      const key = (/^([a-z_]+):/.exec(msg) || [])[1];
      const target = key && fields[key];
      if (target) {
        target.setAttribute("aria-invalid", "true");
        target.focus();
      }
    };
    if (!payload.nominator) return fail("nominator: say who nominates.");
    if (!payload.decided_by) return fail("decided_by: say who decided.");
    if (!payload.meeting_on) return fail("meeting_on: the date of the meeting.");
    submit.disabled = true;
    try {
      await post(base + "/nominations", payload);
      announce("Nomination recorded: " + nominatorWords(s, payload) + " nominates " +
        candidateName(c, payload.candidate) + ".");
      await reload();
    } catch (err) {
      fail(messageOf(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function ledgerView(c, entries) {
  if (!entries.length) return h("p", { id: "ledger-table" }, "Nothing yet.");
  return table("", ["When", "Candidate", "Entry", "Facility", "Size", "Reference", "State"],
    entries.map((e) => ({
      attrs: { "data-ledger": e.id },
      cells: [formatAt(c, e.at), e.candidate === "*" ? "every candidate alike" : candidateName(c, e.candidate),
        ENTRY_NAMES[e.entry] || e.entry, FACILITY_NAMES[e.facility] || e.facility, e.size, e.ref,
        e.entry === "entitlement" ? (e.used ? "used " + formatAt(c, e.used_at) : "open") : ""],
    })), { id: "ledger-table" });
}

// The rulebook in force with its SHA-256; versions proposed since, with
// Approve; and for managers a new version.
async function loadRulebook(ctx, c, base, manager, box) {
  let current;
  try {
    current = await get(base + "/rulebook");
  } catch (err) {
    box.replaceChildren(errorBanner(err));
    return;
  }
  // Proposed versions: any above the one in force.
  const proposed = [];
  if (manager) {
    for (let v = c.version + 1; v <= c.version + 20; v++) {
      try {
        const r = await get(base + "/rulebook?version=" + v);
        if (!r.in_force) proposed.push(r);
      } catch {
        break;
      }
    }
  }
  if (!ctx.live()) return;
  const out = [
    h("p", {}, "Version " + current.version + " is in force. Its SHA-256 is ",
      h("code", { id: "rulebook-sha" }, current.sha256), "."),
    h("details", {}, h("summary", {}, "The rulebook's text"), h("pre", { class: "mail-text", id: "rulebook-text" }, current.text)),
  ];
  for (const p of proposed) {
    const errors = h("div", {});
    const approve = h("button", { type: "button" }, "Approve version " + p.version);
    approve.addEventListener("click", async () => {
      approve.disabled = true;
      errors.replaceChildren();
      try {
        await post(base + "/rulebook/approve", { version: p.version });
        announce("Version " + p.version + " is now in force.");
        await ctx.rerender();
      } catch (err) {
        errors.append(errorBanner(err));
        approve.disabled = false;
      }
    });
    out.push(h("article", { class: "card", "aria-labelledby": "proposed-" + p.version + "-h", "data-proposed": p.version },
      h("h3", { id: "proposed-" + p.version + "-h" }, "Version " + p.version + " proposed"),
      h("p", {}, "It waits for a second person with contest management, not the one who proposed it, to " +
        "approve it. SHA-256 ", h("code", {}, p.sha256), "."),
      h("details", {}, h("summary", {}, "Its text"), h("pre", { class: "mail-text" }, p.text)),
      errors, h("div", { class: "actions" }, approve)));
  }
  if (manager) {
    out.push(h("h3", {}, "Change the rulebook"),
      h("p", { class: "hint muted" }, "Raise contest.version. Before the contest is announced the new version is " +
        "in force at once; after it, the returning officer proposes it and a second person approves it. " +
        "Old versions stay readable."),
      rulebookEditor({
        idPrefix: "amend", initial: current.text, actionLabel: "Propose this version",
        act: async (text, fileName) => {
          const res = await post(base + "/rulebook", { rulebook: text, file_name: fileName });
          announce(res.in_force ? "Version " + res.version + " is in force."
            : "Version " + res.version + " is proposed and waits for " + (res.waiting_for || "a second approver") + ".");
          if (res.in_force) await ctx.rerender();
          else await loadRulebook(ctx, c, base, manager, box);
        },
      }));
  }
  box.replaceChildren(...out);
}
