// Sign in with login and password; when the account has a second factor the
// server answers 401 second_factor_required and we ask for the 6-digit code
// (or a recovery code) and send everything again.

import { post, setCsrfToken, ApiError } from "./api.js";
import { h, field, errorBanner, announce } from "./dom.js";

// `notice`: a problem to show at once (a sign-out the server did not confirm).
export function render(ctx, heading = "Sign in", notice = null) {
  const { errors, form, login } = signInForm(ctx, notice);
  ctx.show(h("h1", {}, heading), errors, form);
  login.focus();
}

// The sign-in form and its error area, for this screen and the invitation
// page; `login` is the first field.
export function signInForm(ctx, notice = null) {
  const errors = h("div", {}, notice ? errorBanner({ message: notice }) : "");
  const login = h("input", { type: "text", name: "login", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { type: "password", name: "password",
    autocomplete: "current-password", required: true });
  const code = h("input", { type: "text", name: "totp", inputmode: "numeric",
    autocomplete: "one-time-code", pattern: "[0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5}", maxlength: "11" });
  const codeField = field("Code from your authenticator app", code,
    "6 digits, or one of your recovery codes (like abcde-fghij)");
  codeField.hidden = true;
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { novalidate: true, "aria-describedby": "signin-errors" },
    field("Login name", login), field("Password", password), codeField,
    h("div", { class: "actions" }, submit,
      h("a", { href: "/#/forgot" }, "Forgot your password?")));
  errors.id = "signin-errors";

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    if (!login.value.trim() || !password.value) {
      errors.append(errorBanner({ message: "Enter your login name and password." }));
      return;
    }
    const body = { login: login.value.trim(), password: password.value };
    const c = code.value.trim();
    if (!codeField.hidden) {
      if (/^\d{6}$/.test(c)) body.totp = c;
      else if (/^[a-z0-9]{5}-[a-z0-9]{5}$/i.test(c)) body.recovery_code = c.toLowerCase();
      else {
        errors.append(errorBanner({ message: "Enter the 6-digit code from your authenticator app." }));
        code.focus();
        return;
      }
    }
    submit.disabled = true;
    try {
      const res = await post("/session", body);
      setCsrfToken(res.csrf_token);
      password.value = "";
      announce("Signed in.");
      await ctx.signedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === "second_factor_required") {
        codeField.hidden = false;
        submit.textContent = "Continue";
        announce("Enter the code from your authenticator app.");
        code.focus();
      } else {
        errors.append(errorBanner(err));
        if (err.code === "second_factor_invalid") {
          code.value = "";
          code.focus();
        }
      }
    } finally {
      submit.disabled = false;
    }
  });

  return { errors, form, login };
}
