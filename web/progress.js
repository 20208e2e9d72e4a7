// A caller's own progress: calls, conversations, streak, badges, and how the
// units compare (counts only, never people).

import { get } from "./api.js";
import { h, errorBanner } from "./dom.js";

export async function render(ctx) {
  const id = ctx.params.id;
  let p;
  try {
    // Your own figures across the campaigns you call for; the campaign's
    // full progress is for its organisers.
    p = await get("/me/stats");
  } catch (err) {
    ctx.show(h("h1", {}, "Your progress"), errorBanner(err));
    return;
  }
  const me = p.me || {};
  const badges = me.badges || [];
  const board = p.leaderboard || [];
  ctx.show(
    h("h1", {}, "Your progress"),
    h("div", { class: "stats" },
      stat("Calls", me.calls), stat("Conversations", me.conversations),
      stat("Days in a row", me.streak_days)),
    h("h2", {}, "Badges"),
    badges.length
      ? h("ul", { class: "plain badges" }, badges.map((b) => h("li", {}, badgeName(b))))
      : h("p", {}, "No badges yet. Your first call earns one."),
    h("h2", {}, "Unit leaderboard"),
    board.length
      ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Unit"), h("th", { scope: "col" }, "Calls"))),
        h("tbody", {}, board.map((r) => h("tr", {}, h("td", {}, unitName(r.unit)), h("td", {}, String(r.calls ?? 0))))))
      : h("p", {}, "No calls made yet."),
    h("p", {}, h("a", { href: "#/call/" + encodeURIComponent(id) }, "Back to calling")));
}

export function stat(label, value) {
  return h("div", { class: "card" }, h("div", { class: "big" }, String(value ?? 0)), h("div", {}, label));
}

export function unitName(u) {
  if (u && typeof u === "object") return u.name || u.code || String(u.id ?? "");
  return String(u ?? "");
}

function badgeName(b) {
  if (b && typeof b === "object") return b.name || b.label || b.id || "";
  return String(b);
}
