// The compose screen's live word count (web/words.js, as the server serves
// it) agrees with the server's (src/contest/text.cc): every case of
// src/contest/testdata/words.tsv is counted in headless Chromium and must
// give the corpus's number, as the C++ test requires of the server.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { cli, launch, startServer } from "./lib.mjs";

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), "../../src/contest/testdata/words.tsv");

// words.tsv's escapes: \n \r \t \\ and \u{HEX}.
function unescape(s, where) {
  return s.replace(/\\(u\{([0-9A-Fa-f]+)\}|.)/g, (all, e, hex) => {
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    const map = { n: "\n", r: "\r", t: "\t", "\\": "\\" };
    if (!(e in map)) throw new Error(`${where}: unknown escape ${all}`);
    return map[e];
  });
}

function readCorpus() {
  const cases = [];
  readFileSync(CORPUS, "utf8").split("\n").forEach((line, i) => {
    if (line === "" || line.startsWith("#")) return;
    const tab = line.indexOf("\t");
    const where = `words.tsv:${i + 1}`;
    if (tab < 0) throw new Error(`${where}: no tab`);
    cases.push({ where, expected: Number(line.slice(0, tab)), text: unescape(line.slice(tab + 1), where) });
  });
  return cases;
}

let tmp;
let server;
let browser;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "sb-words-"));
  cli(join(tmp, "data"), ["init"]);
  server = await startServer(join(tmp, "data"));
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0, "the server stops cleanly");
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("the served words.js counts every corpus case as the server does", async () => {
  const cases = readCorpus();
  assert.ok(cases.length >= 100, "the corpus is read");
  assert.ok(cases.some((c) => c.expected === 50) && cases.some((c) => c.expected === 51));
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const res = await page.goto(server.url + "/app/words.js");
  assert.equal(res.status(), 200, "words.js is served");
  assert.match(res.headers()["content-type"], /^text\/javascript/);
  const counts = await page.evaluate(async (texts) => {
    const { countWords } = await import("/app/words.js");
    return texts.map((t) => countWords(t));
  }, cases.map((c) => c.text));
  const wrong = cases.filter((c, i) => counts[i] !== c.expected)
    .map((c) => `${c.where}: expected ${c.expected}, counted ${counts[cases.indexOf(c)]}: ${JSON.stringify(c.text)}`);
  assert.deepEqual(wrong, [], "words.js disagrees with the corpus");
  assert.deepEqual(errors, []);
  await page.close();
});
