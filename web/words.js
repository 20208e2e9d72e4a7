// A statement's length by the contest rules' "words-v1" method
// (docs/contests.md), the same count the server applies
// (src/contest/text.cc). Both are tested against
// src/contest/testdata/words.tsv (tests/browser/words.test.mjs).

const WORD = /^[\p{L}\p{N}]$/u;
const IDEOGRAPH = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;
const MARK = /^\p{M}$/u;
const FORMAT = /^\p{Cf}$/u;
const SPACE = /^[\p{Z}\p{Cc}]$/u;
const DIGIT = /^\p{Nd}$/u;
const ASCII_LETTER = /^[A-Za-z]$/;
const SCHEME = /^[A-Za-z0-9+.-]$/;
const W_LETTER = /^[wW]$/;
const JOINERS = new Set(["'", "\u2019", "-", "\u2010", "\u2011"]);

const W = 1; // a letter or digit
const I = 2; // one of Han, Hiragana or Katakana: a word on its own
const M = 3; // a combining mark
const S = 4; // a space or control character
const O = 5; // anything else

function kindOf(ch) {
  if (WORD.test(ch)) return IDEOGRAPH.test(ch) ? I : W;
  if (MARK.test(ch)) return M;
  if (SPACE.test(ch)) return S;
  return O;
}

// The number of words in `text` (a string).
export function countWords(text) {
  // Code points, with invisible format characters (Cf) dropped.
  const c = [];
  for (const ch of String(text)) if (!FORMAT.test(ch)) c.push(ch);
  const k = c.map(kindOf);
  const n = c.length;
  const alnum = (i) => k[i] === W || k[i] === I;
  let noUrlBefore = 0;
  let noEmailBefore = 0;

  function isUrlAt(i) {
    if (i + 4 < n && W_LETTER.test(c[i]) && W_LETTER.test(c[i + 1]) && W_LETTER.test(c[i + 2]) &&
        c[i + 3] === "." && alnum(i + 4)) {
      return true;
    }
    if (i < noUrlBefore || !ASCII_LETTER.test(c[i])) return false;
    let j = i + 1;
    while (j < n && SCHEME.test(c[j])) j++;
    if (j + 3 < n && c[j] === ":" && c[j + 1] === "/" && c[j + 2] === "/" && k[j + 3] !== S) {
      return true;
    }
    noUrlBefore = j;
    return false;
  }

  function isEmailAt(i) {
    if (i < noEmailBefore) return false;
    let j = i;
    while (j < n && (alnum(j) || k[j] === M || "._%+-".includes(c[j]))) j++;
    if (j + 1 < n && c[j] === "@" && alnum(j + 1)) {
      for (let d = j + 1; d < n; d++) {
        if (c[d] === ".") {
          if (d + 1 < n && alnum(d + 1)) return true;
        } else if (!alnum(d) && k[d] !== M && c[d] !== "-") {
          break;
        }
      }
    }
    noEmailBefore = j;
    return false;
  }

  let words = 0;
  let i = 0;
  while (i < n) {
    if (alnum(i) && (isUrlAt(i) || isEmailAt(i))) {
      words++;
      while (i < n && k[i] !== S) i++;
      continue;
    }
    if (k[i] === I) {
      words++;
      i++;
      while (i < n && k[i] === M) i++;
      continue;
    }
    if (k[i] !== W) {
      i++;
      continue;
    }
    words++;
    let last = c[i++];
    while (i < n) {
      if (k[i] === W) {
        last = c[i++];
      } else if (k[i] === M) {
        i++;
      } else if (i + 1 < n && k[i + 1] === W &&
                 (JOINERS.has(c[i]) ||
                  ((c[i] === "," || c[i] === ".") && DIGIT.test(last) && DIGIT.test(c[i + 1])))) {
        i++;
      } else {
        break;
      }
    }
  }
  return words;
}
