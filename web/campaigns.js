// The signed-in account's campaigns: the ones it calls for and the ones it
// organises.

import { get } from "./api.js";
import { h, errorBanner, formatDate } from "./dom.js";

const STATE_NAMES = { draft: "Draft", live: "Live", paused: "Paused", ended: "Ended", killed: "Stopped" };

export function canOrganise(session) {
  return (session.grants || []).some((g) => (g.capabilities || []).includes("phonebank.manage"));
}

export async function render(ctx) {
  const head = [h("h1", {}, "Your campaigns")];
  if (canOrganise(ctx.session)) {
    head.push(h("div", { class: "actions" },
      h("a", { class: "button", href: "#/organise/new" }, "New campaign")));
  }
  const loading = h("p", { class: "muted" }, "Loading campaigns…");
  ctx.show(...head, loading);
  let list;
  try {
    list = (await get("/campaigns")).campaigns || [];
  } catch (err) {
    loading.replaceWith(errorBanner(err));
    return;
  }
  const children = [];
  if (list.length === 0) {
    children.push(h("p", {}, "You are not in any campaign yet. An organiser can send you an " +
      "invitation link; open it to join."));
  }
  for (const c of list) {
    const links = [];
    if (c.role === "organiser") {
      links.push(h("a", { class: "button", href: "#/organise/" + encodeURIComponent(c.id) },
        "Manage " + c.name));
    } else {
      links.push(h("a", { class: "button", href: "#/call/" + encodeURIComponent(c.id) },
        "Start calling"));
      links.push(h("a", { class: "button secondary", href: "#/progress/" + encodeURIComponent(c.id) },
        "Your progress"));
    }
    children.push(h("section", { class: "card", "aria-label": c.name },
      h("h2", {}, c.name),
      h("p", {}, (STATE_NAMES[c.state] || c.state) +
        (c.scope && c.scope.name ? " · " + c.scope.name : "") +
        (c.ends_at ? " · ends " + formatDate(c.ends_at) : "") +
        (c.role === "organiser" ? " · you organise it" : " · you call for it")),
      h("div", { class: "actions" }, links)));
  }
  loading.replaceWith(...children);
}

export { STATE_NAMES };
