// What the e-mail screens share: names for kinds, states and checks, which
// capabilities the session's grants carry, an audience in words, and the
// preview of a message as a sample recipient gets it.
//
// A preview's HTML comes from the server's checked template, but it is still
// markup written by a person: it is shown only inside an iframe sandboxed
// with every restriction (no scripts, no same origin, no forms, no popups)
// and a policy of its own that loads nothing. It never enters this page's DOM.

import { post } from "./api.js";
import { h, facts, errorBanner, formatDate } from "./dom.js";

export const KINDS = [
  ["service", "Service",
    "A notice every member needs (meetings, ballots, rule changes). Needs no marketing consent; " +
    "members who asked for no contact are still left out."],
  ["campaign", "Campaign",
    "Asks members to act or take part. Goes only to members who agreed to e-mail."],
  ["endorsement", "Endorsement",
    "A statement backing a candidate. Goes only to members who agreed to e-mail and to hear " +
    "from candidates."],
];
export const KIND_NAMES = Object.fromEntries(KINDS.map(([v, l]) => [v, l]));
export const KIND_HELP = Object.fromEntries(KINDS.map(([v, , help]) => [v, help]));

export const FROM_KINDS = [
  ["unit", "A unit", "The scope itself, or a unit inside it."],
  ["organisation", "The organisation", "Only for a message to the whole organisation."],
  ["candidate", "A candidate campaign", "The candidate approves it from their own account."],
  ["person", "A named person", "Unless that is you, they approve it from their own account."],
];

export const STATE_NAMES = { draft: "Draft", sending: "Sending", sent: "Sent", cancelled: "Cancelled" };

export const MERGE_FIELDS = [
  ["{{first_name}}", "the member's first name (it may be empty)"],
  ["{{unit_name}}", "the name of the member's unit"],
  ["{{unsubscribe_url}}", "the member's own unsubscribe link"],
  ["{{preferences_url}}", "the member's own page to choose what they are sent"],
];

const CHECK_NAMES = {
  "message.valid": "The message is valid",
  "message.on_behalf": "Approval by the person it speaks for",
  "message.second_approval": "Second approval",
  "message.audience": "Audience",
};
const APPROVAL_NAMES = { on_behalf: "In their own name", second: "Second approval" };

export const MESSAGE_CAPS = ["message.draft", "message.approve", "message.send"];

// Whether any grant in force gives `cap` (the server still decides per scope).
export function hasCap(session, cap) {
  return ((session && session.grants) || []).some((g) => (g.capabilities || []).includes(cap));
}

export function canEmail(session) {
  return MESSAGE_CAPS.some((c) => hasCap(session, c));
}

export function unitWords(u) {
  if (!u) return "";
  if (typeof u !== "object") return String(u);
  if (u.name && u.code && u.name !== u.code) return u.name + " (" + u.code + ")";
  return u.name || u.code || String(u.id ?? "");
}

export function fromWords(from) {
  if (!from) return "";
  switch (from.kind) {
    case "organisation": return "The organisation" + (from.name ? " (" + from.name + ")" : "");
    case "unit": return from.unit ? unitWords(from.unit) : (from.name || "The unit");
    case "candidate": return (from.name || "A candidate campaign") + " (a candidate campaign)";
    case "person": return (from.name || "A named person") + " (a named person)";
    default: return from.name || from.kind || "";
  }
}

const day = (s) => formatDate(s);

// {"scope": "E14000530", "statuses": ["current"], ...} in words.
export function audienceWords(a, scope) {
  if (!a) return "";
  const parts = ["Members in " + (scope ? unitWords(scope) : (a.scope || "the scope"))];
  if ((a.units || []).length) parts.push("only in " + a.units.join(", "));
  if ((a.statuses || []).length) parts.push("status " + a.statuses.join(" or "));
  if ((a.types || []).length) parts.push("membership type " + a.types.join(" or "));
  if (a.joined_from) parts.push("joined on or after " + day(a.joined_from));
  if (a.joined_to) parts.push("joined before " + day(a.joined_to));
  if (a.lapsed_from) parts.push("lapsed on or after " + day(a.lapsed_from));
  if (a.lapsed_to) parts.push("lapsed before " + day(a.lapsed_to));
  if (a.not_contacted_since) parts.push("not contacted since " + day(a.not_contacted_since));
  return parts.join("; ");
}

export function checkName(rule) {
  return CHECK_NAMES[rule] || rule;
}

export function approvalsList(approvals, empty = "None for this version yet.") {
  if (!approvals || !approvals.length) return h("p", { class: "muted" }, empty);
  return h("ul", { class: "approvals" }, approvals.map((a) =>
    h("li", {}, (APPROVAL_NAMES[a.kind] || a.kind) + ": " + (a.name || "account " + a.account) +
      ", version " + a.version + (a.at ? ", " + formatDate(a.at, true) : ""))));
}

export function checksTable(checks) {
  return h("table", { class: "checks" },
    h("thead", {}, h("tr", {}, ["Check", "Result", "Detail"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, checks.map((c) => h("tr", { class: c.passed ? "passed" : "failed" },
      h("td", {}, checkName(c.rule)),
      h("td", {}, c.passed ? "Passed" : "Failed"),
      h("td", {}, c.detail || "")))));
}

// Who the sample recipient is, in words that say it is made up.
export function sampleWords(r) {
  r = r || {};
  const parts = ["first name " + (r.first_name || "(none)")];
  if (r.unit_name) parts.push("unit " + r.unit_name);
  return "Sample: " + parts.join(", ") + ". A made-up member, never a real one.";
}

// The message as its sample recipient gets it. `prefix` keeps element ids
// unique when a page shows several previews.
export function previewView(p, prefix = "preview", level = 3) {
  const hx = "h" + level;
  const r = p.sample_recipient || {};
  const children = [
    h("p", { class: "sample-note", id: prefix + "-sample" }, sampleWords(r)),
    facts([["From", p.from_name], ["Subject", p.subject]]),
    h(hx, {}, "Text version"),
    h("pre", { class: "mail-text", id: prefix + "-text" }, p.text || ""),
  ];
  if (p.html) {
    const frame = h("iframe", {
      class: "mail-html", id: prefix + "-html", sandbox: "", referrerpolicy: "no-referrer",
      title: "HTML version of the message, as the sample recipient sees it",
    });
    // No scripts, no loads: the frame's own policy on top of the sandbox.
    frame.srcdoc = "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">" +
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head><body>" +
      p.html + "</body></html>";
    children.push(h(hx, {}, "HTML version"), frame);
  } else {
    children.push(h("p", { class: "muted" }, "No HTML version: everyone gets the text version."));
  }
  return h("div", { class: "card preview", id: prefix, role: "group", "aria-label": "Preview" }, children);
}

// Asks the server for the preview of message `id` and shows it in `into`.
export async function loadPreview(id, into) {
  into.replaceChildren(h("p", { class: "muted" }, "Preparing the preview…"));
  try {
    const res = await post("/messages/" + encodeURIComponent(id) + "/preview");
    into.replaceChildren(previewView(res.preview || {}));
    return true;
  } catch (err) {
    into.replaceChildren(errorBanner(err));
    return false;
  }
}

export function countText(n) {
  if (n === undefined || n === null) return "";
  return Number(n).toLocaleString("en-GB") + (n === 1 ? " member" : " members");
}
