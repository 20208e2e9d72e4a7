// Signing oneself up and resetting a forgotten password (docs/security.md).
// Asking for a link always gets the same answer, whether or not the address
// or number is known; the link arrives by e-mail at the address on record.
// The link's token stays in the address's #fragment, which the browser never
// sends to the server, and goes to the API in request bodies only.
//
//   newHereForm(invite)   "I'm new here" on an invitation page (join.js)
//   #/forgot              "Forgot your password?"
//   #/welcome/<link>[/<invitation>], #/reset/<link>[/<invitation>]
//                         choose a password; then signed in, and joined

import { post, setCsrfToken } from "./api.js";
import { h, field, errorBanner, announce, formatDate } from "./dom.js";

// The answer to a request for a link, shown in `where`.
function asked(where, res) {
  where.replaceChildren(h("div", { class: "banner ok", role: "status" },
    h("strong", {}, "Check your e-mail. "), res.message || ""));
  announce("Check your e-mail.");
}

// "I'm new here": a button that opens a one-field form.
export function newHereForm(inviteToken, ownAddress) {
  const result = h("div", {});
  const who = h("input", { type: "text", name: "who", autocomplete: "email", required: true,
    autocapitalize: "none", spellcheck: "false", maxlength: "254" });
  const hint = ownAddress
    ? "Members: the e-mail address or membership number we hold for you. Not a member? " +
      "Your own e-mail address: we will send a link to check it is yours."
    : "The e-mail address or membership number we hold for you. We send a link to the " +
      "address we hold, never to another one.";
  const submit = h("button", { type: "submit" }, "Send me a link");
  const form = h("form", { novalidate: true, hidden: true },
    field("Your e-mail address or membership number", who, hint),
    h("div", { class: "actions" }, submit));
  const open = h("button", { type: "button", class: "secondary", "aria-expanded": "false" },
    "I'm new here");
  open.addEventListener("click", () => {
    form.hidden = false;
    open.setAttribute("aria-expanded", "true");
    open.hidden = true;
    who.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    if (!who.value.trim()) {
      result.append(errorBanner({ message: "Enter your e-mail address or membership number." }));
      who.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await post("/join/" + encodeURIComponent(inviteToken) + "/sign-up",
        { who: who.value.trim() });
      form.hidden = true;
      asked(result, res);
    } catch (err) {
      result.append(errorBanner(err));
    } finally {
      submit.disabled = false;
    }
  });
  return h("div", {}, h("p", {}, "Sign up in a minute: we send you a link to choose a password."),
    h("div", { class: "actions" }, open), form, result);
}

// #/forgot
export async function renderForgot(ctx) {
  const result = h("div", {});
  const who = h("input", { type: "text", name: "who", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false", maxlength: "254" });
  const submit = h("button", { type: "submit" }, "Send me a link");
  const form = h("form", { novalidate: true },
    field("Your login name, e-mail address or membership number", who,
      "We send a link to the e-mail address we hold for you."),
    h("div", { class: "actions" }, submit, h("a", { href: "/#/signin" }, "Back to sign in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    if (!who.value.trim()) {
      result.append(errorBanner({ message: "Enter your login name, e-mail address or membership number." }));
      who.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await post("/password-reset", { who: who.value.trim() });
      form.hidden = true;
      asked(result, res);
    } catch (err) {
      result.append(errorBanner(err));
    } finally {
      submit.disabled = false;
    }
  });
  ctx.show(h("h1", {}, "Forgot your password?"), result, form);
  who.focus();
}

// #/welcome/<link>[/<invitation>] and #/reset/<link>[/<invitation>]
export async function renderLink(ctx) {
  const { token, invite } = ctx.params;
  ctx.show(h("h1", {}, "Choose a password"), h("p", { class: "muted" }, "Checking the link…"));
  let info;
  try {
    info = await post("/account-link/check", { token });
  } catch (err) {
    ctx.show(h("h1", {}, "This link cannot be used"), errorBanner(err),
      h("p", {}, "Links work once and for a short time. ",
        invite ? h("a", { href: "/join/" + encodeURIComponent(invite) }, "Ask for a new one")
          : h("a", { href: "/#/forgot" }, "Ask for a new one"), "."));
    return;
  }
  const signup = info.purpose === "signup";
  const errors = h("div", { id: "link-errors" });
  const login = h("input", { type: "text", name: "login", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false", maxlength: "64" });
  const name = h("input", { type: "text", name: "display_name", autocomplete: "name",
    required: true, maxlength: "100" });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password",
    required: true, minlength: "12" });
  const again = h("input", { type: "password", name: "password_again",
    autocomplete: "new-password", required: true });
  const submit = h("button", { type: "submit" }, signup ? "Create my account" : "Set my new password");
  const fields = signup
    ? [field("Choose a login name", login, "Letters, digits, dots or dashes; you sign in with it."),
      field("Your name", name, "As others in the campaign will see it.")]
    : [h("p", {}, "Your login name is ", h("strong", {}, info.login), ".")];
  const form = h("form", { novalidate: true, "aria-describedby": "link-errors" }, ...fields,
    field("Password", password, "At least 12 characters; a short sentence is easy to remember."),
    field("Password again", again), h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    const say = (message, el) => {
      errors.append(errorBanner({ message }));
      el.focus();
    };
    if (signup && !login.value.trim()) return say("Choose a login name.", login);
    if (signup && !name.value.trim()) return say("Enter your name.", name);
    if (!password.value) return say("Choose a password.", password);
    if (password.value !== again.value) return say("The two passwords are not the same.", again);
    const body = { token, password: password.value };
    if (signup) {
      body.login = login.value.trim();
      body.display_name = name.value.trim();
    }
    submit.disabled = true;
    let res;
    try {
      res = await post("/account-link", body);
    } catch (err) {
      errors.append(errorBanner(err));
      submit.disabled = false;
      return;
    }
    password.value = again.value = "";
    setCsrfToken(res.csrf_token);
    announce(signup ? "Your account is ready." : "Your new password is set.");
    // Leave this address, which holds the link, so "back" does not show it
    // again; from an invitation, its page joins at once (join.js).
    if (invite) history.replaceState({ joinNow: true }, "", "/join/" + encodeURIComponent(invite));
    else history.replaceState(null, "", "/#/");
    await ctx.signedIn();
  });
  ctx.show(h("h1", {}, signup ? "Welcome: choose your password" : "Choose a new password"),
    h("p", { class: "muted" }, "This link works until " + formatDate(info.expires_at, true) + "."),
    errors, form);
  (signup ? login : password).focus();
}
