/* Building the page from API data: every value goes in with textContent or setAttribute, never as HTML. */

export function $(id) { return document.getElementById(id); }

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
  if (text != null) node.textContent = text;
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

export function button(label, cls, onClick, attrs) {
  const b = el("button", Object.assign({ type: "button", class: cls || "" }, attrs || {}), label);
  b.addEventListener("click", onClick);
  return b;
}

/** Only http(s) links become hrefs: a `javascript:` source from data never does. */
export function safeLink(source) {
  try {
    const url = new URL(source);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) { return null; }
}

/** A table of rows; a cell is text, a number (right-aligned), a Node, or {text, cls}. */
export function table(target, headers, rows, emptyText) {
  clear(target);
  if (!rows.length) { target.appendChild(el("p", { class: "empty" }, emptyText)); return; }
  const tbl = el("table"), head = el("tr");
  headers.forEach((h) => head.appendChild(el("th", { scope: "col" }, h)));
  tbl.appendChild(el("thead")).appendChild(head);
  const body = el("tbody");
  rows.forEach((r) => {
    const tr = el("tr");
    r.forEach((cell) => {
      if (cell instanceof Node) { const td = el("td"); td.appendChild(cell); tr.appendChild(td); }
      else if (cell && typeof cell === "object") tr.appendChild(el("td", { class: cell.cls }, cell.text));
      else tr.appendChild(el("td", { class: typeof cell === "number" ? "num" : "" }, String(cell)));
    });
    body.appendChild(tr);
  });
  tbl.appendChild(body);
  target.appendChild(tbl);
}
