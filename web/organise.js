// Organisers: a campaign in three views (progress with results and charts,
// invitations, settings) under its state and its pause, end or kill; and
// creating one (with the live audience count).

import { get, post, patch } from "./api.js";
import { h, field, errorBanner, announce, formatDate, clear, facts } from "./dom.js";
import { STATE_NAMES } from "./campaigns.js";
import { stat, unitName } from "./progress.js";
import { loadResults } from "./results.js";

const STATUSES = [["current", "Current"], ["arrears", "In arrears"], ["lapsed", "Lapsed"],
  ["suspended", "Suspended"], ["resigned", "Resigned"]];
// Consents beyond the phone consent every phone bank needs.
const CONSENTS = [["email", "E-mail"], ["sms", "Text messages"], ["candidates", "Contact from candidates"]];
const FIELDS = [["first_name", "First name"], ["membership_years", "Membership years"], ["branch", "Branch"]];
const QUESTION_TYPES = [["yesno", "Yes or no"], ["choice", "Choice"], ["scale", "Scale"], ["text", "Free text"]];
const OUTCOME_NAMES = {
  answered: "Answered", no_answer: "No answer", busy: "Busy", voicemail: "Voicemail",
  wrong_number: "Wrong number", do_not_call: "Do not call", moved: "Moved", deceased: "Deceased",
};

// A campaign's three views, each with its own address (#/organise/<id>/<view>)
// so that a reload keeps it: what is happening, who is invited, and how it is set up.
const VIEWS = [["progress", "Progress and results"], ["invitations", "Invitations"], ["settings", "Settings"]];

export async function render(ctx) {
  const id = ctx.params.id;
  const timers = [];
  ctx.onLeave(() => timers.forEach((t) => { clearInterval(t); clearTimeout(t); }));
  if (id === "new") {
    ctx.show(h("h1", {}, "New campaign"), campaignForm(ctx, null, timers));
    return;
  }
  let campaign;
  try {
    campaign = (await get("/campaigns/" + encodeURIComponent(id))).campaign;
  } catch (err) {
    ctx.show(h("h1", {}, "Campaign"), errorBanner(err));
    return;
  }
  if (!ctx.live()) return;  // left while loading: start no timers
  // A draft has nothing to show yet: it opens on its settings.
  const view = VIEWS.some(([v]) => v === ctx.params.view) ? ctx.params.view
    : campaign.state === "draft" ? "settings" : "progress";
  const base = "#/organise/" + encodeURIComponent(id) + "/";
  const tabs = h("nav", { class: "tabs", "aria-label": "Campaign views" },
    h("ul", {}, VIEWS.map(([v, label]) => h("li", {},
      h("a", { href: base + v, "aria-current": v === view ? "page" : null, id: "view-" + v }, label)))));
  let content;
  if (view === "progress") {
    const progress = h("section", { "aria-labelledby": "progress-h", id: "progress" },
      h("h2", { id: "progress-h" }, "Live progress"), h("div", {}));
    const results = h("section", { "aria-label": "Results", id: "results" }, h("p", { class: "muted" }, "Loading results…"));
    const refresh = () => loadProgress(id, progress.lastChild);
    const refreshResults = () => loadResults(id, results);
    refresh();
    refreshResults();
    timers.push(setInterval(refresh, 5000), setInterval(refreshResults, 30000));
    content = [progress, results];
  } else if (view === "invitations") {
    content = [invitesSection(campaign)];
  } else {
    content = [h("section", { "aria-labelledby": "edit-h" }, h("h2", { id: "edit-h" }, "Campaign details"),
      campaignForm(ctx, campaign, timers))];
  }
  ctx.show(
    h("h1", {}, campaign.name),
    stateSection(ctx, campaign),
    tabs,
    h("div", { id: "campaign-view", "data-view": view }, content),
    h("p", {}, h("a", { href: "#/" }, "All campaigns")));
}

// ---- state -------------------------------------------------------------------

function stateSection(ctx, c) {
  const errors = h("div", {});
  const actions = h("div", { class: "actions" });
  const confirmBox = h("div", { class: "card", hidden: true, role: "alertdialog", "aria-labelledby": "confirm-h" });
  const change = async (state, done) => {
    errors.replaceChildren();
    try {
      await post("/campaigns/" + encodeURIComponent(c.id) + "/state", { state });
      announce("The campaign is now " + (STATE_NAMES[state] || state).toLowerCase() + ".");
      await ctx.rerender();
    } catch (err) {
      errors.append(errorBanner(err));
      if (done) done();
    }
  };
  const button = (label, state, cls) => {
    const b = h("button", { type: "button", class: cls }, label);
    b.addEventListener("click", () => { b.disabled = true; change(state, () => { b.disabled = false; }); });
    return b;
  };
  const confirm = (label, state, question) => {
    const b = h("button", { type: "button", class: "danger" }, label);
    b.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "danger" }, "Yes, " + label.toLowerCase());
      const no = h("button", { type: "button", class: "secondary" }, "Cancel");
      yes.addEventListener("click", () => { yes.disabled = true; change(state, () => { yes.disabled = false; }); });
      no.addEventListener("click", () => { confirmBox.hidden = true; b.focus(); });
      confirmBox.replaceChildren(h("h3", { id: "confirm-h" }, question), h("div", { class: "actions" }, yes, no));
      confirmBox.hidden = false;
      no.focus();
    });
    return b;
  };
  if (c.state === "draft" || c.state === "paused") actions.append(button(c.state === "draft" ? "Go live" : "Resume", "live"));
  if (c.state === "live") actions.append(button("Pause", "paused", "secondary"));
  if (c.state === "live" || c.state === "paused") {
    actions.append(confirm("End now", "ended", "End the campaign now? Callers and invitation links stop at once."),
      confirm("Kill", "killed", "Kill the campaign? Everything stops at once and it cannot be restarted."));
  }
  return h("section", { "aria-labelledby": "state-h" },
    h("h2", { id: "state-h" }, "State"),
    h("p", { class: "status", id: "campaign-state" }, STATE_NAMES[c.state] || c.state),
    facts([["Scope", c.scope && (c.scope.name || c.scope.code)], ["Starts", formatDate(c.starts_at, true)],
      ["Ends", formatDate(c.ends_at, true)], ["Version", c.version]]),
    errors, actions, confirmBox);
}

// ---- progress ----------------------------------------------------------------

// The figures (docs/phonebank.md, "Progress and results"): members still to
// call, calls made (every outcome), conversations, members finished.
async function loadProgress(id, into) {
  let p;
  try {
    p = await get("/campaigns/" + encodeURIComponent(id) + "/progress");
  } catch (err) {
    into.replaceChildren(errorBanner(err));
    return;
  }
  const t = p.totals || {};
  const outcomes = Object.entries(t.by_outcome || {});
  const units = p.by_unit || [];
  const callers = p.by_caller || [];
  const live = p.live || {};
  into.replaceChildren(
    h("div", { class: "stats" }, stat("Members to call", t.to_call), stat("Calls made", t.calls),
      stat("Conversations", t.conversations), stat("Members finished", t.done)),
    h("h3", {}, "Calls going on now"),
    h("div", { class: "stats", id: "live-calls" },
      stat("Ringing a caller", live.calling_you), stat("Ringing a member", live.calling_member),
      stat("Connected", live.connected)),
    h("p", { class: "hint muted" }, `Of ${t.targets ?? 0} members in the audience: ${t.to_call ?? 0} can still ` +
      `be called, ${t.done ?? 0} are finished (answered, out of tries, or not to be called again)` +
      (t.in_progress ? `, ${t.in_progress} being called now.` : ".")),
    outcomes.length ? table(["Outcome", "Calls"], outcomes.map(([k, v]) => [OUTCOME_NAMES[k] || k, v])) : "",
    units.length ? h("h3", {}, "By unit") : "",
    units.length ? table(["Unit", "Audience", "To call", "Done", "Calls"], units.map((u) =>
      [unitName(u.unit), u.targets ?? 0, u.to_call ?? 0, u.done ?? 0, u.calls ?? 0])) : "",
    callers.length ? h("h3", {}, "By caller") : "",
    callers.length ? table(["Caller", "Calls", "Conversations"], callers.map((c) =>
      [c.display_name || "Account " + c.account, c.calls ?? 0, c.conversations ?? 0])) : "");
}

function table(headings, rows) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((x) => h("td", {}, String(x)))))));
}

// ---- invitations ---------------------------------------------------------------

function invitesSection(c) {
  const base = "/campaigns/" + encodeURIComponent(c.id) + "/invites";
  const errors = h("div", {});
  const created = h("div", { id: "invite-created" });
  const list = h("div", { id: "invite-list" });
  const label = h("input", { type: "text", name: "label", required: true, maxlength: "100" });
  const maxJoins = h("input", { type: "number", name: "max_joins", min: "1", max: "1000", value: "25" });
  const expires = h("input", { type: "datetime-local", name: "expires_at" });
  const form = h("form", { novalidate: true },
    field("Label", label, "Who the link is for, e.g. \"Tuesday phone bank\""),
    field("Most people who can join with it", maxJoins),
    field("Link stops working at (optional)", expires, "At the latest when the campaign ends"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create invitation link")));

  async function load() {
    try {
      const invites = (await get(base)).invites || [];
      clear(list);
      if (!invites.length) {
        list.append(h("p", {}, "No invitation links yet."));
        return;
      }
      for (const inv of invites) list.append(inviteCard(inv));
    } catch (err) {
      list.replaceChildren(errorBanner(err));
    }
  }

  function inviteCard(inv) {
    const joined = inv.joined || [];
    const revoke = h("button", { type: "button", class: "secondary" }, "Revoke " + inv.label);
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      errors.replaceChildren();
      try {
        await post(base + "/" + encodeURIComponent(inv.id) + "/revoke");
        announce("The link " + inv.label + " no longer works.");
        await load();
      } catch (err) {
        errors.append(errorBanner(err));
        revoke.disabled = false;
      }
    });
    return h("div", { class: "card", "data-invite": String(inv.id) },
      h("h3", {}, inv.label),
      facts([["Joined", (inv.joins ?? joined.length) + " of " + inv.max_joins],
        ["Expires", formatDate(inv.expires_at, true)], ["State", inv.revoked ? "Revoked" : "Working"]]),
      joined.length
        ? h("ul", {}, joined.map((j) => h("li", {}, (j.display_name || "Account " + j.account) +
          (j.joined_at ? ", " + formatDate(j.joined_at, true) : ""))))
        : h("p", { class: "muted" }, "Nobody has joined through this link yet."),
      inv.revoked ? "" : h("div", { class: "actions" }, revoke));
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    if (!label.value.trim()) {
      errors.append(errorBanner({ message: "Give the link a label so you know who it is for." }));
      label.focus();
      return;
    }
    const body = { label: label.value.trim(), max_joins: Number(maxJoins.value) || 1 };
    if (expires.value) body.expires_at = new Date(expires.value).toISOString();
    try {
      const res = await post(base, body);
      const url = new URL(res.url, location.origin).toString();
      const out = h("input", { type: "text", readonly: true, value: url, id: "invite-url" });
      const copy = h("button", { type: "button", class: "secondary" }, "Copy link");
      const copied = h("span", { role: "status" });
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(url);
          copied.textContent = " Copied.";
        } catch {
          out.select();
          copied.textContent = " Select the link and copy it.";
        }
      });
      created.replaceChildren(h("div", { class: "banner ok" },
        h("p", {}, "Link created. Whoever opens it signs in, or signs up by proving who they are " +
          "(members by a link sent to the address the register holds), and only eligible people can join."),
        field("Invitation link", out), h("div", { class: "actions" }, copy, copied)));
      label.value = "";
      announce("Invitation link created.");
      await load();
    } catch (err) {
      errors.append(errorBanner(err));
    }
  });
  load();
  return h("section", { "aria-labelledby": "invites-h" },
    h("h2", { id: "invites-h" }, "Invitation links"), errors, form, created, list);
}

// ---- create and edit -------------------------------------------------------------

function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A draft changes freely; a live or paused campaign only its script and the
// fields callers see (docs/phonebank.md); an ended one not at all.
function campaignForm(ctx, c, timers) {
  const mode = !c || c.state === "draft" ? "draft"
    : c.state === "live" || c.state === "paused" ? "live" : "closed";
  const a = (c && c.audience) || {};
  const errors = h("div", {});
  const name = h("input", { type: "text", name: "name", required: true, maxlength: "200", value: c ? c.name : "" });
  const scope = h("select", { name: "scope", required: true });
  const scopes = new Map();
  for (const g of ctx.session.grants || []) {
    if ((g.capabilities || []).includes("phonebank.manage") && g.scope) scopes.set(g.scope.code, g.scope.name);
  }
  if (c && c.scope && c.scope.code && !scopes.has(c.scope.code)) scopes.set(c.scope.code, c.scope.name);
  for (const [code, label] of scopes) {
    scope.append(h("option", { value: code, selected: c && c.scope && c.scope.code === code }, label || code));
  }
  const purpose = h("textarea", { name: "purpose", rows: "2", required: true });
  purpose.value = (c && c.purpose) || "";

  // ---- the audience: a segment inside the scope
  const statuses = STATUSES.map(([v, l]) => [h("input", { type: "checkbox", name: "status", value: v,
    checked: (a.statuses || ["current"]).includes(v) }), l]);
  const types = h("input", { type: "text", name: "types", value: (a.types || []).join(", ") });
  const units = h("input", { type: "text", name: "units", value: (a.units || []).map(unitCode).join(", ") });
  const consents = CONSENTS.map(([v, l]) => [h("input", { type: "checkbox", name: "consent", value: v,
    checked: (a.consents || []).includes(v) }), l]);
  const date = (key) => h("input", { type: "date", name: key, value: (a[key] || "").slice(0, 10) });
  const joinedFrom = date("joined_from");
  const joinedTo = date("joined_to");
  const lapsedFrom = date("lapsed_from");
  const lapsedTo = date("lapsed_to");
  const since = date("not_contacted_since");
  const count = h("p", { class: "status", id: "audience-count", role: "status", "aria-live": "polite" },
    mode === "draft" ? (c ? countText(c.audience_count) : "") : countText(c.targets, "Fixed when it went live: "));
  const audienceInputs = [...statuses.map((x) => x[0]), types, units, ...consents.map((x) => x[0]),
    joinedFrom, joinedTo, lapsedFrom, lapsedTo, since];

  const script = h("textarea", { name: "script", rows: "8" });
  script.value = (c && c.script) || "";
  // ---- who may join through the campaign's links
  const elig = (c && c.eligibility) || {};
  const inScopeOnly = h("input", { type: "checkbox", name: "members_in_scope_only",
    checked: !!elig.members_in_scope_only });
  const minYears = h("input", { type: "number", name: "min_membership_years", min: "0", max: "80",
    value: String(elig.min_membership_years || 0) });
  const nonMembers = h("input", { type: "checkbox", name: "non_members_may_sign_up",
    checked: !!elig.non_members_may_sign_up });

  const fields = FIELDS.map(([v, l]) => [h("input", { type: "checkbox", name: "fields", value: v,
    checked: (c && c.fields ? c.fields : FIELDS.map((f) => f[0])).includes(v) }), l]);
  const hours = (c && c.calling_hours) || {};
  const start = h("input", { type: "time", name: "calling_start", value: hours.start || "09:00" });
  const end = h("input", { type: "time", name: "calling_end", value: hours.end || "21:00" });
  const startsAt = h("input", { type: "datetime-local", name: "starts_at", required: true,
    value: toLocalInput(c ? c.starts_at : new Date().toISOString()) });
  const endsAt = h("input", { type: "datetime-local", name: "ends_at", required: true,
    value: toLocalInput(c ? c.ends_at : new Date(Date.now() + 28 * 864e5).toISOString()) });
  const survey = surveyEditor((c && c.survey) || []);
  const line = c && c.calling_line ? lineInputs(c) : null;

  const list = (input) => input.value.split(",").map((x) => x.trim()).filter(Boolean);
  const audience = () => {
    const out = {
      statuses: statuses.filter(([i]) => i.checked).map(([i]) => i.value),
      consents: ["phone", ...consents.filter(([i]) => i.checked).map(([i]) => i.value)],
    };
    if (list(types).length) out.types = list(types).map((t) => t.toLowerCase());
    if (list(units).length) out.units = list(units);
    for (const [key, input] of [["joined_from", joinedFrom], ["joined_to", joinedTo],
      ["lapsed_from", lapsedFrom], ["lapsed_to", lapsedTo], ["not_contacted_since", since]]) {
      if (input.value) out[key] = input.value;
    }
    return out;
  };
  let pending = null;
  const recount = (delay = 400) => {
    if (mode !== "draft") return;
    clearTimeout(pending);
    pending = setTimeout(async () => {
      count.textContent = "Counting…";
      try {
        const res = c
          ? await post("/campaigns/" + encodeURIComponent(c.id) + "/audience-count", { audience: audience() })
          : await post("/audience-count", { scope: scope.value, audience: audience() });
        count.textContent = countText(res.count);
      } catch (err) {
        count.textContent = err.message;
      }
    }, delay);
    timers.push(pending);
  };
  for (const el of [...audienceInputs, scope]) {
    el.addEventListener("input", () => recount());
    el.addEventListener("change", () => recount());
  }
  if (!c && scope.value) recount(0);

  const save = h("button", { type: "submit" },
    !c ? "Save draft" : mode === "live" ? "Save live changes" : "Save changes");
  const frozen = (text) => (mode === "live" ? h("p", { class: "hint muted" }, text) : "");
  const form = h("form", { novalidate: true, id: "campaign-form" },
    mode === "live" ? h("p", { class: "banner practice" },
      "This campaign is " + (c.state === "paused" ? "paused" : "live") + ": only the script, what " +
      "callers see, the caller ID and the ring time can change. Each change makes a new version (now version " + c.version + ") " +
      "and is recorded.") : "",
    mode === "closed" ? h("p", { class: "banner practice" }, "This campaign is over and can no longer change.") : "",
    errors,
    field("Campaign name", name),
    field("Scope", scope, "The part of the organisation it covers"),
    field("Purpose", purpose, "Shown to people who are invited"),
    h("fieldset", { id: "audience" }, h("legend", {}, "Audience"),
      frozen("The members to call were fixed when the campaign went live."),
      h("p", { class: "hint muted" }, "Whoever you choose, only members who agreed to phone calls, have a " +
        "working number and are not marked do not contact, no phone calls, moved or deceased are called."),
      h("fieldset", {}, h("legend", {}, "Membership status"),
        h("div", { class: "choice" }, statuses.map(([i, l]) => h("label", { class: "inline" }, i, l)))),
      field("Membership types (optional)", types, "For example standard, reduced; separated by commas. " +
        "Empty: every type"),
      field("Only these units (optional)", units, "Unit codes inside the scope, separated by commas"),
      h("fieldset", {}, h("legend", {}, "Also agreed to (optional)"),
        h("div", { class: "choice" }, consents.map(([i, l]) => h("label", { class: "inline" }, i, l)))),
      h("fieldset", {}, h("legend", {}, "Joined (optional)"),
        h("div", { class: "pair" }, field("On or after", joinedFrom), field("Before", joinedTo))),
      h("fieldset", {}, h("legend", {}, "Lapsed (optional)"),
        h("div", { class: "pair" }, field("On or after", lapsedFrom), field("Before", lapsedTo))),
      field("Not contacted since (optional)", since, "Leaves out members contacted on any channel since this date"),
      count),
    field("Script", script,
      "Simple formatting: # heading, **bold**, *italic*, - list. {{first_name}} and {{unit_name}} " +
      "are filled in for each member, when the campaign shows callers that field."),
    h("div", {}, frozen("Answers already recorded follow these questions."), survey.el),
    h("fieldset", {}, h("legend", {}, "Who may join through its links"),
      h("label", { class: "inline" }, inScopeOnly, "Only members of this campaign's unit"),
      field("Members for at least (years)", minYears, "0: any member"),
      h("label", { class: "inline" }, nonMembers,
        "People who are not members may sign up with an e-mail address of their own")),
    h("fieldset", {}, h("legend", {}, "What callers see"),
      h("div", { class: "choice" }, fields.map(([i, l]) => h("label", { class: "inline" }, i, l)))),
    h("fieldset", {}, h("legend", {}, "Calling hours" + (hours.time_zone ? " (" + hours.time_zone + " time)" : "")),
      h("div", { class: "pair" }, field("From", start), field("Until", end))),
    field("Starts", startsAt), field("Ends", endsAt, "At most 12 weeks after the start"),
    line ? line.el : "",
    mode === "closed" ? "" : h("div", { class: "actions" }, save));
  if (mode !== "draft") {
    const keep = mode === "live"
      ? new Set([script, save, ...fields.map(([i]) => i), ...(line ? line.inputs : [])]) : new Set();
    for (const el of form.querySelectorAll("input, select, textarea, button")) {
      if (!keep.has(el)) el.disabled = true;
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    const shown = fields.filter(([i]) => i.checked).map(([i]) => i.value);
    let body;
    if (line && line.error()) {
      errors.append(errorBanner({ message: line.error() }));
      line.inputs[1].focus();
      return;
    }
    if (mode === "live") {
      body = { version: c.version, script: script.value, fields: shown };
      if (line) Object.assign(body, line.value());
    } else {
      if (!name.value.trim() || !startsAt.value || !endsAt.value) {
        errors.append(errorBanner({ message: "A campaign needs a name, a start and an end." }));
        return;
      }
      body = {
        name: name.value.trim(),
        scope: scope.value,
        purpose: purpose.value.trim(),
        audience: audience(),
        script: script.value,
        survey: survey.value(),
        fields: shown,
        calling_hours: { start: start.value, end: end.value },
        eligibility: {
          members_in_scope_only: inScopeOnly.checked,
          min_membership_years: Number(minYears.value) || 0,
          non_members_may_sign_up: nonMembers.checked,
        },
        starts_at: new Date(startsAt.value).toISOString(),
        ends_at: new Date(endsAt.value).toISOString(),
      };
      if (c) body.version = c.version;
      if (line) Object.assign(body, line.value());
    }
    save.disabled = true;
    try {
      if (c) {
        const res = await patch("/campaigns/" + encodeURIComponent(c.id), body);
        const v = res.campaign && res.campaign.version;
        announce((res.changed || []).length ? "Changes saved as version " + v + "." : "Nothing had changed.");
        await ctx.rerender();
      } else {
        const res = await post("/campaigns", body);
        announce("Draft saved.");
        location.hash = "#/organise/" + encodeURIComponent(res.campaign.id);
      }
    } catch (err) {
      errors.append(errorBanner(err));
      save.disabled = false;
    }
  });
  return form;
}

// The number both phones show and how long the member's phone rings: one of
// the organisation's numbers ([telephony] on the server), or its defaults.
function lineInputs(c) {
  const l = c.calling_line;
  const choices = l.caller_ids || [];
  const number = h("select", { name: "caller_id_number", id: "caller-id-number" },
    h("option", { value: "", selected: !c.caller_id_number },
      "The organisation's default" + (l.default_caller_id ? " (" + l.default_caller_id + ")" : "")),
    choices.map((n) => h("option", { value: n, selected: c.caller_id_number === n }, n)));
  if (c.caller_id_number && !choices.includes(c.caller_id_number)) {
    // Taken off the organisation's list since: calls are refused until another is chosen.
    number.append(h("option", { value: c.caller_id_number, selected: true },
      c.caller_id_number + " (no longer one of the organisation's numbers)"));
  }
  const min = l.min_ring_seconds ?? 10;
  const max = l.max_ring_seconds ?? 60;
  const ring = h("input", { type: "number", name: "ring_seconds", id: "ring-seconds", min: String(min),
    max: String(max), step: "1", placeholder: String(l.default_ring_seconds ?? ""),
    value: c.ring_seconds ? String(c.ring_seconds) : "" });
  const el = h("fieldset", { id: "calling-line" }, h("legend", {}, "Calling line"),
    field("Caller ID", number, choices.length
      ? "The number both the caller's phone and the member's phone show. Only the organisation's own numbers can be chosen."
      : "The organisation has listed no other numbers; calls show its default number."),
    field("Ring the member for (seconds)", ring, `${min} to ${max}; empty: the default, ` +
      `${l.default_ring_seconds ?? "set on the server"} seconds. Then the call ends as no answer.`));
  return {
    el,
    inputs: [number, ring],
    error: () => {
      if (!ring.value) return "";
      const n = Number(ring.value);
      return Number.isInteger(n) && n >= min && n <= max ? ""
        : `Ring the member for ${min} to ${max} seconds, or leave it empty for the default.`;
    },
    value: () => ({
      caller_id_number: number.value || null,
      ring_seconds: ring.value ? Number(ring.value) : null,
    }),
  };
}

function unitCode(u) {
  return u && typeof u === "object" ? u.code || String(u.id ?? "") : String(u);
}

function countText(n, prefix = "") {
  if (n === undefined || n === null) return "";
  return prefix + "Audience: " + Number(n).toLocaleString("en-GB") + (n === 1 ? " member" : " members");
}

function surveyEditor(initial) {
  const rows = [];
  const box = h("div", {});
  const add = h("button", { type: "button", class: "secondary" }, "Add a question");
  const el = h("fieldset", { id: "survey-editor" }, h("legend", {}, "Survey"), box, h("div", { class: "actions" }, add));
  let n = 0;
  const addRow = (q = {}) => {
    n += 1;
    const text = h("input", { type: "text", name: "question", value: q.question || "" });
    const type = h("select", { name: "type" }, QUESTION_TYPES.map(([v, l]) => h("option", { value: v, selected: q.type === v }, l)));
    const options = h("input", { type: "text", name: "options", value: (q.options || []).join(", ") });
    const optionsField = field("Options", options, "Separated by commas (for choice and scale)");
    const remove = h("button", { type: "button", class: "link" }, "Remove question " + n);
    const row = { id: q.id || "q" + n, text, type, options, el: null };
    row.el = h("div", { class: "card" }, field("Question " + n, text), field("Answer type", type), optionsField, remove);
    const sync = () => { optionsField.hidden = !(type.value === "choice" || type.value === "scale"); };
    type.addEventListener("change", sync);
    sync();
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      add.focus();
    });
    rows.push(row);
    box.append(row.el);
    return row;
  };
  for (const q of initial) addRow(q);
  add.addEventListener("click", () => addRow().text.focus());
  return {
    el,
    value: () => rows.filter((r) => r.text.value.trim()).map((r) => {
      const q = { id: r.id, question: r.text.value.trim(), type: r.type.value };
      if (r.type.value === "choice" || r.type.value === "scale") {
        q.options = r.options.value.split(",").map((x) => x.trim()).filter(Boolean);
        if (r.type.value === "scale") q.options = q.options.map((x) => (Number.isNaN(Number(x)) ? x : Number(x)));
      }
      return q;
    }),
  };
}
