// Organisers: a campaign's survey results and charts, and the CSV download.
// Counts only, never people: a unit or a day with fewer answers than the
// server's small-cell limit shows how many answered, not what they said.
// Charts are SVG drawn by the server (docs/phonebank.md, "Charts"), shown as
// images with the server's description of each as its text alternative, so
// the page parses no markup and every figure is also in a table.

import { get } from "./api.js";
import { h, errorBanner } from "./dom.js";

const percent = (p) => (typeof p === "number" ? p.toLocaleString("en-GB", { maximumFractionDigits: 1 }) + "%" : "");

function answerLabel(q, a) {
  if (q.type === "yesno") return a === "yes" ? "Yes" : a === "no" ? "No" : a;
  return String(a);
}

function table(caption, headings, rows) {
  return h("table", {},
    caption ? h("caption", {}, caption) : "",
    h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((x, i) =>
      i === 0 ? h("th", { scope: "row" }, String(x)) : h("td", {}, String(x)))))));
}

// A chart as an image of the server's SVG; `stamp` makes a refresh fetch anew.
function figure(chart, stamp) {
  // The image shows the title; its text alternative says what the bars show.
  return h("figure", { class: "chart", "data-chart": chart.name },
    h("img", { src: chart.href + "?v=" + encodeURIComponent(stamp), alt: chart.description }));
}

// Answers per unit or per day: a row each, withheld cells say so.
function breakdown(q, rows, key, heading, small) {
  if (!rows.length) return "";
  const options = (q.answers || []).map((a) => a.answer);
  const body = rows.map((r) => {
    if (r.withheld) {
      return [r[key], r.responses, ...options.map(() => "—"), `fewer than ${small} answers: not shown`];
    }
    const counts = (r.answers || []).map((a) => `${a.count} (${percent(a.percent)})`);
    return [r[key], r.responses, ...counts, ""];
  });
  return h("details", {},
    h("summary", {}, heading),
    table("", [heading.replace(/^By /, "").replace(/^./, (c) => c.toUpperCase()), "Answers",
      ...options.map((o) => answerLabel(q, o)), "Note"], body));
}

function questionSection(q, i, chart, small, stamp) {
  const parts = [h("h3", { id: "question-" + (i + 1) }, q.question)];
  const skipped = q.skipped ? `; ${q.skipped} answered ${q.skipped === 1 ? "call" : "calls"} skipped it` : "";
  parts.push(h("p", { class: "muted" }, `${q.responses} ${q.responses === 1 ? "answer" : "answers"}${skipped}.`));
  if (q.type === "text") {
    parts.push(h("p", {}, "Free-text answers are not shown here or in the download: they may name people."));
    return h("section", { class: "card question", "aria-labelledby": "question-" + (i + 1) }, parts);
  }
  if (chart) parts.push(figure(chart, stamp));
  parts.push(table("", ["Answer", "Count", "Percent"],
    (q.answers || []).map((a) => [answerLabel(q, a.answer), a.count, percent(a.percent)])));
  parts.push(breakdown(q, q.by_unit || [], "unit", "By unit", small));
  parts.push(breakdown(q, q.by_day || [], "day", "By day", small));
  return h("section", { class: "card question", "aria-labelledby": "question-" + (i + 1) }, parts);
}

// Fills `into` with the results of campaign `id`, unless they are unchanged
// since it last did; resolves when drawn.
export async function loadResults(id, into) {
  let r;
  try {
    r = await get("/campaigns/" + encodeURIComponent(id) + "/results");
  } catch (err) {
    into.replaceChildren(errorBanner(err));
    return;
  }
  const charts = new Map((r.charts || []).map((c) => [c.name, c]));
  const stamp = `${r.calls}-${r.answered}`;
  // Nothing new: leave the page as it is (open details stay open).
  if (into.dataset.stamp === stamp) return;
  into.dataset.stamp = stamp;
  const small = r.small_cell || 5;
  const questions = r.questions || [];
  const csv = "/api/v1/campaigns/" + encodeURIComponent(id) + "/results.csv";
  into.replaceChildren(
    h("h2", { id: "charts-h" }, "Calls over time"),
    h("p", { class: "muted" }, `Hours on the organisation's clock (${r.time_zone}).`),
    h("div", { class: "charts" },
      charts.has("calls-per-hour") ? figure(charts.get("calls-per-hour"), stamp) : "",
      charts.has("outcomes") ? figure(charts.get("outcomes"), stamp) : ""),
    (r.calls_by_day || []).length ? h("details", {}, h("summary", {}, "Calls per day"),
      table("", ["Day", "Calls", "Answered"], r.calls_by_day.map((d) => [d.day, d.calls, d.answered]))) : "",
    h("h2", { id: "results-h" }, "Survey results"),
    h("p", {}, questions.length
      ? `${r.answered} answered ${r.answered === 1 ? "call" : "calls"}. Percentages are of those who ` +
        `answered each question. Where a unit or a day has fewer than ${small} answers, only how many ` +
        "answered is shown, so that nobody's answer can be picked out."
      : "This campaign has no survey questions."),
    ...questions.map((q, i) => questionSection(q, i, charts.get("question-" + (i + 1)), small, stamp)),
    h("div", { class: "actions" },
      h("a", { class: "button secondary", href: csv, download: `campaign-${id}-results.csv`, id: "results-csv" },
        "Download results (CSV)")),
    h("p", { class: "hint muted" }, "The download holds counts and percentages only, never a member. " +
      "Each download is recorded."));
}
