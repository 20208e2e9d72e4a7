// Messages in your name (#/approvals): drafts that speak for the signed-in
// person, each shown as a sample member would get it (rendered by the
// server, made-up values, HTML in a sandboxed frame: mail.js previewView)
// beside the source as written, with "Approve in my name". Nothing is sent in a person's name until they have
// approved that exact version here, from their own account. Every signed-in
// account has this page; it lists messages only when there are some.

import { get, post } from "./api.js";
import { h, errorBanner, announce, formatDate, facts } from "./dom.js";
import { KIND_NAMES, KIND_HELP, audienceWords, fromWords, previewView, unitWords } from "./mail.js";

export async function render(ctx) {
  const result = h("div", { id: "approvals-result", "aria-live": "polite" });
  const loading = h("p", { class: "muted" }, "Loading…");
  ctx.show(
    h("h1", {}, "Messages in your name"),
    h("p", {}, "When someone drafts an e-mail that speaks for you, it waits here until you approve it. " +
      "Nothing is sent in your name without your approval of that exact version."),
    h("p", { id: "your-account", class: "hint muted" }, "People who draft in your name find you by your name, " +
      ctx.session.account.display_name + ". Your account number, if they ask: ",
      h("strong", {}, String(ctx.session.account.id))),
    result, loading);
  let list;
  try {
    list = (await get("/me/approvals")).messages || [];
  } catch (err) {
    loading.replaceWith(errorBanner(err));
    return;
  }
  const section = h("section", { "aria-labelledby": "waiting-h", id: "approvals" },
    h("h2", { id: "waiting-h" }, "Waiting for you"),
    list.length ? "" : h("p", {}, "Nothing is waiting for your approval."),
    list.map((m) => messageCard(ctx, m, result)));
  loading.replaceWith(section);
}

function messageCard(ctx, m, result) {
  const headingId = "approval-" + m.id + "-h";
  const children = [
    h("h3", { id: headingId }, m.subject),
    facts([
      ["In your name as", fromWords(m.from)],
      ["Drafted by", m.author_name],
      ["Kind", (KIND_NAMES[m.kind] || m.kind) + ": " + (KIND_HELP[m.kind] || "")],
      ["Goes to", audienceWords(m.audience, m.scope)],
      ["Scope", unitWords(m.scope)],
      ["Version", m.version],
      ["Last changed", formatDate(m.updated_at, true)],
    ]),
  ];
  const source = [
    h("h4", { id: "source-" + m.id + "-h" }, "As written"),
    h("p", { class: "hint muted" }, "Words in double braces are filled in for each member: " +
      "{{first_name}} becomes their first name, {{unit_name}} their unit, and the links their own " +
      "unsubscribe and preferences pages."),
    h("h5", {}, "Subject"),
    h("p", { class: "mail-subject" }, m.subject),
    h("h5", {}, "Text"),
    h("pre", { class: "mail-text", id: "source-" + m.id + "-text" }, m.text_body || ""),
  ];
  if (m.html_body) {
    // As text: the markup is what members' mail programs will format.
    source.push(h("details", {},
      h("summary", {}, "HTML version (as written, with its markup)"),
      h("pre", { class: "mail-text" }, m.html_body)));
  }
  const rendered = [h("h4", { id: "rendered-" + m.id + "-h" }, "As a member gets it")];
  if (m.preview) {
    rendered.push(h("p", { class: "hint muted" },
      "Filled in for a sample member, with the footer naming the sender, you and any approver."),
    previewView(m.preview, "preview-" + m.id, 5));
  } else {
    rendered.push(h("p", { class: "muted" }, "No preview could be made of this version."));
  }
  children.push(h("div", { class: "side-by-side" },
    h("section", { class: "rendered", "aria-labelledby": "rendered-" + m.id + "-h" }, rendered),
    h("section", { class: "source", "aria-labelledby": "source-" + m.id + "-h" }, source)));
  if (m.approved_by_you) {
    children.push(h("p", { class: "banner ok" }, "You approved version " + m.version + "."));
  } else {
    const approve = h("button", { type: "button" }, "Approve in my name");
    approve.setAttribute("aria-describedby", headingId);
    approve.addEventListener("click", async () => {
      approve.disabled = true;
      result.replaceChildren();
      try {
        await post("/me/approvals/" + encodeURIComponent(m.id), { version: m.version });
        announce("You approved \"" + m.subject + "\", version " + m.version + ".");
        await ctx.rerender();
      } catch (err) {
        result.replaceChildren(errorBanner(err));
        approve.disabled = false;
      }
    });
    children.push(h("div", { class: "actions" }, approve));
  }
  return h("article", { class: "card", "aria-labelledby": headingId, "data-message": String(m.id) }, children);
}
