// A small, safe Markdown subset for call scripts: headings (#), paragraphs,
// bullet and numbered lists, **bold** and *italic*. Output is built from
// elements and text nodes, so markup in the script is shown, never run.

export function renderMarkdown(text) {
  const root = document.createElement("div");
  const lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  let list = null;
  const flushPara = () => {
    if (para.length) {
      const p = document.createElement("p");
      inline(p, para.join(" "));
      root.append(p);
      para = [];
    }
  };
  for (const raw of lines) {
    const line = raw.trim();
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const bullet = /^[-*]\s+(.*)$/.exec(line);
    const numbered = /^\d+[.)]\s+(.*)$/.exec(line);
    if (!line) {
      flushPara();
      list = null;
    } else if (heading) {
      flushPara();
      list = null;
      // Script headings sit below the screen's own h1/h2.
      const el = document.createElement("h" + Math.min(6, heading[1].length + 2));
      inline(el, heading[2]);
      root.append(el);
    } else if (bullet || numbered) {
      flushPara();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = document.createElement(tag);
        root.append(list);
      }
      const li = document.createElement("li");
      inline(li, (bullet || numbered)[1]);
      list.append(li);
    } else {
      list = null;
      para.push(line);
    }
  }
  flushPara();
  return root;
}

// **bold** and *italic* (or _italic_), everything else as text.
function inline(el, text) {
  const re = /\*\*([^*]+)\*\*|\*([^*]+)\*|_([^_]+)_/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) el.append(document.createTextNode(text.slice(last, m.index)));
    const tag = m[1] !== undefined ? "strong" : "em";
    const span = document.createElement(tag);
    span.textContent = m[1] ?? m[2] ?? m[3];
    el.append(span);
    last = re.lastIndex;
  }
  if (last < text.length) el.append(document.createTextNode(text.slice(last)));
}
