/* Sending: a message shows at once as a pending bubble, waits in the outbox (localStorage) until the server
 * has it, and is posted again with the same id after a failure or a reload, so it is answered once. */

import { REVIEWING } from "./config.js";
import { OWNERS, forget, setTalkingTo } from "./conversation.js";
import { el, ui } from "./dom.js";
import { showTray } from "./files.js";
import { bubble, localFiles, scrollDown, showError, showIndicator } from "./render.js";
import { dropOut, queueOut, state } from "./state.js";
import { clientId, ensureConversation, isLive, postMessage, refresh, retryable, uploadAll } from "./transport.js";

export function placeholderFor(id, text, files) {
  if (state.pending[id]) return state.pending[id];
  const node = bubble({ role: "customer", text });
  if (files && files.length) node.appendChild(localFiles(files));
  node.classList.add("pending");
  state.pending[id] = node;
  ui.log.appendChild(node);
  scrollDown();
  return node;
}

export function markUnsent(node, unsent) {
  const note = node.querySelector(".unsent");
  if (!unsent) { if (note) note.remove(); return; }
  if (!note) node.appendChild(el("span", { class: "unsent" }, "Not sent yet \u2013 will retry when reconnected"));
}

function deliver(id, text, files) {
  if (state.inflight[id] || !state.session) return Promise.resolve();
  state.inflight[id] = true;
  files = files || [];
  const placeholder = placeholderFor(id, text, files);
  markUnsent(placeholder, false);
  return postMessage(id, text, files, 0).then((result) => {
    delete state.inflight[id];
    dropOut(id);
    if (result && result.decision === "drafted") showIndicator(REVIEWING);
    else if (!result || !result.decision) showIndicator("");
    // A draft under review hands the conversation to people without a message saying so.
    if (result && OWNERS[result.owner] && state.talkingTo === "bot") setTalkingTo(OWNERS[result.owner]);
    // The live connection is down: pick the replies up by hand.
    if (!isLive()) refresh();
  }).catch((error) => {
    delete state.inflight[id];
    showIndicator("");
    if (retryable(error)) { markUnsent(placeholder, true); return; }  // offline or busy: the outbox keeps it
    dropOut(id);
    placeholder.remove();
    delete state.pending[id];
    if (error.status === 403) forget();
    if (!ui.input.value) ui.input.value = text;  // refused: give the text back so it can be fixed and resent
    showError(error.message);
  });
}

export function flushOutbox() {
  ((state.session && state.session.outbox) || []).forEach((o) => deliver(o.id, o.text, o.files));
}

export function send(text, files) {
  text = text.trim();
  files = files || [];
  if (!text && !files.length) return;
  showError("");
  const id = clientId();
  const placeholder = placeholderFor(id, text, files);
  if (state.talkingTo === "bot") showIndicator(files.length && !text ? "Sending\u2026" : "Assistant is typing\u2026");
  return ensureConversation()
    .then(() => uploadAll(files))
    .then((kept) => { queueOut(id, text, kept); return deliver(id, text, kept); })
    .catch((error) => {
      placeholder.remove();
      delete state.pending[id];
      showIndicator("");
      if (!ui.input.value) ui.input.value = text;
      if (files.length && !state.chosen.length) { state.chosen = files; showTray(); }  // refused: the files come back too
      showError(error.status ? error.message : "Can't reach the server. Check your connection and try again.");
    });
}
