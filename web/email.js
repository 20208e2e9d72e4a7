// E-mail to members (RULEBOOK §7): the account's messages and the others in
// its scopes (#/email) and one message (#/email/<id>): its state and
// version, what sending it needs, approvals, the buttons the account's roles
// allow (approve, send, cancel), the preview and the report. Approving and
// sending name the version read here, so nobody approves or sends something
// that changed under them.

import { get, post, ApiError } from "./api.js";
import { h, field, errorBanner, announce, formatDate, facts } from "./dom.js";
import { stat } from "./progress.js";
import {
  KIND_NAMES, KIND_HELP, STATE_NAMES, approvalsList, audienceWords, checkName, checksTable,
  fromWords, hasCap, loadPreview, unitWords,
} from "./mail.js";

// ---- the list -------------------------------------------------------------------

export async function renderList(ctx) {
  const head = [h("h1", {}, "E-mail")];
  if (hasCap(ctx.session, "message.draft")) {
    head.push(h("div", { class: "actions" }, h("a", { class: "button", href: "#/email/new" }, "New e-mail")));
  }
  const loading = h("p", { class: "muted" }, "Loading your messages…");
  ctx.show(...head, loading, openByNumber());
  let list;
  try {
    list = (await get("/messages")).messages || [];
  } catch (err) {
    loading.replaceWith(errorBanner(err));
    return;
  }
  const me = ctx.session.account.id;
  // The server lists the account's own messages and every other message it
  // may open (a scope its grants cover); the second kind is shown apart.
  const yours = (m) => m.author === me || m.sent_by === me || (m.from && m.from.account === me);
  const mine = list.filter(yours);
  const others = list.filter((m) => !yours(m));
  const sections = [h("section", { "aria-labelledby": "mine-h", id: "message-list" },
    h("h2", { id: "mine-h" }, "Your messages"),
    mine.length ? "" : h("p", {}, "No messages yet: none drafted or sent by you, or written in your name."),
    mine.map((m) => messageCard(m, me)))];
  if (others.length) {
    sections.push(h("section", { "aria-labelledby": "others-h", id: "scope-message-list" },
      h("h2", { id: "others-h" }, "Other messages in your scopes"),
      h("p", { class: "muted" }, "Drafted by others to members in units your grants cover."),
      others.map((m) => messageCard(m, me))));
  }
  loading.replaceWith(...sections);
}

function messageCard(m, me) {
  return h("div", { class: "card", "data-message": String(m.id) },
    h("h3", {}, h("a", { href: "#/email/" + encodeURIComponent(m.id) }, m.subject || "Message " + m.id)),
    h("p", {},
      h("strong", { class: "state-" + m.state }, STATE_NAMES[m.state] || m.state),
      " · " + (KIND_NAMES[m.kind] || m.kind) +
      " · from " + fromWords(m.from) +
      (m.scope ? " · to " + unitWords(m.scope) : "") +
      " · version " + m.version +
      (m.author === me ? " · you drafted it" : m.author_name ? " · drafted by " + m.author_name : "") +
      (m.updated_at ? " · changed " + formatDate(m.updated_at, true) : "")));
}

// The list holds the newest messages only; an older one, or one someone was
// asked to approve with a grant that does not let them draft, is opened by
// its number (or link), which its author can give.
function openByNumber() {
  const num = h("input", { type: "text", name: "message_number", inputmode: "numeric", pattern: "[0-9]*",
    maxlength: "12" });
  const form = h("form", { novalidate: true, class: "inline-form" },
    field("Open a message by its number", num, "Its author can give you the number or the link"),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Open")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const n = num.value.trim();
    if (/^\d+$/.test(n)) location.hash = "#/email/" + n;
    else num.focus();
  });
  return h("section", { "aria-labelledby": "open-h" }, h("h2", { id: "open-h" }, "Another message"), form);
}

// ---- one message ----------------------------------------------------------------

export async function renderMessage(ctx) {
  const id = ctx.params.id;
  const base = "/messages/" + encodeURIComponent(id);
  let m;
  let report = null;
  try {
    // The message without its report is still worth showing; the report
    // section then says why it is missing.
    const [one, rep] = await Promise.all([get(base), get(base + "/report").catch((e) => e)]);
    m = one.message;
    report = rep instanceof Error ? rep : rep.report;
  } catch (err) {
    ctx.show(h("h1", {}, "E-mail"), errorBanner(err), h("p", {}, h("a", { href: "#/email" }, "All e-mail")));
    return;
  }
  const me = ctx.session.account.id;
  const draft = m.state === "draft";
  const isAuthor = m.author === me;
  const result = h("div", { id: "message-result", "aria-live": "polite" });

  const link = new URL("/#/email/" + encodeURIComponent(m.id), location.origin).toString();
  const parts = [
    h("h1", {}, m.subject || "Message " + m.id),
    h("p", { class: "status", id: "message-state", role: "status" },
      (STATE_NAMES[m.state] || m.state) + ", version " + m.version),
    facts([
      ["Number", m.id],
      ["Kind", (KIND_NAMES[m.kind] || m.kind) + ": " + (KIND_HELP[m.kind] || "")],
      ["From", fromWords(m.from)],
      ["Scope", unitWords(m.scope)],
      ["Audience", audienceWords(m.audience, m.scope)],
      ["Drafted by", report && !(report instanceof Error) && report.drafted_by
        ? report.drafted_by.name + (isAuthor ? " (you)" : "")
        : (isAuthor ? "You" : "")],
      ["Last changed", formatDate(m.updated_at, true)],
      ["Recipients", m.recipients],
    ]),
  ];
  if (draft) {
    parts.push(requirementsSection(m));
  }
  parts.push(
    h("section", { "aria-labelledby": "approvals-h" },
      h("h2", { id: "approvals-h" }, "Approvals of version " + m.version),
      approvalsList(m.approvals)),
    actionsSection(ctx, m, result, isAuthor),
    result);
  if (draft) {
    parts.push(h("section", { "aria-labelledby": "share-h" },
      h("h2", { id: "share-h" }, "Share it"),
      field("Link to this message", h("input", { type: "text", readonly: true, value: link, id: "message-link" }),
        "For whoever approves or sends it")));
  }
  parts.push(previewSection(m), reportSection(report),
    h("p", {}, h("a", { href: "#/email" }, "All e-mail")));
  ctx.show(...parts);
}

function requirementsSection(m) {
  const r = m.requirements;
  if (!r) return "";
  const approvals = m.approvals || [];
  const onBehalf = approvals.find((a) => a.kind === "on_behalf");
  const second = approvals.find((a) => a.kind === "second");
  const items = [
    h("li", { id: "req-recipients" }, "Recipients now: " + Number(r.recipients).toLocaleString("en-GB") +
      " (members with the consent this kind needs)"),
  ];
  if (r.on_behalf_approval) {
    items.push(h("li", { id: "req-on-behalf" }, "Approval by " + (m.from.name || "the person named") +
      " from their own account: " + (onBehalf ? "given by " + onBehalf.name : "not yet given")));
  } else {
    items.push(h("li", { id: "req-on-behalf" }, "No approval in someone else's name is needed."));
  }
  if (r.second_approval) {
    items.push(h("li", { id: "req-second" }, "A second approval, by someone who neither drafted nor sends it, " +
      "because " + r.second_approval_reason + ": " + (second ? "given by " + second.name : "not yet given")));
  } else {
    items.push(h("li", { id: "req-second" }, "No second approval is needed."));
  }
  return h("section", { "aria-labelledby": "req-h" },
    h("h2", { id: "req-h" }, "Before it can be sent"), h("ul", {}, items));
}

function actionsSection(ctx, m, result, isAuthor) {
  const base = "/messages/" + encodeURIComponent(m.id);
  const actions = h("div", { class: "actions" });
  const confirmBox = h("div", { class: "card", hidden: true, role: "alertdialog", "aria-labelledby": "cancel-q" });
  const draft = m.state === "draft";

  const act = (button, fn) => button.addEventListener("click", async () => {
    button.disabled = true;
    result.replaceChildren();
    try {
      await fn();
    } catch (err) {
      result.replaceChildren(failure(err));
      button.disabled = false;
    }
  });

  if (draft && isAuthor) {
    actions.append(h("a", { class: "button secondary", href: "#/email/" + encodeURIComponent(m.id) + "/edit" },
      "Edit"));
  }
  if (draft && hasCap(ctx.session, "message.approve") && !isAuthor) {
    const approve = h("button", { type: "button" }, "Approve version " + m.version);
    act(approve, async () => {
      await post(base + "/approve", { version: m.version });
      announce("You approved version " + m.version + ".");
      await ctx.rerender();
    });
    actions.append(approve);
  }
  if (draft && hasCap(ctx.session, "message.send")) {
    const send = h("button", { type: "button", id: "send" }, "Send version " + m.version);
    act(send, async () => {
      const res = await post(base + "/send", { version: m.version });
      announce("Queued for " + res.queued + " recipients.");
      await ctx.rerender();
    });
    actions.append(send);
  }
  if ((draft || m.state === "sending") && hasCap(ctx.session, "message.send")) {
    const cancel = h("button", { type: "button", class: "danger" }, "Cancel the message");
    cancel.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "danger" }, "Yes, cancel it");
      const no = h("button", { type: "button", class: "secondary" }, "Keep it");
      act(yes, async () => {
        const res = await post(base + "/cancel");
        announce("Cancelled" + (res.cancelled ? ": " + res.cancelled + " recipients get nothing." : "."));
        await ctx.rerender();
      });
      no.addEventListener("click", () => { confirmBox.hidden = true; cancel.focus(); });
      confirmBox.replaceChildren(
        h("h3", { id: "cancel-q" }, draft ? "Cancel this draft? It can no longer be sent."
          : "Stop sending? Recipients not yet handed to the mail relay get nothing."),
        h("div", { class: "actions" }, yes, no));
      confirmBox.hidden = false;
      no.focus();
    });
    actions.append(cancel);
  }
  if (!actions.childElementCount) {
    return h("p", { class: "muted", id: "no-actions" }, draft
      ? "Your roles do not let you approve or send this message. Share its link with someone who can."
      : "Nothing more to do: the message is " + (STATE_NAMES[m.state] || m.state).toLowerCase() + ".");
  }
  if (draft && !hasCap(ctx.session, "message.send")) {
    actions.append(h("p", { class: "muted", id: "no-send" },
      "Someone with the right to send e-mail sends it: share its link with them."));
  }
  return h("section", { "aria-labelledby": "actions-h" },
    h("h2", { id: "actions-h" }, "What you can do"), actions, confirmBox);
}

// A refusal; for a send refused by its checks, each failed check's detail.
function failure(err) {
  const checks = err instanceof ApiError && err.body && err.body.error && err.body.error.checks;
  if (err.code !== "checks_failed" || !Array.isArray(checks)) return errorBanner(err);
  const failed = checks.filter((c) => !c.passed);
  return h("div", { class: "banner error", role: "alert", id: "send-refused" },
    h("p", {}, "Not sent. " + (failed.length === 1 ? "This check failed:" : "These checks failed:")),
    h("ul", {}, failed.map((c) => h("li", {}, checkName(c.rule) + ": " + c.detail))),
    h("details", {}, h("summary", {}, "Every check"), checksTable(checks)));
}

function previewSection(m) {
  const into = h("div", { id: "preview-box", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary" }, "Show the preview");
  button.addEventListener("click", async () => {
    button.disabled = true;
    await loadPreview(m.id, into);
    button.disabled = false;
    button.textContent = "Show the preview again";
  });
  return h("section", { "aria-labelledby": "preview-h" },
    h("h2", { id: "preview-h" }, "Preview"),
    h("p", { class: "hint muted" }, "The message as a made-up member (never a real one) would get it, footer included."),
    h("div", { class: "actions" }, button), into);
}

const COUNTS = [
  ["recipients", "Recipients"], ["queued", "Queued"], ["sent", "Sent"], ["deferred", "Deferred"],
  ["failed", "Failed"], ["bounced", "Bounced"], ["suppressed", "Suppressed"], ["cancelled", "Cancelled"],
  ["unsubscribed", "Unsubscribed"],
];

function reportSection(r) {
  const head = h("h2", { id: "report-h" }, "Report");
  if (r instanceof Error) {
    return h("section", { "aria-labelledby": "report-h", id: "report" }, head,
      h("p", { class: "muted" }, "The report is not available: " + r.message));
  }
  if (!r) {
    return h("section", { "aria-labelledby": "report-h", id: "report" }, head,
      h("p", { class: "muted" }, "The report is not available."));
  }
  const c = r.counts || {};
  return h("section", { "aria-labelledby": "report-h", id: "report" }, head,
    h("div", { class: "stats" }, COUNTS.map(([k, l]) => {
      const s = stat(l, c[k]);
      s.setAttribute("data-count", k);
      return s;
    })),
    facts([
      ["Drafted by", r.drafted_by && r.drafted_by.name],
      ["Sent by", r.sent_by ? r.sent_by.name + (r.sent_by.role ? ", as " + r.sent_by.role : "") : "Not sent yet"],
      ["Queued", formatDate(r.queued_at, true)],
      ["Finished", formatDate(r.completed_at, true)],
    ]),
    h("h3", {}, "Approvals"),
    approvalsList(r.approvals, "None."),
    h("h3", {}, "Rule checks"),
    checkRuns(r.checks || []));
}

// The report keeps every send attempt's checks, oldest first; each attempt
// starts again with the first rule, so a rule seen twice begins a new one.
function checkRuns(checks) {
  if (!checks.length) return h("p", { class: "muted" }, "No checks yet: they run when someone sends the message.");
  const runs = [];
  for (const c of checks) {
    const run = runs[runs.length - 1];
    if (!run || run.some((x) => x.rule === c.rule)) runs.push([c]);
    else run.push(c);
  }
  return h("div", { id: "check-runs" }, runs.map((run, i) => {
    const ok = run.every((c) => c.passed);
    const title = "Send attempt " + (i + 1) + " of " + runs.length + ": " + (ok ? "every check passed" : "refused");
    const table = checksTable(run);
    table.prepend(h("caption", {}, title));
    table.setAttribute("data-run", String(i + 1));
    return table;
  }));
}
