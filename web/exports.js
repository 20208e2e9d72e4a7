// Member exports and leak tracing (docs/privacy.md, "Exports and leak
// tracing"):
//   #/exports        for accounts with member.export: ask for an export
//                    (unit, purpose, columns, public key, a fresh code), see
//                    where each stands, download an approved one (once),
//                    cancel one not yet downloaded
//   #/dpo/exports    the DPO console's Exports tab (dpo.js): exports waiting
//                    for approval (approve with a code, or refuse with a
//                    reason), the history, and "Trace a file"
// The server decides everything; `may` on each export says which buttons to
// offer. Files are sealed to the requester's key: this page never sees the
// CSV, only the sealed bytes it saves. Every string from the server is shown
// as text.

import { ApiError, csrfToken, get, post } from "./api.js";
import { tabs } from "./dpo.js";
import { h, errorBanner, formatDate, field, announce } from "./dom.js";

// The columns each field class brings (privacy::ExportColumns).
const COLUMNS = [
  ["name", ["first_name", "last_name"]],
  ["membership", ["status", "membership_type", "joined_on", "years"]],
  ["location", ["unit", "branch", "postcode_district"]],
  ["contact", ["email", "mobile", "phone", "address", "postcode"]],
];
const STATES = {
  pending: "Waiting for a second approver",
  approved: "Approved: ready to download",
  produced: "Downloaded",
  refused: "Refused",
  cancelled: "Cancelled",
};
// A trace upload is refused above this (the server's own limit).
const MAX_TRACE_BYTES = 1 << 20;

function grantsWith(session, caps) {
  return ((session && session.grants) || []).filter((g) =>
    (g.capabilities || []).some((c) => caps.includes(c)) && g.scope && g.scope.id);
}

export function canExport(session) {
  return grantsWith(session, ["member.export"]).length > 0;
}

function columnsFor(grant) {
  const f = new Set(grant.field_classes || []);
  const out = [];
  for (const [cls, cols] of COLUMNS) {
    if (f.has(cls)) out.push(...cols);
    else if (cls === "name" && f.has("first_name")) out.push("first_name");
  }
  return out;
}

const person = (p) => (p ? p.login || `account ${p.id}` : "");

function stateText(e) {
  let s = STATES[e.state] || e.state;
  if (e.state === "produced") s += ` ${formatDate(e.produced_at, true)} (${e.member_rows} members)`;
  if (e.closed_by) s += ` by ${person(e.closed_by)}: ${e.close_reason}`;
  return s;
}

function codeInput(name) {
  return h("input", { type: "text", name, inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6,8}", maxlength: "8", required: true });
}

// Saves the sealed file the server produces (a POST: it works once).
async function download(e) {
  const res = await fetch(`/api/v1/exports/${encodeURIComponent(e.id)}/download`, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "X-CSRF-Token": csrfToken() || "", Accept: "application/octet-stream" },
  });
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* the status says enough */ }
    throw new ApiError(res.status, body);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: `export-${e.id}.sbx`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob.size;
}

// A small inline form under a row: one field and a button.
function inlineForm(label, input, buttonText, onSubmit, cls = "") {
  const status = h("div", { role: "status", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: cls || null }, buttonText);
  const form = h("form", { class: "inline-action" }, field(label, input),
    h("div", { class: "actions" }, button), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      await onSubmit(input.value.trim());
    } catch (err) {
      status.replaceChildren(errorBanner(err));
      button.disabled = false;
    }
  });
  return form;
}

function exportTable(caption, list, actions, id) {
  // Focusable, so a keyboard can scroll it on a narrow screen.
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["No.", "Over", "Asked by", "Purpose", "Asked", "Approved by", "State", ""]
      .map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, list.map((e) => h("tr", { "data-export": String(e.id) },
      h("th", { scope: "row" }, String(e.id)),
      h("td", {}, e.scope.name || e.scope.code || ""),
      h("td", {}, person(e.requested_by)),
      h("td", {}, e.purpose),
      h("td", {}, formatDate(e.requested_at, true)),
      h("td", {}, e.approved_by ? person(e.approved_by) : "—"),
      h("td", { class: "state" }, stateText(e)),
      h("td", {}, actions(e)))))));
}

// ---- the exporter's screen ----

export async function render(ctx) {
  const grants = grantsWith(ctx.session, ["member.export"]);
  if (!grants.length) {
    ctx.show(h("h1", {}, "Exports"), h("p", {}, "Your account may not export member data."));
    return;
  }
  const unit = h("select", { name: "scope", required: true },
    grants.map((g, i) => h("option", { value: String(i) }, `${g.scope.name} (${g.role})`)));
  const colsBox = h("fieldset", {}, h("legend", {}, "Columns"));
  const showColumns = () => {
    const cols = columnsFor(grants[Number(unit.value)]);
    colsBox.replaceChildren(h("legend", {}, "Columns"),
      h("p", { class: "hint" }, "Only what the purpose needs. The file also holds synthetic " +
        "people of its own, so a copy found elsewhere names this export."),
      ...cols.map((c) => h("div", { class: "choice" }, h("label", { class: "inline" },
        h("input", { type: "checkbox", name: "column", value: c, checked: true }), c))));
  };
  unit.addEventListener("change", showColumns);
  showColumns();
  const purpose = h("textarea", { name: "purpose", required: true, maxlength: "500", rows: "3" });
  const key = h("input", { type: "text", name: "public_key", required: true, autocomplete: "off",
    spellcheck: "false", pattern: "[0-9a-fA-F]{64}", value: localStorage.getItem("switchboard.export-key") || "" });
  const code = codeInput("totp");
  const status = h("div", { role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Ask for the export");
  const form = h("form", { id: "export-request", "aria-label": "Ask for an export" },
    field("Unit to export", unit),
    field("Purpose", purpose, "Why the export is needed, in words; kept with the export and shown to the approver."),
    colsBox,
    field("Your export public key", key, "64 hex digits, from `switchboard export keygen` on your own computer. " +
      "The file is sealed to it: only your secret key opens it."),
    field("Authenticator code", code, "A fresh code: it is checked again for every export."),
    h("div", { class: "actions" }, submit), status);
  const list = h("div", { id: "my-exports" }, h("p", { class: "muted" }, "Loading…"));

  const load = async () => {
    const all = [];
    for (const g of grants) {
      const r = await get("/exports?unit=" + encodeURIComponent(g.scope.id));
      for (const e of r.exports) if (!all.some((x) => x.id === e.id)) all.push(e);
    }
    if (!ctx.live()) return;
    const mine = all.filter((e) => e.requested_by.id === ctx.session.account.id).sort((a, b) => b.id - a.id);
    list.replaceChildren(mine.length ? exportTable("Your exports", mine, myActions, "my-exports-table")
      : h("p", {}, "You have not asked for an export."));
  };
  const myActions = (e) => {
    const out = [];
    if (e.may.download) {
      const b = h("button", { type: "button", "data-action": "download" }, `Download export ${e.id}`);
      const st = h("div", { role: "status", "aria-live": "polite" });
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          const size = await download(e);
          announce(`Export ${e.id} saved (${size} bytes). Open it with switchboard export open.`);
          await load();
        } catch (err) {
          st.replaceChildren(errorBanner(err));
          b.disabled = false;
        }
      });
      out.push(b, st);
    }
    if (e.may.cancel) {
      out.push(h("details", {}, h("summary", {}, `Cancel export ${e.id}`),
        inlineForm("Why cancel?", h("input", { type: "text", name: "reason", required: true, maxlength: "500" }),
          "Cancel the export", async (reason) => {
            await post(`/exports/${e.id}/cancel`, { reason });
            announce(`Export ${e.id} cancelled`);
            await load();
          }, "danger")));
    }
    return out;
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    const g = grants[Number(unit.value)];
    const columns = [...colsBox.querySelectorAll("input[name=column]:checked")].map((x) => x.value);
    try {
      const r = await post("/exports", { scope: String(g.scope.id), purpose: purpose.value,
        public_key: key.value.trim(), totp: code.value.trim(), columns });
      localStorage.setItem("switchboard.export-key", key.value.trim());
      const e = r.export;
      const msg = e.state === "pending"
        ? `Export ${e.id} asked for. A second person must approve it before you can download it.`
        : `Export ${e.id} asked for. You can download it now.`;
      status.replaceChildren(h("div", { class: "banner ok" }, msg));
      announce(msg);
      purpose.value = "";
      code.value = "";
      await load();
    } catch (err) {
      status.replaceChildren(errorBanner(err));
    } finally {
      submit.disabled = false;
    }
  });

  ctx.show(h("h1", {}, "Exports"),
    h("p", {}, "An export is a file of members that leaves Switchboard. Each one needs a purpose, " +
      "a fresh authenticator code and, by policy, a second person's approval; it can be downloaded " +
      "once, sealed to your key. Every step is in the audit log."),
    list, h("h2", {}, "Ask for an export"), form);
  try {
    await load();
  } catch (err) {
    list.replaceChildren(errorBanner(err));
  }
}

// ---- the DPO console's tab ----

function traceResult(r) {
  const parts = [];
  if (r.verdict === "traced") {
    parts.push(h("div", { class: "banner error", role: "alert" },
      `Traced to export ${r.traced.join(", ")}.`));
  } else {
    parts.push(h("div", { class: "banner ok", role: "status" },
      "Not traced: no export's canary e-mail address, and no two canaries of one export by phone " +
      "number and name, are in this file."));
  }
  parts.push(h("p", { class: "muted" }, `Read ${r.rows} rows (${r.bad_rows} could not be split).`));
  for (const x of r.exports) {
    const e = x.export;
    parts.push(h("div", { class: "card", "data-traced-export": String(e.id) },
      h("h3", {}, `${x.traced ? "Export" : "Weak evidence of export"} ${e.id}`),
      h("dl", { class: "facts" },
        h("dt", {}, "Made by"), h("dd", {}, `${e.requested_by.login} (${e.requested_by.name})`),
        h("dt", {}, "Asked"), h("dd", {}, formatDate(e.requested_at, true)),
        h("dt", {}, "Downloaded"), h("dd", {}, e.produced_at ? formatDate(e.produced_at, true) : "not yet"),
        h("dt", {}, "Approved by"), h("dd", {}, e.approved_by ? e.approved_by.login : "nobody"),
        h("dt", {}, "Over"), h("dd", {}, `${e.scope.name || e.scope.code}, ${e.member_rows || 0} members`),
        h("dt", {}, "Purpose"), h("dd", {}, e.purpose),
        h("dt", {}, "Evidence"), h("dd", {},
          `${x.canaries_by_email} canaries by e-mail address, ${x.canaries_by_phone_and_name} by phone number with name`)),
      h("p", {}, h("a", { href: `/#/dpo/audit?actor=${e.requested_by.id}` }, "What this account did"))));
  }
  return parts;
}

function traceForm() {
  const file = h("input", { type: "file", name: "file", accept: ".csv,.tsv,.txt,text/csv,text/plain" });
  const pasted = h("textarea", { name: "pasted", rows: "4", spellcheck: "false" });
  const status = h("div", { id: "trace-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Trace");
  const form = h("form", { id: "trace-form", "aria-label": "Trace a file" },
    field("The suspected file", file, "A CSV or text file, up to 1 MiB. Larger: `switchboard leak trace FILE`."),
    field("Or paste some rows", pasted, "A few rows are enough."),
    h("div", { class: "actions" }, submit), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let text = pasted.value;
    const f = file.files && file.files[0];
    if (f) {
      if (f.size > MAX_TRACE_BYTES) {
        status.replaceChildren(h("div", { class: "banner error", role: "alert" },
          `${f.name} is larger than 1 MiB. Paste a part of it, or trace it with switchboard leak trace.`));
        return;
      }
      text = await f.text();
    }
    if (!text.trim()) {
      status.replaceChildren(h("div", { class: "banner error", role: "alert" }, "Choose a file or paste some rows."));
      return;
    }
    submit.disabled = true;
    try {
      const r = await post("/leaks/trace", { file: text });
      status.replaceChildren(...traceResult(r));
      announce(r.verdict === "traced" ? `Traced to export ${r.traced.join(", ")}` : "Not traced");
    } catch (err) {
      status.replaceChildren(errorBanner(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function renderDpo(ctx) {
  const pending = h("div", { id: "export-approvals" }, h("p", { class: "muted" }, "Loading…"));
  const history = h("div", { id: "export-history" });
  const caps = (ctx.session.grants || []).flatMap((g) => g.capabilities || []);
  ctx.show(h("h1", {}, "Exports"), tabs("exports"),
    h("p", {}, "Files of members taken out of Switchboard: approve or refuse those waiting, see " +
      "who took what and why, and find which export a leaked file came from."),
    h("h2", {}, "Waiting for approval"), pending,
    h("h2", {}, "All exports"), history,
    caps.includes("privacy.breach") ? [h("h2", {}, "Trace a file"), traceForm()] : "");
  const scopes = grantsWith(ctx.session, ["privacy.sar", "member.export"]);
  if (!scopes.length) {
    pending.replaceChildren(h("p", {}, "Your grants do not cover exports."));
    return;
  }
  const load = async () => {
    const all = [];
    for (const g of scopes) {
      const r = await get("/exports?unit=" + encodeURIComponent(g.scope.id));
      for (const e of r.exports) if (!all.some((x) => x.id === e.id)) all.push(e);
    }
    if (!ctx.live()) return;
    all.sort((a, b) => b.id - a.id);
    const waiting = all.filter((e) => e.may.approve);
    pending.replaceChildren(waiting.length
      ? exportTable("Exports waiting for your approval", waiting, actions, "approvals-table")
      : h("p", {}, "None."));
    history.replaceChildren(all.length ? exportTable("Every export", all, () => "", "exports-table")
      : h("p", {}, "No export yet."));
  };
  const actions = (e) => [
    inlineForm(`Authenticator code to approve export ${e.id}`, codeInput("totp"), `Approve export ${e.id}`,
      async (totp) => {
        await post(`/exports/${e.id}/approve`, { totp });
        announce(`Export ${e.id} approved`);
        await load();
      }),
    h("details", {}, h("summary", {}, `Refuse export ${e.id}`),
      inlineForm("Why refuse?", h("input", { type: "text", name: "reason", required: true, maxlength: "500" }),
        `Refuse export ${e.id}`, async (reason) => {
          await post(`/exports/${e.id}/cancel`, { reason });
          announce(`Export ${e.id} refused`);
          await load();
        }, "danger")),
  ];
  try {
    await load();
  } catch (err) {
    pending.replaceChildren(errorBanner(err));
  }
}
