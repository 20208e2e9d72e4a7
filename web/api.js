// The JSON API client. The session is an HttpOnly cookie the page never
// sees; its CSRF token comes with sign-in and from GET /session (bound to
// the cookie, readable only by this site's own pages), is kept in
// sessionStorage (this tab) and sent as X-CSRF-Token on every
// state-changing request. A new tab gets its copy from GET /session: no
// second sign-in (docs/security.md, "CSRF").

const CSRF_KEY = "switchboard.csrf";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "The server answered " + status + ". Please try again.");
    this.status = status;
    this.code = e.code || "http_" + status;
    this.body = body;
  }
}

export function csrfToken() {
  return sessionStorage.getItem(CSRF_KEY);
}

export function setCsrfToken(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

// Public routes: their refusals never mean "signed out".
const PUBLIC = ["/account-link", "/password-reset"];

// Calls the API; resolves to the JSON body, rejects with ApiError.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET" && method !== "HEAD") {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch("/api/v1" + path, init);
  } catch {
    throw new ApiError(0, { error: { code: "offline",
      message: "Cannot reach Switchboard. Check your connection and try again." } });
  }
  let json = null;
  let text;
  try {
    text = await res.text();
  } catch {
    throw new ApiError(0, { error: { code: "offline",
      message: "The connection to Switchboard broke off. Check your connection and try again." } });
  }
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      // A refusal still has its status; a success we cannot read is no success.
      if (res.ok) {
        throw new ApiError(res.status, { error: { code: "unreadable_answer",
          message: "Switchboard's answer could not be read. Please try again." } });
      }
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    if (res.status === 401 && path !== "/session" && !PUBLIC.some((p) => path.startsWith(p))) {
      window.dispatchEvent(new CustomEvent("switchboard:signed-out", { detail: err }));
    }
    throw err;
  }
  return json || {};
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
export const patch = (path, body = {}) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);
