// An invitation link, /join/<token>. The link is not a credential: the
// server says whether the signed-in person may join, and joining creates a
// grant that ends with the campaign. Someone not signed in sees which
// campaign it is, and either signs in or says "I'm new here" (enrol.js).

import { get, post } from "./api.js";
import { h, errorBanner, facts, formatDate, announce } from "./dom.js";
import { signInForm, render as signinRender } from "./signin.js";
import { newHereForm } from "./enrol.js";

// Not signed in: the campaign, "I'm new here" and the sign-in form.
export async function renderSignedOut(ctx, notice) {
  const token = ctx.params.token;
  ctx.show(h("h1", {}, "Join a campaign"), h("p", { class: "muted" }, "Checking the invitation…"));
  let about;
  try {
    about = await get("/join/" + encodeURIComponent(token) + "/about");
  } catch (err) {
    signinRender(ctx, "Sign in to join this campaign", err.message);
    return;
  }
  const c = about.campaign || {};
  const children = [
    h("h1", {}, "Join " + (c.name || "this campaign")),
    facts([["Campaign", c.name], ["Purpose", c.purpose], ["Ends", formatDate(c.ends_at, true)]]),
  ];
  if (!about.usable) {
    children.push(h("div", { class: "banner error", role: "alert" },
      about.reason || "This invitation cannot be used."));
    ctx.show(...children);
    return;
  }
  const signin = signInForm(ctx, notice);
  children.push(
    h("section", { "aria-labelledby": "new-here" },
      h("h2", { id: "new-here" }, "New here?"),
      newHereForm(token, about.non_members_may_sign_up)),
    h("section", { "aria-labelledby": "have-account" },
      h("h2", { id: "have-account" }, "Sign in to join this campaign"),
      signin.errors, signin.form));
  ctx.show(...children);
}

export async function render(ctx) {
  const token = ctx.params.token;
  ctx.show(h("h1", {}, "Join a campaign"), h("p", { class: "muted" }, "Checking the invitation…"));
  let info;
  try {
    info = await get("/join/" + encodeURIComponent(token));
  } catch (err) {
    ctx.show(h("h1", {}, "This invitation cannot be used"), errorBanner(err),
      h("p", {}, h("a", { href: "/#/" }, "Go to your campaigns")));
    return;
  }
  const c = info.campaign || {};
  const result = h("div", {});
  const children = [
    h("h1", {}, "Join " + (c.name || "this campaign")),
    facts([["Campaign", c.name], ["Purpose", c.purpose], ["Ends", formatDate(c.ends_at, true)]]),
    result,
  ];
  if (info.eligible === false) {
    children.push(h("div", { class: "banner error", role: "alert" },
      info.reason || "You cannot join this campaign."));
    children.push(h("p", {}, h("a", { href: "/#/" }, "Go to your campaigns")));
    ctx.show(...children);
    return;
  }
  const button = h("button", { type: "button" }, "Join");
  children.push(h("p", {}, "Joining lets you call members for this campaign until it ends. " +
    "You will never see their phone numbers."), h("div", { class: "actions" }, button));
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.replaceChildren();
    try {
      const res = await post("/join/" + encodeURIComponent(token));
      const id = (res.campaign && res.campaign.id) || c.id;
      const until = res.grant && res.grant.not_after ? " until " + formatDate(res.grant.not_after, true) : "";
      announce("You have joined " + (c.name || "the campaign") + ".");
      result.append(h("div", { class: "banner ok", role: "status" },
        "You have joined " + (c.name || "the campaign") + until + ". "),
        h("div", { class: "actions" },
          h("a", { class: "button", href: "/#/call/" + encodeURIComponent(id) }, "Start calling")));
      button.hidden = true;
    } catch (err) {
      result.append(errorBanner(err));
      button.disabled = false;
    }
  });
  ctx.show(...children);
  // Just signed up from this invitation (enrol.js): join at once.
  if (history.state && history.state.joinNow) {
    history.replaceState(null, "", location.href);
    button.click();
  }
}
