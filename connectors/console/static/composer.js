/* Writing to the customer: a reply with files (uploaded one by one, then listed by id) or an internal note
 * (text only), a canned response inserted at the cursor, and typing signals both ways. */

import { api, upload } from "./api.js";
import { refreshAfter } from "./conversation.js";
import { $, button, clear, el } from "./dom.js";
import { state } from "./state.js";

let chosen = [];  // files for the next reply
let typingSent = 0, typingTimer = null;

function showChosen() {
  const list = $("reply-files");
  clear(list);
  list.hidden = !chosen.length;
  chosen.forEach((file, index) => {
    const item = el("li", {}, file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB) ");
    item.appendChild(button("Remove", "", () => { chosen.splice(index, 1); showChosen(); },
      { "aria-label": "Remove " + file.name }));
    list.appendChild(item);
  });
}

function sendFromComposer(kind) {
  const area = $("reply-text");
  const text = area.value.trim();
  const files = kind === "reply" ? chosen : [];
  if ((!text && !files.length) || !state.currentId) return;
  const id = state.currentId;
  area.value = "";
  if (files.length) { chosen = []; showChosen(); }
  const uploads = files.reduce((done, file) =>
    done.then((ids) => upload(id, file).then((fileId) => ids.concat([fileId]))), Promise.resolve([]));
  refreshAfter(uploads.then((ids) => {
    const body = { text };
    if (ids.length) body.attachments = ids;
    return api("POST", "/api/agent/conversations/" + encodeURIComponent(id) + "/" + kind, body);
  })).catch(() => {  // failed: keep the text and the files
    if (!area.value) area.value = text;
    if (files.length && !chosen.length) { chosen = files; showChosen(); }
  });
}

/** The customer types: said under the composer for five seconds after the last signal. */
export function customerTyping() {
  const current = state.current;
  $("typing").textContent = (current && current.state.customer.name || "The customer") + " is typing\u2026";
  clearTimeout(typingTimer);
  typingTimer = setTimeout(clearTyping, 5000);
}

export function clearTyping() { $("typing").textContent = ""; }

/** Inserts a canned response's text at the cursor (the select offers them; canned.js keeps the list). */
function insertCanned() {
  const picked = state.canned.filter((c) => c.id === $("canned").value)[0];
  $("canned").value = "";
  if (!picked) return;
  const area = $("reply-text"), at = area.selectionStart || 0, end = area.selectionEnd || at;
  area.value = area.value.slice(0, at) + picked.text + area.value.slice(end);
  area.focus();
  area.setSelectionRange(at + picked.text.length, at + picked.text.length);
}

$("attach").addEventListener("click", () => $("reply-file").click());
$("reply-file").addEventListener("change", () => {
  Array.prototype.forEach.call($("reply-file").files, (file) => chosen.push(file));
  $("reply-file").value = "";
  showChosen();
});
$("composer").addEventListener("submit", (event) => { event.preventDefault(); sendFromComposer("reply"); });
$("note").addEventListener("click", () => sendFromComposer("note"));
$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); sendFromComposer("reply"); }
});
$("reply-text").addEventListener("input", () => {
  // Throttled; only while a person owns the conversation (the customer would not expect it otherwise).
  const current = state.current;
  if (!current || current.state.owner === "bot" || Date.now() - typingSent < 3000) return;
  typingSent = Date.now();
  api("POST", "/api/agent/conversations/" + encodeURIComponent(state.currentId) + "/typing").catch(() => {});
});
$("canned").addEventListener("change", insertCanned);
