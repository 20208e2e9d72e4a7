// The DPO's subject-access screens (docs/privacy.md):
//   #/privacy/requests       the request queue: record a request, days left,
//                            reminders, close (an access request is answered
//                            with the report, made then)
//   #/privacy/members/<id>   one member's report: what is held, campaigns,
//                            e-mail, and every audit event about them, with
//                            downloads as HTML and PDF
// Both need privacy.sar. Every string from the server is shown as text.
// The console's shell (dpo.js) links these views; reminders() gives its
// dashboard the open requests due soon or late.

import { get, post } from "./api.js";
import { tabs, checkReportProofs } from "./dpo.js";
import { h, errorBanner, formatDate, facts, field, announce } from "./dom.js";

export async function reminders() {
  return get("/privacy/reminders");
}

function daysLeft(r) {
  if (r.state !== "open") return "closed " + formatDate(r.closed_at);
  if (r.days_left < 0) return `${-r.days_left} day${r.days_left === -1 ? "" : "s"} late`;
  if (r.days_left === 0) return "due today";
  return `${r.days_left} day${r.days_left === 1 ? "" : "s"} left`;
}

function requestRow(r, onClose) {
  const cls = r.reminder === "overdue" ? "overdue" : r.reminder === "due_soon" ? "due-soon" : "";
  const close = r.state === "open"
    ? h("button", { type: "button", class: "secondary", "data-request": String(r.id) },
      r.kind === "access" ? "Send the report and close" : "Close")
    : "";
  if (close) close.addEventListener("click", () => onClose(r, close));
  return h("tr", { class: cls },
    h("td", {}, String(r.id)),
    h("td", {}, r.kind === "access" ? "Subject access" : "Erasure"),
    h("td", {}, h("a", { href: "#/privacy/members/" + encodeURIComponent(r.member) }, "Member " + r.member)),
    h("td", {}, formatDate(r.received_at)),
    h("td", {}, formatDate(r.due_on)),
    h("td", { class: "days-left" }, daysLeft(r)),
    h("td", {}, close));
}

export async function renderRequests(ctx) {
  let list;
  try {
    list = await get("/privacy/requests");
  } catch (err) {
    ctx.show(h("h1", {}, "Requests from members"), errorBanner(err));
    return;
  }
  const status = h("div", { role: "status", "aria-live": "polite" });
  const onClose = async (r, button) => {
    button.disabled = true;
    try {
      await post(`/privacy/requests/${encodeURIComponent(r.id)}/close`);
      announce(`Request ${r.id} closed`);
      await ctx.rerender();
    } catch (err) {
      button.disabled = false;
      status.replaceChildren(errorBanner(err));
    }
  };
  const open = list.requests.filter((r) => r.state === "open");
  const closed = list.requests.filter((r) => r.state !== "open");
  const late = open.filter((r) => r.reminder === "overdue").length;
  const soon = open.filter((r) => r.reminder === "due_soon").length;
  const table = (rows, caption) => h("table", { class: "requests" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["No.", "Kind", "Member", "Received", "Due by", "Time left", ""]
      .map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => requestRow(r, onClose))));

  const kind = h("select", { name: "kind" },
    h("option", { value: "access" }, "Subject access (a copy of their data)"),
    h("option", { value: "erasure" }, "Erasure"));
  const member = h("input", { name: "member", type: "number", min: "1", required: true, inputmode: "numeric" });
  const source = h("input", { name: "source", type: "text", required: true, maxlength: "64", value: "email" });
  const received = h("input", { name: "received", type: "date", required: true,
    value: new Date().toISOString().slice(0, 10) });
  const form = h("form", { class: "record-request" },
    h("h2", {}, "Record a request"),
    field("Kind", kind),
    field("Member number", member, "The register's id, from the member's record or the audit search"),
    field("How it arrived", source, "e.g. email, letter, phone"),
    field("Received on", received, "The answer is due one calendar month later"),
    h("button", { type: "submit" }, "Record"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const made = await post("/privacy/requests", {
        kind: kind.value, member: Number(member.value), source: source.value, received: received.value,
      });
      announce(`Request recorded, due by ${formatDate(made.request.due_on)}`);
      await ctx.rerender();
    } catch (err) {
      status.replaceChildren(errorBanner(err));
    }
  });

  ctx.show(
    h("h1", {}, "Requests from members"),
    tabs("requests"),
    h("p", {}, "Subject-access and erasure requests must be answered within one calendar month of "
      + "receipt. Requests due within seven days, and late ones, also appear on the dashboard."),
    (late || soon)
      ? h("div", { class: late ? "banner error" : "banner", role: "alert" },
        [late ? `${late} late` : "", soon ? `${soon} due within seven days` : ""].filter(Boolean).join(", "))
      : "",
    status,
    open.length ? table(open, "Open requests, soonest due first") : h("p", {}, "No open requests."),
    form,
    closed.length ? table(closed, "Closed requests") : "");
}

function section(title, rows, headers, empty) {
  if (!rows.length) return [h("h2", {}, title), h("p", {}, empty)];
  return [h("h2", {}, title), h("table", {},
    h("thead", {}, h("tr", {}, headers.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c == null ? "" : String(c)))))))];
}

function who(e) {
  if (e.by_you) return "The member";
  if (!e.actor) return "Switchboard (automatic)";
  const role = e.role ? e.role.replace(/_/g, " ") + (e.unit ? " in " + (e.unit.name || e.unit.code) : "") : "no grant";
  return `${e.actor.name || "account"} (#${e.actor.id}), ${role}`;
}

export async function renderReport(ctx) {
  const id = ctx.params.id;
  const base = `/api/v1/privacy/members/${encodeURIComponent(id)}/report`;
  let r;
  try {
    r = await get(`/privacy/members/${encodeURIComponent(id)}/report`);
  } catch (err) {
    ctx.show(h("h1", {}, "Member " + id), errorBanner(err));
    return;
  }
  const m = r.member;
  const events = r.audit.events;
  const refused = events.filter((e) => e.decision === "deny").length;
  // The report carries each event's proof and the checkpoint: checked here,
  // in the browser, as the audit search checks one (dpo.js).
  const proofCells = new Map(events.map((e) => [e.seq, h("td", { class: "proof" }, e.provable ? "" : "newer than the checkpoint")]));
  const proofStatus = h("div", { role: "status" });
  const checkAll = h("button", { type: "button", class: "secondary", id: "check-report-proofs" }, "Check every proof in this report");
  checkAll.addEventListener("click", async () => {
    checkAll.disabled = true;
    proofStatus.replaceChildren("Checking…");
    try {
      const results = await checkReportProofs(r.audit);
      let good = 0;
      let bad = 0;
      for (const [seq, v] of results) {
        const cell = proofCells.get(seq);
        if (v.pending) continue;
        cell.dataset.verified = v.ok ? "yes" : "no";
        cell.replaceChildren(h("span", { class: v.ok ? "ok" : "bad" }, v.ok ? "Verified" : "Not verified"), v.ok ? "" : ": " + v.why);
        if (v.ok) good++;
        else bad++;
      }
      proofStatus.replaceChildren(`${good} verified, ${bad} not verified, against the signed checkpoint of ` +
        `${r.audit.checkpoint.tree_size} events.`);
      announce("Proofs checked");
    } catch (err) {
      proofStatus.replaceChildren(errorBanner(err));
    } finally {
      checkAll.disabled = false;
    }
  });
  ctx.show(
    h("h1", {}, `Subject access: member ${m.id}`),
    h("p", {}, `Produced ${formatDate(r.generated_at, true)}. Making this report was recorded in the audit log.`),
    h("p", { class: "actions" },
      h("a", { href: base + "?format=html&audience=member", download: `member-${m.id}.html` }, "Download for the member (HTML)"),
      " · ",
      h("a", { href: base + "?format=pdf&audience=member", download: `member-${m.id}.pdf` }, "Download for the member (PDF)"),
      " · ",
      h("a", { href: base + "?format=html", download: `member-${m.id}-dpo.html` }, "Full record for the file (HTML)")),
    facts([
      ["Name", `${m.first_name} ${m.last_name}`],
      ["Membership", `${m.status} (${m.membership_type})`],
      ["Unit", m.unit && m.unit.name],
      ["Postcode district", m.postcode_district],
      ["Consents", (m.consents || []).join(", ") || "none"],
      ["Restrictions", (m.suppressions || []).join(", ") || "none"],
      ["Register source", `${m.source} / ${m.external_id}`],
    ]),
    section("Contact details", m.contact_points.map((c) => [c.kind, c.label, c.value, c.valid ? "yes" : "no"]),
      ["Kind", "Label", "Value", "Usable"], "None held."),
    section("Consent history", r.consent_history.map((e) => [formatDate(e.at, true), e.consents.join(", ") || "none", e.source]),
      ["When", "Consents", "Source"], "No changes recorded."),
    section("Campaigns", r.phone_bank.campaigns.map((c) => [c.name, c.purpose, c.attempts, c.last_outcome]),
      ["Campaign", "Purpose", "Attempts", "Last outcome"], "In no phone-bank campaign."),
    section("Calls", r.phone_bank.calls.map((c) => [formatDate(c.started_at, true), c.campaign, c.outcome,
      c.answers ? JSON.stringify(c.answers) : ""]), ["When", "Campaign", "Outcome", "Their answers"], "No calls."),
    section("E-mail", r.email.messages.map((e) => [formatDate(e.queued_at || e.updated_at, true), e.from, e.subject, e.state]),
      ["When", "From", "Subject", "Delivery"], "No e-mail sent."),
    section("Accounts", r.accounts.map((a) => [a.login, a.display_name, a.state]), ["Login", "Name", "State"], "No account."),
    h("h2", {}, "Who saw this member's data"),
    h("p", {}, `${events.length} audit events, ${refused} refused. Events numbered below `
      + `${r.audit.checkpoint ? r.audit.checkpoint.tree_size : 0} are covered by the newest signed checkpoint; `
      + "the report carries each one's inclusion proof and the checkpoint, and your browser checks them "
      + "without trusting the server. A member or anyone else can check the JSON copy with "
      + "switchboard audit check-report."),
    r.audit.checkpoint ? h("div", { class: "actions" }, checkAll) : "", proofStatus,
    h("p", {}, h("a", { href: base + "?format=json&audience=member", download: `member-${m.id}.json` }, "Download for the member, with the proofs (JSON)")),
    h("table", { class: "audit", id: "sar-audit" },
      h("thead", {}, h("tr", {}, ["No.", "When", "Who", "What", "Purpose", "Result", "Proof"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, events.map((e) => h("tr", { class: e.decision === "deny" ? "refused" : "" },
        h("td", {}, String(e.seq)), h("td", {}, formatDate(e.at, true)), h("td", {}, who(e)),
        h("td", {}, e.what + (e.with_other_members ? " (with other members, not shown)" : "")),
        h("td", {}, e.purpose || ""),
        h("td", {}, e.decision === "deny" ? "refused" : e.decision === "allow" ? "allowed" : "recorded"),
        proofCells.get(e.seq))))),
    h("p", {}, h("a", { href: "#/privacy/requests" }, "Back to the requests")));
}
