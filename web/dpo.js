// The data-protection officer's console (RULEBOOK §10), for accounts whose
// grants carry audit.read or a privacy.* capability:
//
//   #/dpo                     open alerts, suspended accounts, breaches due
//   #/dpo/audit?member=&actor=&action=&from=&to=   audit search, each event
//                             with its inclusion proof checked here
//   #/dpo/breaches, #/dpo/breaches/<id>            the breach register
//   #/dpo/grants              who can see what now, and what ends soon
//   #/dpo/witness             signed checkpoints, checked and downloadable
//   #/dpo/exports             exports to approve, their history, tracing a
//                             leaked file (exports.js)
//
// Proofs are checked in this page, not by the server: the event's canonical
// bytes are hashed as an RFC 6962 leaf (WebCrypto SHA-256), walked up its
// inclusion proof to a root, and that root must be the one in the newest
// checkpoint, whose C2SP signed note must carry a valid Ed25519 signature
// (WebCrypto Ed25519) by the verifier key. The key comes from the server;
// the page remembers the first one it saw in this browser and refuses to
// verify against another, and shows it so the DPO can compare it with the
// one they hold (`switchboard audit key`).

import { get, post, patch } from "./api.js";
import { h, field, errorBanner, formatDate, facts, announce } from "./dom.js";
import { renderDpo as exportsTab } from "./exports.js";

const AUDIT_CAPS = ["audit.read", "privacy.sar", "privacy.erase", "privacy.breach", "privacy.retention"];
const KEY_PIN = "switchboard.audit-key";

function caps(session) {
  const out = new Set();
  for (const g of (session && session.grants) || []) for (const c of g.capabilities || []) out.add(c);
  return out;
}

// Whether the console is for this session (app.js's navigation).
export function isDpo(session) {
  const c = caps(session);
  return AUDIT_CAPS.some((x) => c.has(x));
}

// ---- hashing and signatures ----

const enc = new TextEncoder();

function hexToBytes(hex) {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error("the proof is not hexadecimal");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function bytesToHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function b64ToBytes(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// RFC 6962 leaf hash of an event's canonical bytes.
async function leafHash(body) {
  return sha256(concat(Uint8Array.of(0), enc.encode(body)));
}

// RFC 9162 2.1.3.2: the root an inclusion proof leads to from leaf `index`
// of a tree of `size` leaves, or null when the proof cannot fit that tree.
async function rootFromProof(index, size, leaf, proof) {
  if (index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      if (fn % 2 === 0) {
        do {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        } while (fn % 2 === 0 && fn !== 0);
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// Parses a C2SP verifier key "name+hash+base64(0x01 || key)".
async function parseVerifierKey(vkey) {
  // The key's base64 may itself hold "+": split at the first two only.
  const a = vkey.indexOf("+");
  const b = vkey.indexOf("+", a + 1);
  if (a < 0 || b < 0) throw new Error("the verifier key is not name+hash+key");
  const [name, hash, keyB64] = [vkey.slice(0, a), vkey.slice(a + 1, b), vkey.slice(b + 1)];
  const typed = b64ToBytes(keyB64);
  if (typed.length !== 33 || typed[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
  const kh = (await sha256(concat(enc.encode(name + "\n"), typed))).slice(0, 4);
  if (bytesToHex(kh) !== hash.toLowerCase()) throw new Error("the verifier key's hash does not fit its key");
  const key = await crypto.subtle.importKey("raw", typed.slice(1), { name: "Ed25519" }, false, ["verify"]);
  return { name, keyHash: kh, key };
}

// Checks a checkpoint's signed note against the verifier key; returns its
// tree size and root, or throws saying why not.
async function verifyNote(note, vkey) {
  const k = await parseVerifierKey(vkey);
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the note has no signature block");
  const text = note.slice(0, split + 1);
  const lines = text.split("\n");
  if (lines[0] !== k.name) throw new Error("the note is not from this log (" + lines[0] + ")");
  const size = Number(lines[1]);
  const root = b64ToBytes(lines[2]);
  const mark = "\u2014 " + k.name + " ";
  let ok = false;
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line.startsWith(mark)) continue;
    const sig = b64ToBytes(line.slice(mark.length));
    if (sig.length !== 68 || !equal(sig.slice(0, 4), k.keyHash)) continue;
    ok = await crypto.subtle.verify({ name: "Ed25519" }, k.key, sig.slice(4), enc.encode(text));
    if (ok) break;
  }
  if (!ok) throw new Error("the checkpoint's signature does not verify");
  return { size, root };
}

// The server's checkpoints and its verifier key, the key pinned to the first
// one this browser saw.
async function checkpointsAndKey() {
  const r = await get("/audit/checkpoints");
  const vkey = r.verifier_key;
  if (!vkey) throw new Error("the server did not say which key signs its checkpoints");
  const pinned = localStorage.getItem(KEY_PIN);
  if (pinned && pinned !== vkey) {
    throw new Error("the server's verifier key is not the one this browser saw before: " +
      "do not trust this log until you have checked the key");
  }
  if (!pinned) localStorage.setItem(KEY_PIN, vkey);
  return r;
}

// The newest checkpoint with a signed note, checked: {size, root}.
async function latestCheckpoint() {
  const r = await checkpointsAndKey();
  const cps = (r.checkpoints || []).filter((c) => c.note);
  if (!cps.length) throw new Error("no signed checkpoint yet");
  return verifyNote(cps[cps.length - 1].note, r.verifier_key);
}

// Checks one event's proof (hex hashes) against a checked checkpoint:
// {ok, pending, why}. From the event's bytes when it has them, else from
// its leaf hash (a subject-access report leaves out bytes naming others).
async function checkProof(event, cp, proofHex) {
  if (event.seq >= cp.size) return { ok: false, pending: true, why: "not yet under a signed checkpoint" };
  let leaf;
  if (event.body !== undefined) {
    let parsed;
    try {
      parsed = JSON.parse(event.body);
    } catch {
      return { ok: false, why: "the event's bytes are not JSON" };
    }
    if (parsed.seq !== event.seq) return { ok: false, why: "the event's bytes name another position" };
    leaf = await leafHash(event.body);
    if (event.leaf_hash && bytesToHex(leaf) !== event.leaf_hash) {
      return { ok: false, why: "the event's bytes do not hash to its leaf" };
    }
  } else if (event.leaf_hash) {
    leaf = hexToBytes(event.leaf_hash);
  } else {
    return { ok: false, why: "the event has neither its bytes nor its leaf hash" };
  }
  const root = await rootFromProof(event.seq, cp.size, leaf, (proofHex || []).map(hexToBytes));
  if (!root) return { ok: false, why: "the proof does not fit the tree" };
  if (!equal(root, cp.root)) return { ok: false, why: "the proof does not lead to the signed root" };
  return { ok: true, why: `included in the signed checkpoint of ${cp.size} events` };
}

async function verifyEvent(event, cp) {
  if (event.seq >= cp.size) return checkProof(event, cp, []);
  const p = await get(`/audit/proof?seq=${event.seq}&size=${cp.size}`);
  return checkProof(event, cp, p.proof);
}

// The proofs a subject-access report carries (sar.js): its checkpoint's
// signature by the pinned key, then each event. Map of seq to the result.
export async function checkReportProofs(audit) {
  const cp = audit && audit.checkpoint;
  if (!cp || !cp.note) throw new Error("the report has no signed checkpoint");
  const signed = await verifyNote(cp.note, (await checkpointsAndKey()).verifier_key);
  const out = new Map();
  for (const e of audit.events) out.set(e.seq, await checkProof(e, signed, e.proof));
  return out;
}

// ---- screens ----

function parseQuery() {
  const i = location.hash.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : location.hash.slice(i + 1));
}

export function tabs(current) {
  const items = [
    ["/#/dpo", "Dashboard", ""],
    ["/#/dpo/audit", "Audit log", "audit"],
    ["/#/dpo/breaches", "Breaches", "breaches"],
    ["/#/dpo/grants", "Who can see what", "grants"],
    ["/#/privacy/requests", "Requests", "requests"],
    ["/#/dpo/exports", "Exports", "exports"],
    ["/#/dpo/witness", "Checkpoints", "witness"],
  ];
  return h("nav", { class: "tabs", "aria-label": "Data protection" },
    h("ul", {}, items.map(([href, label, v]) =>
      h("li", {}, h("a", { href, "aria-current": v === current ? "page" : null }, label)))));
}

const RULES = {
  "anomaly.rate": "Unusually many records read",
  "anomaly.probing": "Repeated refused requests (probing)",
  "anomaly.canary": "A canary record was opened",
};

function table(caption, headings, rows, attrs = {}) {
  return h("table", attrs,
    caption ? h("caption", {}, caption) : "",
    h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}

// The time left to tell the regulator, or when it was told.
function deadlineCell(b) {
  if (b.reported_at) return `Reported ${formatDate(b.reported_at, true)}`;
  return h("span", { class: b.overdue ? "overdue" : "due", "data-deadline": b.deadline },
    `${b.deadline_text} (by ${formatDate(b.deadline, true)})`);
}

function breachTable(list) {
  return table("", ["Breach", "Discovered", "Status", "Regulator deadline", "Affected"],
    list.map((b) => h("tr", { "data-breach": b.id },
      h("th", { scope: "row" }, h("a", { href: `/#/dpo/breaches/${b.id}` }, `#${b.id}: ${b.description.slice(0, 80)}`)),
      h("td", {}, formatDate(b.discovered_at, true)),
      h("td", {}, b.status),
      h("td", {}, deadlineCell(b)),
      h("td", {}, b.scope ? String(b.affected) : "not worked out"))));
}

// A button that asks for a reason or note first, then posts it.
function withReason(ctx, { label, fieldLabel, missing, send, done }) {
  const input = h("input", { type: "text", maxlength: 500, autocomplete: "off" });
  const btn = h("button", { type: "button" }, label);
  const status = h("div", { role: "status" });
  btn.addEventListener("click", async () => {
    if (!input.value.trim()) {
      status.replaceChildren(missing);
      input.focus();
      return;
    }
    try {
      await send(input.value.trim());
      announce(done);
      ctx.rerender();
    } catch (err) {
      status.replaceChildren(errorBanner(err));
    }
  });
  return [field(fieldLabel, input), h("div", { class: "actions" }, btn), status];
}

async function renderDashboard(ctx) {
  const s = caps(ctx.session);
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  ctx.show(h("h1", {}, "Data protection"), tabs(""), body);
  const [alerts, accounts, breaches] = await Promise.all([
    s.has("audit.read") ? get("/alerts?open=true").catch((e) => e) : null,
    s.has("account.manage") ? get("/accounts").catch((e) => e) : null,
    s.has("privacy.breach") ? get("/breaches").catch((e) => e) : null,
  ]);
  if (!ctx.live()) return;
  const logins = new Map();
  if (accounts && !(accounts instanceof Error)) for (const a of accounts.accounts) logins.set(a.id, a);
  const who = (id) => (logins.has(id)
    ? `${logins.get(id).display_name} (${logins.get(id).login}, account ${id})` : `account ${id}`);
  const parts = [];

  if (alerts) {
    parts.push(h("h2", { id: "alerts-h" }, "Open alerts"));
    if (alerts instanceof Error) parts.push(errorBanner(alerts));
    else if (!alerts.alerts.length) parts.push(h("p", {}, "No open alerts."));
    else {
      parts.push(h("ul", { class: "cards", "aria-labelledby": "alerts-h" }, alerts.alerts.map((a) =>
        h("li", { class: "card alert " + a.severity, "data-alert": a.id },
          h("h3", {}, RULES[a.rule] || a.rule),
          facts([["Severity", a.severity], ["Account", who(a.account)], ["Raised", formatDate(a.at, true)],
            ["Detail", a.detail]]),
          h("p", {},
            h("a", { href: `/#/dpo/audit?actor=${a.account}` }, `Everything account ${a.account} did`), " · ",
            h("a", { href: `/#/dpo/audit?actor=${a.account}&action=alert.raised` }, "The alert in the audit log")),
          withReason(ctx, {
            label: "Mark as reviewed", fieldLabel: "Review note",
            missing: "Write what you found before marking it reviewed.",
            send: (note) => post(`/alerts/${a.id}/acknowledge`, { note }), done: "Alert marked as reviewed",
          })))));
    }
  }

  if (accounts) {
    parts.push(h("h2", { id: "suspended-h" }, "Suspended accounts"));
    if (accounts instanceof Error) parts.push(errorBanner(accounts));
    else {
      const suspended = accounts.accounts.filter((a) => a.state === "suspended");
      if (!suspended.length) parts.push(h("p", {}, "No account is suspended."));
      else {
        parts.push(h("ul", { class: "cards", "aria-labelledby": "suspended-h" }, suspended.map((a) =>
          h("li", { class: "card", "data-account": a.id },
            h("h3", {}, `${a.display_name} (${a.login})`),
            h("p", {}, h("a", { href: `/#/dpo/audit?actor=${a.id}` }, "What this account did")),
            withReason(ctx, {
              label: `Reinstate ${a.login}`, fieldLabel: "Reason for reinstating",
              missing: "Give a reason: it goes into the audit log.",
              send: (reason) => post(`/accounts/${a.id}/reinstate`, { reason }), done: `${a.login} reinstated`,
            })))));
      }
    }
  }

  if (breaches) {
    parts.push(h("h2", { id: "breaches-h" }, "Breaches not yet closed"));
    if (breaches instanceof Error) parts.push(errorBanner(breaches));
    else {
      const open = breaches.breaches.filter((b) => b.status !== "closed");
      parts.push(open.length ? breachTable(open) : h("p", {}, "None."));
    }
  }
  if (s.has("audit.read")) {
    // Server-drawn SVG (server/svg_chart.h), each described in words.
    const chart = (name, alt) => h("figure", { class: "chart", "data-chart": name },
      h("img", { src: `/api/v1/audit/charts/${name}`, alt }));
    parts.push(h("h2", {}, "The last 30 days"),
      h("div", { class: "charts" },
        chart("reads-per-day", "Member records read per day over the last 30 days"),
        chart("reads-by-role", "Member records read over the last 30 days, by role"),
        chart("alerts-per-day", "Alerts raised per day over the last 30 days")));
  }
  body.replaceChildren(...parts);
}

async function renderGrants(ctx) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  ctx.show(h("h1", {}, "Who can see what"), tabs("grants"),
    h("p", {}, "Every grant in force now: who holds it, over which part of the organisation, " +
      "which kinds of member data its role shows, who granted it and when it ends."), body);
  let r;
  try {
    r = await get("/access/overview");
  } catch (err) {
    body.replaceChildren(errorBanner(err));
    return;
  }
  if (!ctx.live()) return;
  const name = (a) => (a ? `${a.display_name || ""} (${a.login || "account " + a.id})` : "the system");
  const row = (g) => h("tr", { "data-grant": g.id, class: g.expiring_soon ? "expiring" : null },
    h("th", { scope: "row" }, h("a", { href: `/#/dpo/audit?actor=${g.holder.id}` }, name(g.holder))),
    h("td", {}, g.role + (g.privileged ? " (privileged)" : "")),
    h("td", {}, g.scope.name || g.scope.code || ""),
    h("td", {}, (g.field_classes || []).join(", ") || "none"),
    h("td", {}, g.purpose),
    h("td", {}, g.granter ? name(g.granter) : g.source),
    h("td", {}, formatDate(g.ends_at, true) + (g.expiring_soon ? " (within 14 days)" : "")));
  const heads = ["Account", "Role", "Over", "Data shown", "Purpose", "Granted by", "Ends"];
  const soon = r.grants.filter((g) => g.expiring_soon);
  body.replaceChildren(
    h("h2", {}, "Ending within 14 days"),
    soon.length ? h("div", { class: "scroll" }, table("", heads, soon.map(row))) : h("p", {}, "None."),
    h("h2", {}, `All grants in force (${r.grants.length})`),
    h("div", { class: "scroll" }, table("", heads, r.grants.map(row), { id: "grants-table" })));
}

async function renderAudit(ctx) {
  const q = parseQuery();
  const inputs = {};
  const form = h("form", { class: "search", role: "search", "aria-label": "Audit log" });
  for (const [key, label, hint] of [
    ["member", "Member id", ""], ["actor", "Account id", ""], ["action", "Action", "e.g. member.view"],
    ["from", "From", "YYYY-MM-DD or a date and time"], ["to", "Until", "not included"]]) {
    inputs[key] = h("input", { type: "text", name: key, value: q.get(key) || "", autocomplete: "off" });
    form.append(field(label, inputs[key], hint));
  }
  form.append(h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) p.set(k, el.value.trim());
    location.hash = "#/dpo/audit" + (p.toString() ? "?" + p : "");
  });
  const results = h("div", { id: "audit-results" });
  ctx.show(h("h1", {}, "Audit log"), tabs("audit"),
    h("p", {}, "Search the log by member, account, action and time. Each event can be checked " +
      "here, in your browser, against the log's newest signed checkpoint: the check does not " +
      "trust the server."), form, results);
  const p = new URLSearchParams();
  for (const k of ["member", "actor", "action", "from", "to"]) if (q.get(k)) p.set(k, q.get(k));
  if (![...p.keys()].length) return;
  p.set("limit", "200");
  let r;
  try {
    r = await get("/audit/events?" + p);
  } catch (err) {
    results.replaceChildren(errorBanner(err));
    return;
  }
  if (!ctx.live()) return;
  const events = r.events || [];
  let checkpoint = null;
  const check = async (e, cell) => {
    cell.replaceChildren("Checking…");
    try {
      // The server signs a checkpoint every second or so: a very new event
      // waits for the next one.
      let v;
      for (let tries = 0; ; tries++) {
        if (!checkpoint || e.seq >= checkpoint.size) checkpoint = await latestCheckpoint();
        v = await verifyEvent(e, checkpoint);
        if (!v.pending || tries >= 10 || !ctx.live()) break;
        cell.replaceChildren("Waiting for the next signed checkpoint…");
        await new Promise((done) => setTimeout(done, 1000));
      }
      cell.dataset.verified = v.ok ? "yes" : "no";
      cell.replaceChildren(h("span", { class: v.ok ? "ok" : "bad" }, v.ok ? "Verified" : "Not verified"), ": ", v.why);
    } catch (err) {
      cell.dataset.verified = "no";
      cell.replaceChildren(h("span", { class: "bad" }, "Not verified"), ": ", err.message);
    }
  };
  const rows = events.map((e) => {
    const cell = h("td", { class: "proof" });
    const btn = h("button", { type: "button", class: "link" }, "Check proof");
    btn.addEventListener("click", () => check(e, cell));
    cell.append(btn);
    const members = (e.members || []).slice(0, 10).flatMap((m, i) =>
      [i ? ", " : "", h("a", { href: `/#/dpo/audit?member=${m}` }, String(m))]);
    if ((e.members || []).length > 10) members.push(` and ${e.members.length - 10} more`);
    return h("tr", { "data-seq": e.seq },
      h("th", { scope: "row" }, String(e.seq)),
      h("td", {}, formatDate(e.at, true)),
      h("td", {}, e.actor ? h("a", { href: `/#/dpo/audit?actor=${e.actor}` }, String(e.actor)) : "—"),
      h("td", {}, e.action),
      h("td", {}, e.decision || ""),
      h("td", {}, e.rule || ""),
      h("td", {}, members),
      h("td", {}, (e.field_classes || []).join(", ")),
      cell);
  });
  const all = h("button", { type: "button", class: "secondary" }, "Check every proof shown");
  all.addEventListener("click", async () => {
    for (let i = 0; i < rows.length; i++) await check(events[i], rows[i].querySelector("td.proof"));
    announce("Proofs checked");
  });
  results.replaceChildren(
    h("p", {}, `${events.length} ${events.length === 1 ? "event" : "events"}` +
      (events.length >= 200 ? " (the first 200; narrow the search)" : "") + ". This search is itself recorded."),
    events.length ? h("div", { class: "actions" }, all) : "",
    events.length ? h("div", { class: "scroll" }, table("Audit events",
      ["#", "When", "Account", "Action", "Decision", "Rule", "Members", "Data", "Proof"], rows,
      { id: "audit-table" })) : "");
}

// datetime-local values <-> ISO 8601 in UTC, seconds precision.
const localInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
const toIso = (local) => new Date(local).toISOString().replace(/\.\d+Z$/, "Z");

async function renderBreaches(ctx) {
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const f = {
    discovered_at: h("input", { type: "datetime-local", required: true }),
    description: h("textarea", { rows: 4, required: true, maxlength: 8000 }),
    data_categories: h("input", { type: "text", required: true, maxlength: 2000 }),
    people_categories: h("input", { type: "text", required: true, maxlength: 2000 }),
  };
  const status = h("div", { role: "status" });
  const form = h("form", {},
    field("Discovered at (your local time)", f.discovered_at, "The 72 hours to tell the regulator start here"),
    field("What happened", f.description),
    field("Kinds of data involved", f.data_categories, "e.g. names, phone numbers"),
    field("Kinds of people involved", f.people_categories, "e.g. members in two constituencies"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Record the breach")), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await post("/breaches", {
        discovered_at: toIso(f.discovered_at.value), description: f.description.value,
        data_categories: f.data_categories.value, people_categories: f.people_categories.value,
      });
      location.hash = `#/dpo/breaches/${r.breach.id}`;
    } catch (err) {
      status.replaceChildren(errorBanner(err));
    }
  });
  ctx.show(h("h1", {}, "Breach register"), tabs("breaches"), list, h("h2", {}, "Record a breach"), form);
  try {
    const r = await get("/breaches");
    if (!ctx.live()) return;
    list.replaceChildren(r.breaches.length ? breachTable(r.breaches) : h("p", {}, "No breach recorded."));
  } catch (err) {
    list.replaceChildren(errorBanner(err));
  }
}

async function renderBreach(ctx, id) {
  let r;
  try {
    r = await get(`/breaches/${encodeURIComponent(id)}`);
  } catch (err) {
    ctx.show(h("h1", {}, "Breach"), tabs("breaches"), errorBanner(err));
    return;
  }
  const b = r.breach;
  const status = h("div", { role: "status" });
  const act = async (fn, done) => {
    try {
      await fn();
      announce(done);
      ctx.rerender();
    } catch (err) {
      status.replaceChildren(errorBanner(err));
    }
  };
  const steps = [];
  for (const [key, label] of [["reported_at", "Reported to the regulator"], ["notified_at", "Members told"], ["closed_at", "Closed"]]) {
    if (b[key]) continue;
    const btn = h("button", { type: "button", class: "secondary" }, `${label} now`);
    btn.addEventListener("click", () => act(() => patch(`/breaches/${b.id}`, { [key]: "now" }), label));
    steps.push(btn);
  }
  // The affected members, from the audit log.
  const scope = {
    kind: h("select", {}, h("option", { value: "account" }, "An account's reads"),
      h("option", { value: "campaign" }, "A campaign's contacts"),
      h("option", { value: "export" }, "An export's file (everyone in it)")),
    id: h("input", { type: "text", inputmode: "numeric", value: b.scope ? String(b.scope.id) : "" }),
    from: h("input", { type: "datetime-local", value: localInput(b.scope && b.scope.from) }),
    to: h("input", { type: "datetime-local", value: localInput((b.scope && b.scope.to) || b.discovered_at) }),
  };
  if (b.scope) scope.kind.value = b.scope.kind;
  const computeForm = h("form", {},
    field("Whose reads", scope.kind), field("Account, campaign or export id", scope.id),
    field("From", scope.from, "Not needed for an export"), field("Until", scope.to),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Work out the affected members")));
  computeForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { [scope.kind.value]: Number(scope.id.value) };
    if (scope.kind.value !== "export") Object.assign(body, { from: toIso(scope.from.value), to: toIso(scope.to.value) });
    act(() => post(`/breaches/${b.id}/affected`, body), "Affected members worked out");
  });
  const counts = Object.entries(b.counts || {});
  ctx.show(h("h1", {}, `Breach #${b.id}`), tabs("breaches"),
    h("p", { class: "countdown", id: "countdown" }, b.reported_at ? "Reported to the regulator." : [
      h("strong", {}, b.overdue ? "Overdue: " : "Time left to tell the regulator: "), deadlineCell(b)]),
    facts([["Status", b.status], ["Discovered", formatDate(b.discovered_at, true)],
      ["Recorded", formatDate(b.recorded_at, true)], ["Deadline", formatDate(b.deadline, true)],
      ["Reported", formatDate(b.reported_at, true)], ["Members told", formatDate(b.notified_at, true)],
      ["Closed", formatDate(b.closed_at, true)], ["What happened", b.description],
      ["Kinds of data", b.data_categories], ["Kinds of people", b.people_categories]]),
    steps.length ? h("div", { class: "actions" }, steps) : "", status,
    h("h2", {}, "Affected members"),
    !b.scope ? h("p", {}, "Not worked out yet.") : b.scope.kind === "export"
      ? h("p", {}, `${b.affected} members, everyone in export ${b.scope.id}'s file, produced ` +
        `${formatDate(b.scope.from, true)} (canaries left out; worked out ${formatDate(b.scope.computed_at, true)}).`)
      : h("p", {}, `${b.affected} members, from the ${b.scope.kind} ${b.scope.id}'s reads between ` +
        `${formatDate(b.scope.from, true)} and ${formatDate(b.scope.to, true)} ` +
        `(worked out ${formatDate(b.scope.computed_at, true)}).`),
    counts.length ? table("Members by the kind of data seen", ["Data", "Members"],
      counts.map(([c, n]) => h("tr", {}, h("th", { scope: "row" }, c), h("td", {}, String(n))))) : "",
    computeForm,
    h("h2", {}, "Drafts"),
    h("p", {}, "Edit these before sending; they hold counts and categories, never a member."),
    field("To the regulator", h("textarea", { rows: 18, id: "draft-regulator" }, r.drafts.regulator)),
    field("To members", h("textarea", { rows: 14, id: "draft-members" }, r.drafts.members)));
}

async function renderWitness(ctx) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  ctx.show(h("h1", {}, "Signed checkpoints"), tabs("witness"),
    h("p", {}, "Each checkpoint commits to every audit event before it. Keep copies somewhere the " +
      "server cannot reach (a witness): a later log that does not extend them has been rewritten."), body);
  let r;
  try {
    r = await get("/audit/checkpoints");
  } catch (err) {
    body.replaceChildren(errorBanner(err));
    return;
  }
  if (!ctx.live()) return;
  const notes = (r.checkpoints || []).filter((c) => c.note);
  const url = URL.createObjectURL(new Blob([notes.map((c) => c.note).join("\n")], { type: "text/plain" }));
  ctx.onLeave(() => URL.revokeObjectURL(url));
  // For a witness: the checkpoints after the one they hold, with the
  // consistency proofs that show the log only grew since.
  const fromSize = h("input", { type: "text", inputmode: "numeric", id: "witness-from", value: "0" });
  const exportStatus = h("div", { role: "status" });
  const exportBtn = h("button", { type: "button", id: "witness-export" }, "Download for a witness, with consistency proofs");
  exportBtn.addEventListener("click", async () => {
    try {
      const from = fromSize.value.trim() || "0";
      if (!/^\d+$/.test(from)) throw new Error("the size is a whole number of events");
      const e = await get(`/audit/witness?from=${from}`);
      const blob = URL.createObjectURL(new Blob([JSON.stringify(e, null, 1) + "\n"], { type: "application/json" }));
      const a = h("a", { href: blob, download: `switchboard-witness-from-${from}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(blob), 60000);
      exportStatus.replaceChildren(`${e.checkpoints.length} checkpoints after ${from} events, with their proofs.`);
    } catch (err) {
      exportStatus.replaceChildren(errorBanner(err));
    }
  });
  const rows = notes.slice(-50).reverse().map((c) => {
    const cell = h("td", {}, "Checking…");
    verifyNote(c.note, r.verifier_key).then(
      () => cell.replaceChildren(h("span", { class: "ok" }, "Signature valid")),
      (err) => cell.replaceChildren(h("span", { class: "bad" }, err.message)));
    return h("tr", {}, h("th", { scope: "row" }, String(c.tree_size)), h("td", {}, formatDate(c.time, true)),
      h("td", { class: "mono" }, c.root.slice(0, 16) + "…"), cell);
  });
  body.replaceChildren(
    facts([["Verifier key", r.verifier_key || "unknown"], ["Checkpoints", String(notes.length)]]),
    h("p", {}, "Compare the key with the one printed by ", h("code", {}, "switchboard audit key"), "."),
    h("div", { class: "actions" },
      h("a", { class: "button", href: url, download: "switchboard-checkpoints.txt", id: "witness-download" },
        "Download every signed checkpoint")),
    h("h2", {}, "For a witness"),
    h("p", {}, "A witness who holds a checkpoint checks that the log only grew since: give the number " +
      "of events in the newest checkpoint they hold (0 for all), and send them the file. They check it " +
      "with ", h("code", {}, "switchboard audit witness check FILE --key KEY --held THEIR-FILE --append"), "."),
    field("Events in the witness's newest checkpoint", fromSize),
    h("div", { class: "actions" }, exportBtn), exportStatus,
    table("The newest checkpoints", ["Events", "Signed", "Root", "Signature"], rows));
}

export async function render(ctx) {
  if (!isDpo(ctx.session)) {
    ctx.show(h("h1", {}, "Data protection"), h("p", {}, "Your account has no data-protection role."));
    return;
  }
  const { view, id } = ctx.params;
  if (view === "audit") return renderAudit(ctx);
  if (view === "breaches" && id) return renderBreach(ctx, id);
  if (view === "breaches") return renderBreaches(ctx);
  if (view === "witness") return renderWitness(ctx);
  if (view === "grants") return renderGrants(ctx);
  if (view === "exports") return exportsTab(ctx);
  return renderDashboard(ctx);
}
