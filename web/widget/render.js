/* How messages look: bubbles with names, times, sources and files; the typed-out reveal of a live answer. */

import { config } from "./config.js";
import { FILE_ICON, el, icon, ui } from "./dom.js";
import { state } from "./state.js";
import { download } from "./transport.js";

export const NAMES = { customer: "You", bot: "Assistant", agent: "Support agent", system: "" };
const TAGS = { bot: "Bot", agent: "Person" };
const PREVIEW = /^image\/(png|jpeg|gif|webp)$/;

function safeLink(source) {
  try {
    const url = new URL(source);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

export function stamp(node, createdAt) {
  if (!createdAt || node.querySelector("time")) return;
  const at = new Date(createdAt * 1000);
  node.appendChild(el("time", { datetime: at.toISOString(), title: at.toLocaleString() },
    at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
}

export function bubble(message) {
  const role = Object.prototype.hasOwnProperty.call(NAMES, message.role) ? message.role : "system";
  const node = el("div", { class: "msg " + role });
  if (role === "bot" || role === "agent") {
    const who = el("span", { class: "who" });
    const avatar = role === "agent" && message.avatar_url ? safeLink(message.avatar_url) : null;
    if (avatar) who.appendChild(el("img", { class: "avatar", src: avatar, alt: "", width: "20", height: "20" }));
    who.appendChild(document.createTextNode(message.name || NAMES[role]));
    // A person's reply says so in words, not only by a name the customer may not know.
    who.appendChild(el("span", { class: "tag" }, TAGS[role]));
    who.appendChild(el("span", { class: "sr-only" }, ":"));
    node.appendChild(who);
  } else if (role === "customer") {
    node.appendChild(el("span", { class: "sr-only" }, "You: "));
  }
  node.appendChild(el("span", { class: "text" }, message.text == null ? "" : String(message.text)));
  const citations = message.citations || [];
  if (citations.length) {
    const sources = el("div", { class: "sources" });
    sources.appendChild(el("span", { class: "label" }, "Sources"));
    const list = el("ul");
    citations.forEach((c) => {
      const item = el("li");
      const href = safeLink(c.url || c.source);
      const title = (c.title || c.source) + (c.section ? " \u203a " + c.section : "");
      item.appendChild(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, title)
                            : el("span", {}, title));
      list.appendChild(item);
    });
    sources.appendChild(list);
    node.appendChild(sources);
  }
  if ((message.attachments || []).length) node.appendChild(fileLinks(message.attachments));
  stamp(node, message.created_at);
  return node;
}

/* ---------- files ---------- */

export function sizeText(bytes) {
  return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
}

/** A preview of the customer's own file, made from the File object itself: never a URL from the server. */
export function localPreview(file) {
  if (typeof Blob !== "undefined" && file instanceof Blob && PREVIEW.test(file.type)) {
    const url = URL.createObjectURL(file);
    const img = el("img", { class: "thumb", src: url, alt: file.name });
    img.addEventListener("load", () => URL.revokeObjectURL(url));
    return img;
  }
  const name = el("span", { class: "name" });
  name.appendChild(icon(FILE_ICON, "icon"));
  name.appendChild(document.createTextNode(file.name || file.filename || "file"));
  return name;
}

export function isPreviewed(file) { return PREVIEW.test(file.type); }

export function localFiles(files) {
  const box = el("div", { class: "files" });
  files.forEach((f) => box.appendChild(localPreview(f)));
  return box;
}

function fileLinks(attachments) {
  const box = el("div", { class: "files" });
  attachments.forEach((a) => {
    if (!a.stored) { box.appendChild(el("span", {}, a.filename + " (" + (a.note || "not kept") + ")")); return; }
    const link = el("a", { href: "#", class: "file", "data-id": a.id },
      "\u2b07 " + a.filename + " (" + sizeText(a.size) + ")");
    link.addEventListener("click", (event) => { event.preventDefault(); download(a); });
    box.appendChild(link);
  });
  return box;
}

/* ---------- the log ---------- */

export function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

export function showGreeting() {
  if (ui.log.querySelector(".greeting")) return;
  const node = bubble({ role: "bot", name: config.title, text: config.greeting, citations: [] });
  node.classList.add("greeting");
  node.dataset.seq = "0";
  ui.log.insertBefore(node, ui.log.firstChild);
}

export function showIndicator(text) {
  ui.indicator.textContent = text;
  ui.indicator.hidden = !text;
}

export function showError(text) {
  ui.errorLine.textContent = text;
  ui.errorLine.hidden = !text;
}

function firstPending(except) {
  for (const id in state.pending) if (state.pending[id] !== except) return state.pending[id];
  return null;
}

/** Keeps seq order even if a late history page lands after live messages; unsent messages stay last. */
export function placeAt(node, seq) {
  const log = ui.log;
  let before = null;
  for (let i = 0; i < log.children.length; i++) {
    const s = Number(log.children[i].dataset.seq);
    if (s > seq && log.children[i] !== node) { before = log.children[i]; break; }
  }
  before = before || firstPending(node);
  if (node.parentNode !== log || node.nextSibling !== before) log.insertBefore(node, before);
}

const reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

/* The server sends whole answers; a live bot answer is revealed word by word so it reads like typing.
 * Only the eye sees the typing: the whole text (and its sources) is in the page from the start for
 * screen readers, and `done` runs once the reveal ends, so what follows is read after the answer. */
export function reveal(node, done) {
  const body = node.querySelector(".text");
  if (!body || reduceMotion || !body.textContent) { done(); return; }
  const full = body.textContent;
  const visible = el("span", { "aria-hidden": "true" });
  body.textContent = "";
  body.appendChild(el("span", { class: "sr-only" }, full));
  body.appendChild(visible);
  node.classList.add("revealing");
  const words = full.split(/(\s+)/), per = Math.max(1, Math.ceil(words.length / 40));
  let shown = 0;
  const timer = setInterval(() => {
    shown = Math.min(words.length, shown + per);
    visible.textContent = words.slice(0, shown).join("");
    if (shown >= words.length) {
      clearInterval(timer);
      node.classList.remove("revealing");
      done();
    }
    scrollDown();
  }, 30);
}
