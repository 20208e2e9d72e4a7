// Compose and edit an e-mail message (#/email/new, #/email/<id>/edit):
// scope, from-identity (a person is picked by name: speakerPicker, an ARIA
// combobox over GET /messages/speakers), kind, the audience with its live recipient count,
// subject and bodies, the merge fields allowed, and a preview for a sample
// recipient. While a contest is live, an endorsement's statement shows its
// length as "37 / 50 words" as it is typed (words.js, the server's count). The server checks everything when the draft is saved; its
// errors name the field (and for templates the line and column), and are
// shown both in the live region above the form and next to the field.

import { get, post, patch } from "./api.js";
import { h, field, errorBanner, announce } from "./dom.js";
import {
  KINDS, FROM_KINDS, MERGE_FIELDS, countText, hasCap, loadPreview, unitWords,
} from "./mail.js";
import { countWords } from "./words.js";
import { loadContests, statementLimit } from "./contests.js";

const STATUSES = ["current", "arrears", "lapsed", "suspended", "resigned"];
const TYPES = ["standard", "reduced", "young", "life"];
// The audience fields this form edits; any others a draft has (set through
// the API) are kept as they are.
const AUDIENCE_KEYS = ["scope", "units", "statuses", "types", "joined_from", "joined_to",
  "lapsed_from", "lapsed_to", "not_contacted_since"];

// Set when "Save and preview" created a draft: the edit screen it opens
// shows the preview at once.
let previewNext = null;

export async function render(ctx) {
  const id = ctx.params.id;
  if (id === "new") {
    if (!hasCap(ctx.session, "message.draft")) {
      ctx.show(h("h1", {}, "New e-mail"),
        h("p", { class: "banner practice" }, "None of your roles lets you draft e-mail."),
        h("p", {}, h("a", { href: "#/email" }, "All e-mail")));
      return;
    }
    ctx.show(h("h1", {}, "New e-mail"), composeForm(ctx, null));
    return;
  }
  let m;
  try {
    m = (await get("/messages/" + encodeURIComponent(id))).message;
  } catch (err) {
    ctx.show(h("h1", {}, "Edit e-mail"), errorBanner(err), h("p", {}, h("a", { href: "#/email" }, "All e-mail")));
    return;
  }
  const back = h("p", {}, h("a", { href: "#/email/" + encodeURIComponent(m.id) }, "Back to the message"));
  if (m.state !== "draft" || m.author !== ctx.session.account.id) {
    ctx.show(h("h1", {}, "Edit e-mail"),
      h("p", { class: "banner practice" }, m.state !== "draft"
        ? "This message is " + m.state + ": only drafts can be edited."
        : "Only the person who drafted a message edits it."),
      back);
    return;
  }
  const form = composeForm(ctx, m);
  ctx.show(h("h1", {}, "Edit e-mail"), form, back);
  if (ctx.live() && previewNext === String(m.id)) {
    previewNext = null;
    form.runPreview();
  }
}

// ---- helpers -------------------------------------------------------------------

function splitList(s) {
  return s.split(",").map((x) => x.trim()).filter(Boolean);
}

function dateOnly(s) {
  return s ? String(s).slice(0, 10) : "";
}

// A group of checkboxes as a fieldset; returns {el, inputs, value()}.
function checkGroup(legend, name, values, checked, hint) {
  const all = [...values];
  for (const v of checked) if (!all.includes(v)) all.push(v);
  const inputs = all.map((v) => h("input", { type: "checkbox", name, value: v, checked: checked.includes(v) }));
  const el = h("fieldset", { "data-field": name },
    h("legend", {}, legend),
    hint ? h("p", { class: "hint muted" }, hint) : "",
    h("div", { class: "choice" }, inputs.map((i) => h("label", { class: "inline" }, i, i.value))));
  return { el, inputs, value: () => inputs.filter((i) => i.checked).map((i) => i.value) };
}

// One radio group with a line of explanation under each choice.
function radioGroup(legend, name, choices, selected) {
  const inputs = [];
  const rows = choices.map(([value, label, help]) => {
    const input = h("input", { type: "radio", name, value, checked: value === selected });
    const helpId = name + "-" + value + "-help";
    input.setAttribute("aria-describedby", helpId);
    inputs.push(input);
    return h("div", { class: "radio-row" },
      h("label", { class: "inline" }, input, label),
      h("span", { class: "hint", id: helpId }, help));
  });
  const el = h("fieldset", { "data-field": name }, h("legend", {}, legend), rows);
  return { el, inputs, value: () => (inputs.find((i) => i.checked) || {}).value };
}

// ---- the form ----------------------------------------------------------------------

function composeForm(ctx, m) {
  const a = (m && m.audience) || {};
  const errors = h("div", { id: "compose-errors", "aria-live": "assertive" });

  // Scope: the units the account may draft for (or the draft's own).
  const scope = h("select", { name: "scope", required: true, disabled: !!m });
  const scopes = new Map();
  for (const g of ctx.session.grants || []) {
    if ((g.capabilities || []).includes("message.draft") && g.scope && g.scope.code) {
      scopes.set(g.scope.code, g.scope);
    }
  }
  if (m && m.scope && m.scope.code) scopes.set(m.scope.code, m.scope);
  for (const [code, u] of scopes) {
    scope.append(h("option", { value: code, selected: m && m.scope && m.scope.code === code }, unitWords(u)));
  }

  // From.
  const f = (m && m.from) || { kind: "unit" };
  const from = radioGroup("Who it is from", "from_kind", FROM_KINDS, f.kind);
  const fromUnit = h("input", { type: "text", name: "from_unit", autocapitalize: "characters",
    value: f.kind === "unit" && f.unit && f.unit.code !== (m && m.scope && m.scope.code) ? f.unit.code : "" });
  const fromName = h("input", { type: "text", name: "from_name", maxlength: "120", value: f.name || "" });
  const fromUnitField = field("Unit code (optional)", fromUnit, "Leave empty to send as the scope itself");
  const speaker = speakerPicker(ctx, () => (m ? m.scope.code : scope.value),
    f.account ? { account: f.account, name: f.name || "" } : null);
  const fromAccount = speaker.input;
  const fromAccountField = field("The person it speaks for", fromAccount,
    "Type part of their name and choose them from the list. They approve the message from their own " +
    "account, on their \"Messages in your name\" page");
  fromAccountField.append(speaker.list, speaker.status);
  scope.addEventListener("change", () => speaker.clear());
  const fromNameField = field("Name shown as the sender", fromName,
    "For a person, their own name is used when this is empty");
  const syncFrom = () => {
    const k = from.value();
    fromUnitField.hidden = k !== "unit";
    fromAccountField.hidden = !(k === "person" || k === "candidate");
    fromNameField.hidden = !(k === "person" || k === "candidate");
  };
  for (const i of from.inputs) i.addEventListener("change", syncFrom);
  syncFrom();

  // Kind.
  const kind = radioGroup("Kind of message", "kind",
    KINDS.map(([v, l, help]) => [v, l, help]), (m && m.kind) || "service");

  // Audience.
  const units = h("input", { type: "text", name: "units", value: (a.units || []).join(", ") });
  const statuses = checkGroup("Membership status", "statuses", STATUSES, a.statuses || (m ? [] : ["current"]),
    "None ticked: any status");
  const types = checkGroup("Membership type", "types", TYPES, a.types || [], "None ticked: any type");
  const dates = {};
  for (const k of ["joined_from", "joined_to", "lapsed_from", "lapsed_to", "not_contacted_since"]) {
    dates[k] = h("input", { type: "date", name: k, value: dateOnly(a[k]) });
  }
  const count = h("p", { class: "status", id: "audience-count", role: "status", "aria-live": "polite" },
    "Counting…");

  const audience = () => {
    const out = {};
    // Keep what this form does not edit (consents, suppressions, canaries).
    for (const [k, v] of Object.entries(a)) if (!AUDIENCE_KEYS.includes(k)) out[k] = v;
    const u = splitList(units.value);
    if (u.length) out.units = u;
    const s = statuses.value();
    if (s.length) out.statuses = s;
    const t = types.value();
    if (t.length) out.types = t;
    for (const [k, input] of Object.entries(dates)) {
      if (!input.value) continue;
      out[k] = k === "not_contacted_since" ? input.value + "T00:00:00Z" : input.value;
    }
    return out;
  };

  let pending = null;
  let asked = 0;
  const recount = () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const mine = ++asked;
      count.textContent = "Counting…";
      try {
        const res = await post("/messages/audience-count",
          { scope: m ? m.scope.code : scope.value, kind: kind.value(), audience: audience() });
        if (mine !== asked) return;  // a newer count is on its way
        count.textContent = "Recipients now: " + countText(res.recipients) +
          " (with the consent this kind needs, not suppressed, with a working address)";
      } catch (err) {
        if (mine !== asked) return;
        count.textContent = "Cannot count this audience: " + err.message;
      }
    }, 400);
  };
  ctx.onLeave(() => clearTimeout(pending));
  for (const el of [scope, units, ...Object.values(dates)]) {
    el.addEventListener("input", recount);
    el.addEventListener("change", recount);
  }
  for (const el of [...statuses.inputs, ...types.inputs, ...kind.inputs]) el.addEventListener("change", recount);

  // Content.
  const subject = h("input", { type: "text", name: "subject", required: true, maxlength: "200",
    value: (m && m.subject) || "" });
  const text = h("textarea", { name: "text_body", rows: "10", required: true });
  text.value = (m && m.text_body) || "";
  const html = h("textarea", { name: "html_body", rows: "8" });
  html.value = (m && m.html_body) || "";

  const merge = h("section", { class: "card merge", "aria-labelledby": "merge-h" },
    h("h2", { id: "merge-h" }, "Merge fields you may use"),
    h("p", {}, "In the subject and both bodies. Nothing else about a member can go into a message."),
    h("ul", {}, MERGE_FIELDS.map(([tag, what]) => h("li", {}, h("code", {}, tag), " ", what))),
    h("p", { class: "hint muted" },
      "To cope with a missing first name: {{#first_name}}Dear {{first_name}},{{/first_name}}" +
      "{{^first_name}}Dear member,{{/first_name}}"));

  const previewBox = h("div", { id: "preview-box", "aria-live": "polite" });
  const save = h("button", { type: "submit", value: "save" }, m ? "Save changes" : "Save draft");
  const savePreview = h("button", { type: "submit", value: "preview", class: "secondary" }, "Save and preview");
  if (m) save.setAttribute("aria-describedby", "save-hint");

  // The statement's length, for an endorsement while a contest is live.
  const textField = field("Text", text, "Every message has a plain-text version");
  const wordCount = statementCounter(ctx, text, kind);
  textField.append(wordCount.el);

  const fields = { scope, subject, text_body: text, html_body: html };
  const form = h("form", { novalidate: true, id: "compose-form", "aria-describedby": "compose-errors" },
    errors,
    field("Scope", scope, m ? "A draft keeps its scope" : "The part of the organisation it goes to"),
    from.el,
    h("div", { class: "indent" }, fromUnitField, fromAccountField, fromNameField),
    kind.el,
    h("fieldset", { id: "audience" }, h("legend", {}, "Audience"),
      h("p", { class: "hint muted" },
        "Inside the scope. Consent for the kind of message and every suppression are applied for you."),
      field("Only these units (optional)", units, "Unit codes inside the scope, separated by commas"),
      statuses.el, types.el,
      h("div", { class: "pair" },
        field("Joined on or after (optional)", dates.joined_from),
        field("Joined before (optional)", dates.joined_to)),
      h("div", { class: "pair" },
        field("Lapsed on or after (optional)", dates.lapsed_from),
        field("Lapsed before (optional)", dates.lapsed_to)),
      field("Not contacted since (optional)", dates.not_contacted_since),
      count),
    field("Subject", subject, "One line; merge fields allowed"),
    textField,
    field("HTML version (optional)", html,
      "Simple formatting only: paragraphs, emphasis, lists, headings, tables and links. No scripts, " +
      "styles, images or forms."),
    merge,
    m ? h("p", { class: "hint muted", id: "save-hint" }, "Saving makes a new version: approvals of version " +
      m.version + " no longer count, and whoever approved it must approve again.") : "",
    h("div", { class: "actions" }, save, savePreview),
    h("section", { "aria-labelledby": "preview-h" },
      h("h2", { id: "preview-h" }, "Preview"),
      m ? "" : h("p", { class: "muted", id: "preview-note" }, "Save the draft to see it as a member would."),
      previewBox));
  // Error placement for fields without a simple input.
  Object.assign(fields, {
    from: from.el, "from.kind": from.el, "from.unit": fromUnit, "from.account": fromAccount,
    "from.name": fromName, kind: kind.el, audience: h("span"),
    "segment.units": units, "segment.statuses": statuses.el, "segment.types": types.el,
    "segment.joined_from": dates.joined_from, "segment.joined_to": dates.joined_to,
    "segment.lapsed_from": dates.lapsed_from, "segment.lapsed_to": dates.lapsed_to,
    "segment.not_contacted_since": dates.not_contacted_since, "audience.units": units,
  });
  fields.audience = form.querySelector("#audience");

  const clearErrors = () => {
    errors.replaceChildren();
    for (const el of form.querySelectorAll(".field-error")) el.remove();
    for (const el of form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      const d = (el.getAttribute("aria-describedby") || "").split(" ").filter((x) => !x.endsWith("-error"));
      if (d.length) el.setAttribute("aria-describedby", d.join(" "));
      else el.removeAttribute("aria-describedby");
    }
  };

  // "text_body: line 3, column 7: unknown merge field ..." -> next to the field.
  const showError = (err) => {
    errors.append(errorBanner(err));
    const msg = err.message || "";
    const mm = /^missing field "([a-z_.]+)"/.exec(msg) ||
      /^([a-z_]+(?:\.[a-z_]+)?)(?:\[\d+\])?:/.exec(msg);
    const key = mm && mm[1];
    const target = key && (fields[key] || fields[key.split(".")[0]]);
    if (!target) return;
    const errId = (target.id || target.getAttribute("data-field") || key.replace(/\W/g, "-")) + "-error";
    const note = h("p", { class: "field-error", id: errId }, msg);
    const holder = target.closest(".field") || target;
    if (holder.tagName === "FIELDSET") holder.append(note);
    else holder.insertBefore(note, target);
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-describedby",
      [target.getAttribute("aria-describedby"), errId].filter(Boolean).join(" "));
    const link = h("a", { href: "#" + errId }, "Go to the field");
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      focusAt(target, msg);
    });
    errors.lastChild.append(" ", link);
    focusAt(target, msg);
  };

  const body = () => {
    const k = from.value();
    const fromBody = { kind: k };
    if (k === "unit" && fromUnit.value.trim()) fromBody.unit = fromUnit.value.trim();
    if (k === "person" || k === "candidate") {
      fromBody.account = speaker.chosen() ? speaker.chosen().account : null;
      if (fromName.value.trim()) fromBody.name = fromName.value.trim();
    }
    const out = {
      from: fromBody, kind: kind.value(), audience: audience(),
      subject: subject.value, text_body: text.value, html_body: html.value,
    };
    if (!m) out.scope = scope.value;
    return out;
  };

  let saved = m;
  form.runPreview = async () => {
    if (!saved) return;
    const ok = await loadPreview(saved.id, previewBox);
    announce(ok ? "Preview ready." : "The preview could not be made.");
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const wantPreview = ev.submitter === savePreview;
    clearErrors();
    wordCount.update();
    if (!subject.value.trim() || !text.value.trim()) {
      showError({ message: (!subject.value.trim() ? "subject" : "text_body") +
        ": write a subject and a text version before saving." });
      return;
    }
    const k = from.value();
    if ((k === "person" || k === "candidate") && !speaker.chosen()) {
      showError({ message: "from.account: type part of the name of the person the message speaks for, " +
        "and choose them from the list." });
      return;
    }
    save.disabled = savePreview.disabled = true;
    try {
      if (saved) {
        const res = await patch("/messages/" + encodeURIComponent(saved.id), body());
        saved = res.message;
        announce("Saved as version " + saved.version + ".");
        if (wantPreview) await form.runPreview();
        else location.hash = "#/email/" + encodeURIComponent(saved.id);
      } else {
        const res = await post("/messages", body());
        const id = String(res.message.id);
        announce("Draft saved.");
        if (wantPreview) {
          previewNext = id;
          location.hash = "#/email/" + encodeURIComponent(id) + "/edit";
        } else {
          location.hash = "#/email/" + encodeURIComponent(id);
        }
      }
    } catch (err) {
      showError(err);
    } finally {
      save.disabled = savePreview.disabled = false;
    }
  });

  recount();
  return form;
}

// "37 / 50 words" under the text body while the kind is endorsement and a
// contest is live (the smallest limit of those the account sees). Over the
// limit the body is marked invalid; the server still decides on saving.
function statementCounter(ctx, text, kind) {
  const el = h("div", { id: "statement-count-box", hidden: true },
    h("p", { class: "word-count", id: "statement-count" }),
    h("p", { class: "field-note", id: "statement-note" }));
  const count = el.firstChild;
  const note = el.lastChild;
  let limit = null;
  let marked = false;
  let spoken = null;
  const describe = (on) => {
    const ids = (text.getAttribute("aria-describedby") || "").split(" ")
      .filter((x) => x && x !== "statement-count" && x !== "statement-note");
    if (on) ids.push("statement-count", "statement-note");
    if (ids.length) text.setAttribute("aria-describedby", ids.join(" "));
    else text.removeAttribute("aria-describedby");
  };
  const update = () => {
    const on = !!limit && kind.value() === "endorsement";
    el.hidden = !on;
    describe(on);
    if (!on) {
      if (marked) text.removeAttribute("aria-invalid");
      marked = false;
      return;
    }
    const n = countWords(text.value);
    const over = n > limit.limit;
    count.textContent = n + " / " + limit.limit + " words";
    count.classList.toggle("over", over);
    note.textContent = over
      ? "Over the limit: " + limit.contest + " allows " + limit.limit + " words in a statement. " +
        "Shorten it, or the server will refuse it."
      : "The statement's limit in " + limit.contest + ", counted as the server counts. " +
        "Leave the HTML version empty: during a contest an endorsement is plain text.";
    note.classList.toggle("count-error", over);
    if (over) {
      text.setAttribute("aria-invalid", "true");
      marked = true;
    } else if (marked) {
      text.removeAttribute("aria-invalid");
      marked = false;
    }
    // Said once typing pauses, not at every key.
    clearTimeout(spoken);
    spoken = setTimeout(() => { if (ctx.live() && document.activeElement === text) announce(count.textContent); }, 1500);
  };
  ctx.onLeave(() => clearTimeout(spoken));
  text.addEventListener("input", update);
  for (const i of kind.inputs) i.addEventListener("change", update);
  loadContests().then((list) => {
    limit = statementLimit(list);
    if (ctx.live()) update();
  });
  return { el, update };
}

// Focuses the field; in a body, puts the cursor at the line and column the
// server named.
function focusAt(target, msg) {
  const el = target.matches("input, textarea, select") ? target : target.querySelector("input, textarea, select");
  if (!el) return;
  el.focus();
  const lc = /line (\d+), column (\d+)/.exec(msg);
  if (lc && el.tagName === "TEXTAREA") {
    const lines = el.value.split("\n");
    const line = Math.min(Number(lc[1]), lines.length);
    let pos = 0;
    for (let i = 0; i < line - 1; i++) pos += lines[i].length + 1;
    pos += Math.min(Number(lc[2]) - 1, lines[line - 1].length);
    el.setSelectionRange(pos, pos);
  }
}

// The person a message speaks for, found by name (ARIA 1.2 combobox with a
// list box): typing asks the server for accounts the scope could speak for
// (display names only, a page at a time); Down and Up move through the
// list, Enter or a click chooses, Escape closes it. `scopeOf()` is the
// scope's code; `initial` the draft's person, if any.
let pickerCount = 0;
function speakerPicker(ctx, scopeOf, initial) {
  const n = ++pickerCount;
  const listId = "speaker-list-" + n;
  const input = h("input", {
    type: "text", name: "from_account", role: "combobox", autocomplete: "off",
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
    value: initial ? initial.name : "",
  });
  const list = h("ul", { id: listId, role: "listbox", class: "combo-list", hidden: true,
    "aria-label": "People the message could speak for" });
  const status = h("p", { class: "hint", role: "status", id: "speaker-status-" + n });
  let chosen = initial;
  let options = [];
  let active = -1;
  let pending = null;
  let asked = 0;
  const sayChosen = () => {
    status.textContent = chosen ? "Speaks for " + chosen.name + "." : "";
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    options.forEach((o, j) => o.el.setAttribute("aria-selected", j === i ? "true" : "false"));
    if (i >= 0) {
      input.setAttribute("aria-activedescendant", options[i].el.id);
      options[i].el.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const choose = (i) => {
    const o = options[i];
    if (!o) return;
    chosen = { account: o.account, name: o.name };
    input.value = o.name;
    input.removeAttribute("aria-invalid");
    close();
    sayChosen();
  };
  const show = (found, more) => {
    options = found.map((sp, i) => {
      const el = h("li", { role: "option", id: listId + "-" + i, "aria-selected": "false" }, sp.name);
      // Chosen on mousedown, before the input loses focus.
      el.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(i); });
      return { el, account: sp.account, name: sp.name };
    });
    if (!found.length) {
      close();
      list.replaceChildren();
      status.textContent = "Nobody by that name in this scope.";
      return;
    }
    list.replaceChildren(...options.map((o) => o.el));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(-1);
    status.textContent = found.length + (found.length === 1 ? " person found" : " people found") +
      (more ? "; more match, type more of the name" : "") + ". Use the arrow keys to choose.";
  };
  const search = () => {
    clearTimeout(pending);
    const q = input.value.trim();
    if (q.length < 2) {
      close();
      status.textContent = q.length ? "Type at least 2 letters of their name." : "";
      return;
    }
    pending = setTimeout(async () => {
      const mine = ++asked;
      try {
        const res = await get("/messages/speakers?unit=" + encodeURIComponent(scopeOf()) +
          "&q=" + encodeURIComponent(q));
        if (mine !== asked || !ctx.live()) return;
        show(res.speakers || [], res.next_offset !== undefined);
      } catch (err) {
        if (mine !== asked || !ctx.live()) return;
        close();
        status.textContent = "Cannot search: " + err.message;
      }
    }, 250);
  };
  ctx.onLeave(() => clearTimeout(pending));
  input.addEventListener("input", () => {
    chosen = null;
    search();
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (list.hidden) {
        search();
        return;
      }
      if (!options.length) return;
      const step = ev.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (ev.key === "Enter" && !list.hidden && active >= 0) {
      ev.preventDefault();  // chooses; does not submit the form
      choose(active);
    } else if (ev.key === "Escape" && !list.hidden) {
      ev.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", () => close());
  sayChosen();
  return {
    input, list, status,
    chosen: () => chosen,
    clear: () => {
      chosen = null;
      input.value = "";
      close();
      sayChosen();
    },
  };
}
