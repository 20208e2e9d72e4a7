// Building the page from elements and text nodes only. Nothing here parses
// markup: every string the server sends is shown as text.

// h("p", {class: "x"}, "text", child, ...) -> an element. Attributes that
// start with "on" are refused (the CSP forbids inline handlers; use on()).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) throw new Error("use addEventListener, not " + k);
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// What every tab title ends with: the organisation's name once known (app.js).
let siteName = "Switchboard";
export function setSiteName(name) {
  siteName = name;
}

// Replaces the main view, moves focus to its heading for screen readers.
export function show(...children) {
  const main = document.getElementById("main");
  clear(main);
  append(main, children);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
    document.title = heading.textContent + " - " + siteName;
  }
  return main;
}

// Says something through the polite live region.
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A fresh text node so repeated messages are read again.
  window.setTimeout(() => { region.textContent = text; }, 50);
}

// A labelled form field. `input` is an element; returns the wrapper.
let fieldCount = 0;
export function field(label, input, hint) {
  const id = input.id || "f" + ++fieldCount;
  input.id = id;
  const children = [h("label", { for: id }, label)];
  if (hint) {
    const hintId = id + "-hint";
    children.push(h("span", { class: "hint", id: hintId }, hint));
    input.setAttribute("aria-describedby", hintId);
  }
  children.push(input);
  return h("div", { class: "field" }, children);
}

// The contest rules a refusal may name (docs/contests.md), as a heading
// for the server's message.
const CONTEST_RULES = {
  "contest.neutrality": "Refused under the contest's staff neutrality rule",
  "contest.data_release": "Refused under the contest's data-release rule",
};

// A banner for an error: the server's message is written for people. A
// refusal under a contest rule says which rule, above the message.
export function errorBanner(err) {
  const rule = err && err.body && err.body.error && err.body.error.rule;
  if (rule && CONTEST_RULES[rule]) {
    return h("div", { class: "banner error", role: "alert", "data-rule": rule },
      h("strong", { class: "rule" }, CONTEST_RULES[rule] + " (" + rule + ")"), h("p", {}, messageOf(err)));
  }
  return h("div", { class: "banner error", role: "alert" }, messageOf(err));
}

export function messageOf(err) {
  if (err && err.message) return err.message;
  return "Something went wrong. Please try again.";
}

// "2027-03-31T23:00:00Z" -> "31 March 2027, 23:00" in the reader's locale.
export function formatDate(iso, withTime = false) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const opts = { day: "numeric", month: "long", year: "numeric" };
  if (withTime) Object.assign(opts, { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleString("en-GB", opts);
}

// A definition list from [[term, value], ...], skipping empty values.
export function facts(pairs, cls = "facts") {
  const dl = h("dl", { class: cls });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(h("dt", {}, k), h("dd", {}, String(v)));
  }
  return dl;
}
