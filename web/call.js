// The calling screen: one member at a time, chosen by the server. The caller
// sees only the fields the campaign allows (first name, membership years,
// branch, and whom to ask for when several members share a number); the
// platform rings the caller's own phone and bridges the call, so no number
// ever reaches this page.

import { get, post } from "./api.js";
import { h, field, errorBanner, announce, facts, formatDate, clear } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

const OUTCOMES = [
  ["answered", "Answered: we spoke"],
  ["no_answer", "No answer"],
  ["busy", "Busy"],
  ["voicemail", "Voicemail"],
  ["wrong_number", "Wrong number"],
  ["do_not_call", "Asked not to be called again"],
  ["moved", "Has moved away"],
  ["deceased", "Has died"],
];

// A call's life cycle (docs/phonebank.md, "Call states"): the platform rings
// the caller's own phone, then the member's, and joins them.
const CALL_STEPS = [
  ["calling_you", "Ringing your phone"],
  ["calling_member", "Ringing the member"],
  ["connected", "Connected"],
  ["ended", "Ended"],
];

const CALL_STATES = {
  calling_you: "Ringing your phone. Answer it to be connected to the member.",
  calling_member: "You answered. Ringing the member…",
  connected: "Connected. You are talking to the member.",
};

// Why a call ended, in plain words.
const END_REASONS = {
  completed: "The call has ended.",
  caller_busy: "Your phone was busy, so the member was not rung.",
  caller_no_answer: "Your phone did not answer, so the member was not rung.",
  caller_declined: "You declined the call on your phone, so the member was not rung.",
  busy: "The member's line was busy.",
  no_answer: "The member did not answer.",
  wrong_number: "The member's number did not work.",
  killed: "The call was ended because the campaign was paused or stopped.",
  failed: "The call could not be placed: the phone network did not take it. You can try again.",
  lost: "The call was cut off when the server restarted.",
};

// Ends of the caller's own leg: the member goes back on the list untried.
const CALLER_ENDS = new Set(["caller_busy", "caller_no_answer", "caller_declined"]);

export async function render(ctx) {
  const id = ctx.params.id;
  const timers = new Set();
  let leaving = false;
  let stopFollowing = () => {};
  ctx.onLeave(() => {
    leaving = true;
    for (const t of timers) { clearTimeout(t); clearInterval(t); }
    timers.clear();
  });
  const campaign = await campaignName(id);
  const name = campaign.name;

  const status = h("div", { class: "status", role: "status", "aria-live": "polite", id: "call-status" });
  const errors = h("div", { id: "call-errors" }, campaign.error ? errorBanner(campaign.error) : "");
  const work = h("div", { id: "call-work" });
  const nextButton = h("button", { type: "button", id: "next" }, "Get the first member to call");
  const endpoint = endpointPanel(errors, timers);

  const setStatus = (text) => { status.textContent = text; };

  async function next() {
    errors.replaceChildren();
    nextButton.disabled = true;
    setStatus("Finding the next member to call…");
    let res;
    try {
      res = await post("/campaigns/" + encodeURIComponent(id) + "/next");
    } catch (err) {
      setStatus("");
      errors.append(errorBanner(err));
      if (err.code === "pace_limited" && err.body && err.body.error && err.body.error.retry_at) {
        const at = new Date(err.body.error.retry_at);
        const wait = Math.max(0, at.getTime() - Date.now());
        errors.append(h("p", {}, "You can ask for the next member at " +
          at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" }) + "."));
        const t = setTimeout(() => { nextButton.disabled = false; timers.delete(t); }, wait);
        timers.add(t);
      } else {
        nextButton.disabled = false;
      }
      return;
    }
    if (res.done) {
      clear(work);
      setStatus("");
      work.append(h("div", { class: "banner ok", role: "status" },
        res.message || "Everyone in this campaign has been called. Thank you!"));
      nextButton.hidden = true;
      return;
    }
    nextButton.hidden = true;
    showContact(res);
    setStatus("Ready to call " + (res.contact && res.contact.first_name ? res.contact.first_name : "the member") + ".");
  }

  function showContact(res) {
    clear(work);
    const c = res.contact || {};
    const card = h("section", { class: "card contact", "aria-labelledby": "contact-h" },
      h("h2", { id: "contact-h" }, "Who you are calling"),
      facts([
        ["First name", c.first_name],
        ["Member for", c.membership_years !== undefined && c.membership_years !== null
          ? c.membership_years + (c.membership_years === 1 ? " year" : " years") : ""],
        ["Branch", c.branch],
      ]));
    if (c.ask_for) {
      card.append(h("p", { class: "banner practice" },
        "Several members share this number. Ask for " + c.ask_for + "."));
    }
    if (res.lease && res.lease.expires_at) {
      card.append(h("p", { class: "muted" }, "Kept for you until " + formatDate(res.lease.expires_at, true) + "."));
    }
    const connect = h("button", { type: "button", id: "connect" }, "Connect");
    card.append(h("div", { class: "actions" }, connect));
    connect.addEventListener("click", () => doConnect(connect));

    const script = h("section", { class: "card", "aria-labelledby": "script-h" },
      h("h2", { id: "script-h" }, "Script"),
      h("div", { class: "script" }, renderMarkdown(res.script)));

    work.append(card, script, outcomeForm(res.survey || []));
  }

  async function doConnect(button) {
    errors.replaceChildren();
    button.disabled = true;
    setStatus("Connecting…");
    let res;
    try {
      res = await post("/campaigns/" + encodeURIComponent(id) + "/connect");
    } catch (err) {
      setStatus("");
      errors.append(errorBanner(err));
      if (String(err.code).includes("endpoint")) {
        endpoint.open = true;
        endpoint.querySelector("input").focus();
      }
      button.disabled = false;
      return;
    }
    const call = res.call || {};
    if (!call.id) {
      setStatus("Calling…");
      return;
    }
    button.hidden = true;
    followCall(call, button);
  }

  // Shows the call's progress until it ends, with a Hang up button. The
  // server is asked for the state after each change (long-polling: it
  // answers when the state moves on, or after a while with the same one).
  function followCall(call, connectButton) {
    const steps = h("ol", { class: "call-steps", id: "call-progress" },
      CALL_STEPS.map(([state, label]) => h("li", { "data-state": state }, label)));
    const hangup = h("button", { type: "button", id: "hangup", class: "danger" }, "Hang up");
    const panel = h("section", { class: "card", id: "call-panel", "aria-labelledby": "call-h" },
      h("h2", { id: "call-h" }, "Your call"), steps, h("div", { class: "actions" }, hangup));
    document.getElementById("call-panel")?.remove();
    work.prepend(panel);
    let ended = false;
    stopFollowing();
    stopFollowing = () => { ended = true; };

    const show = (c) => {
      const at = CALL_STEPS.findIndex(([s]) => s === c.state);
      steps.querySelectorAll("li").forEach((li, i) => {
        li.classList.toggle("done", at >= 0 && i < at);
        if (i === at) li.setAttribute("aria-current", "step");
        else li.removeAttribute("aria-current");
      });
      if (c.state !== "ended") {
        setStatus(CALL_STATES[c.state] || "Calling…");
        return;
      }
      ended = true;
      hangup.hidden = true;
      let text = END_REASONS[c.end] || "The call has ended.";
      if (typeof c.duration_seconds === "number" && (c.duration_seconds > 0 || c.end === "completed")) {
        text += " It lasted " + formatDuration(c.duration_seconds) + ".";
      }
      if (CALLER_ENDS.has(c.end)) {
        text += " The member goes back on the list and no try was counted. " +
          "Check your phone, then ask for the next member.";
        const form = work.querySelector("form.outcome");
        if (form) form.hidden = true;
        nextButton.textContent = "Next member";
        nextButton.hidden = false;
        nextButton.disabled = false;
      } else {
        connectButton.hidden = false;
        connectButton.disabled = false;
        connectButton.textContent = "Call again";
        const pick = c.suggested && work.querySelector(`input[name=outcome][value="${c.suggested}"]`);
        if (pick) pick.checked = true;
      }
      setStatus(text);
      announce(text);
    };

    hangup.addEventListener("click", async () => {
      hangup.disabled = true;
      errors.replaceChildren();
      try {
        const r = await post("/campaigns/" + encodeURIComponent(id) + "/calls/" +
          encodeURIComponent(call.id) + "/hangup");
        show(r.call || {});
      } catch (err) {
        errors.append(errorBanner(err));
        hangup.disabled = false;
      }
    });

    show(call);
    let state = call.state;
    const follow = async () => {
      if (ended || leaving) return;
      const asked = Date.now();
      try {
        const c = (await get("/calls/" + encodeURIComponent(call.id) + "?after=" +
          encodeURIComponent(state))).call || {};
        if (ended || leaving) return;
        state = c.state;
        show(c);
      } catch (err) {
        if (ended || leaving) return;
        errors.replaceChildren(errorBanner(err));
      }
      // At most one question a second, however quickly the server answers.
      const t = setTimeout(() => { timers.delete(t); follow(); },
        Math.max(0, 1000 - (Date.now() - asked)));
      timers.add(t);
    };
    follow();
  }

  function outcomeForm(survey) {
    const outcomes = h("fieldset", {},
      h("legend", {}, "How did the call go?"),
      h("div", { class: "choice" }, OUTCOMES.map(([value, label]) =>
        h("label", { class: "inline" },
          h("input", { type: "radio", name: "outcome", value, required: true }), label))));
    const questions = survey.map((q) => question(q));
    const surveyBox = h("section", { "aria-labelledby": "survey-h", id: "survey" },
      h("h2", { id: "survey-h" }, "Survey"),
      h("p", { class: "hint muted" }, "Only if you spoke to the member. Leave out anything they did not answer."),
      questions.map((q) => q.el));
    if (survey.length === 0) surveyBox.hidden = true;
    const save = h("button", { type: "submit", id: "save-outcome" }, "Save outcome");
    const form = h("form", { class: "card outcome", "aria-labelledby": "outcome-h", novalidate: true },
      h("h2", { id: "outcome-h" }, "Outcome"), outcomes, surveyBox, h("div", { class: "actions" }, save));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      errors.replaceChildren();
      const chosen = form.querySelector("input[name=outcome]:checked");
      if (!chosen) {
        errors.append(errorBanner({ message: "Choose how the call went before saving." }));
        form.querySelector("input[name=outcome]").focus();
        return;
      }
      const answers = {};
      if (chosen.value === "answered") {
        for (const q of questions) {
          const v = q.value();
          if (v !== undefined) answers[q.id] = v;
        }
      }
      save.disabled = true;
      try {
        await post("/campaigns/" + encodeURIComponent(id) + "/outcome", { outcome: chosen.value, answers });
      } catch (err) {
        errors.append(errorBanner(err));
        save.disabled = false;
        return;
      }
      stopFollowing();
      for (const t of timers) { clearTimeout(t); clearInterval(t); }
      timers.clear();
      clear(work);
      work.append(h("div", { class: "banner ok", role: "status", id: "saved" }, "Outcome saved. Thank you!"));
      setStatus("");
      announce("Outcome saved.");
      nextButton.textContent = "Next member";
      nextButton.hidden = false;
      nextButton.disabled = false;
      nextButton.focus();
    });
    return form;
  }

  nextButton.addEventListener("click", next);
  ctx.show(
    h("h1", {}, name ? "Calling for " + name : "Calling"),
    h("p", { class: "banner practice", id: "practice" },
      "Practice mode: calls are simulated. Nobody's phone will ring."),
    endpoint, errors, status, work,
    h("div", { class: "actions" }, nextButton),
    h("p", {}, h("a", { href: "#/progress/" + encodeURIComponent(id) }, "Your progress"), " · ",
      h("a", { href: "#/" }, "All campaigns")));
}

function formatDuration(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m ? `${m} min ${s} s` : `${s} second${s === 1 ? "" : "s"}`;
}

// The campaign's name for the heading; without it the screen still works,
// and says why the name is missing.
async function campaignName(id) {
  try {
    const list = (await get("/campaigns")).campaigns || [];
    const c = list.find((x) => String(x.id) === String(id));
    return { name: c ? c.name : "" };
  } catch (err) {
    return { name: "", error: err };
  }
}

// One survey question; value() is undefined when unanswered.
let qCount = 0;
function question(q) {
  const name = "q" + ++qCount;
  const qid = q.id;
  if (q.type === "text") {
    const input = h("textarea", { name, rows: "3" });
    return { id: qid, el: field(q.question, input), value: () => input.value.trim() || undefined };
  }
  let options;
  if (q.type === "yesno") options = [["yes", "Yes", true], ["no", "No", false]];
  else if (q.type === "scale") {
    const values = q.options && q.options.length ? q.options : [1, 2, 3, 4, 5];
    options = values.map((v) => [String(v), String(v), Number(v)]);
  } else options = (q.options || []).map((v) => [String(v), String(v), v]);
  const inputs = options.map(([value, label, out]) => {
    const input = h("input", { type: "radio", name, value });
    input.dataset.index = String(options.findIndex((o) => o[0] === value));
    return [h("label", { class: "inline" }, input, label), input, out];
  });
  const el = h("fieldset", {}, h("legend", {}, q.question), h("div", { class: "choice" }, inputs.map((i) => i[0])));
  return {
    id: qid,
    el,
    value: () => {
      const hit = inputs.find((i) => i[1].checked);
      return hit ? hit[2] : undefined;
    },
  };
}

// The caller's own phone, which the platform rings. Registered once. With
// real calls the platform calls the phone and the caller keys the code
// shown here on its keypad (docs/telephony.md); in practice mode the
// simulator shows the code and it is typed back.
const VERIFY_ENDS = {
  no_answer: "Your phone did not answer.",
  busy: "Your phone was busy.",
  declined: "The call was declined.",
  hung_up: "The call ended before the code was keyed.",
  timeout: "The code was not keyed in time, so we hung up.",
  too_many_keys: "Too many wrong codes in one call, so we hung up.",
  expired: "The code has expired.",
  throttled: "Too many wrong codes.",
  replaced: "A newer call replaced this one.",
  failed: "The call could not be made.",
};

function endpointPanel(errors, timers) {
  const phone = h("input", { type: "tel", name: "phone", autocomplete: "tel", id: "endpoint-phone" });
  const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    id: "endpoint-code" });
  const sandbox = h("p", { class: "banner practice", id: "sandbox-code", hidden: true });
  const result = h("div", { role: "status" });
  const calling = h("div", { id: "endpoint-call", hidden: true });
  const callStatus = h("p", { id: "endpoint-call-status", role: "status" });
  const sendButton = h("button", { type: "submit" }, "Send a code");
  const phoneForm = h("form", { novalidate: true },
    field("Your phone number", phone, "The platform rings this phone and connects you to the member. " +
      "Members never see it."),
    h("div", { class: "actions" }, sendButton));
  const verifyForm = h("form", { novalidate: true, hidden: true },
    sandbox, field("Verification code", code),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Confirm my phone")));
  let polling = null;

  const registered = () => {
    verifyForm.hidden = true;
    sandbox.hidden = true;
    calling.hidden = true;
    phone.value = "";
    result.replaceChildren(h("p", { class: "banner ok", id: "endpoint-ok" }, "Your phone is registered."));
    announce("Your phone is registered.");
  };

  // Real calls: show the code, then follow the call until it verifies or ends.
  const followCall = (typed, digits, minutes) => {
    const keys = digits.split("").join(" ");
    calling.replaceChildren(
      h("p", { class: "banner", id: "endpoint-instructions" },
        "We are calling " + typed + " now. Answer and key ",
        h("strong", { id: "endpoint-keys" }, keys), " on your phone's keypad."),
      h("p", { class: "hint muted" }, "The code works for " + minutes + " minutes. " +
        "Press * to start the code again if you mistype."),
      callStatus);
    callStatus.textContent = "Ringing your phone…";
    calling.hidden = false;
    announce("We are calling your phone now. Answer and key " + keys + " on its keypad.");
    if (polling) {
      clearTimeout(polling);
      timers.delete(polling);
    }
    const poll = async () => {
      timers.delete(polling);
      polling = null;
      const asked = Date.now();
      let c;
      try {
        const res = await get("/me/endpoint");
        if (res.verified) {
          registered();
          return;
        }
        c = res.call || { state: "failed", end: "failed" };
      } catch (err) {
        errors.replaceChildren(errorBanner(err));
        c = { state: "calling" };
      }
      if (c.state === "failed") {
        callStatus.textContent = (VERIFY_ENDS[c.end] || VERIFY_ENDS.failed) + " " +
          (c.message && c.end === "throttled" ? c.message + ". " : "") + "Ask for a new call to try again.";
        sendButton.disabled = false;
        announce(callStatus.textContent);
        return;
      }
      if (c.state === "answered") callStatus.textContent = "Answered: key the code on your phone's keypad.";
      else if (c.state === "wrong") callStatus.textContent = (c.message || "That code was not right") +
        ". Key the code again.";
      else if (c.state === "calling") callStatus.textContent = "Ringing your phone…";
      // At most one question a second.
      polling = setTimeout(poll, Math.max(0, 1000 - (Date.now() - asked)));
      timers.add(polling);
    };
    poll();
  };

  phoneForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    result.replaceChildren();
    const typed = phone.value.trim();
    try {
      sendButton.disabled = true;
      const res = await post("/me/endpoint", { phone: typed });
      if (res.method === "call") {
        followCall(typed, res.code, res.code_minutes);
        return;
      }
      sendButton.disabled = false;
      verifyForm.hidden = false;
      if (res.sandbox_code) {
        sandbox.textContent = "Simulator: no text message is sent in practice mode. Your code is " +
          res.sandbox_code + ".";
        sandbox.hidden = false;
      }
      code.focus();
    } catch (err) {
      sendButton.disabled = false;
      errors.append(errorBanner(err));
    }
  });
  verifyForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    try {
      await post("/me/endpoint/verify", { code: code.value.trim() });
      registered();
    } catch (err) {
      errors.append(errorBanner(err));
    }
  });
  return h("details", { class: "card", id: "endpoint" },
    h("summary", {}, "Your phone"), phoneForm, verifyForm, calling, result);
}
