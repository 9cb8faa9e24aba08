/* What the widget remembers: the persisted session (localStorage, survives a reload) and what the log shows. */

import { config } from "./config.js";

/** One shared object, since modules cannot assign each other's imported bindings. */
export const state = {
  session: null,     // {conversation_id, token, last_seq, outbox: [{id, text, files}], rated: {seq: rating}}
  seenAtLoad: 0,     // older replies were already read: no "New" badge
  rendered: {},      // seq -> element: a message seen twice (history + live) is shown once
  pending: {},       // client message id -> element, until the server echoes the message
  inflight: {},      // client message ids being posted right now
  lastSeq: 0,        // highest seq shown: the live connection resumes after it
  // Who reads the customer's next message: "bot", "waiting" (for a person) or "person".
  talkingTo: "bot",
  talkingToSeq: 0,
  chosen: [],        // File objects picked for the next message
  started: false,    // history read and live connection opened for this page
};

export function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(config.storageKey) || "null");
    if (!s || !s.conversation_id || !s.token) return null;
    s.outbox = s.outbox || [];
    s.rated = s.rated || {};
    return s;
  } catch (e) {
    return null;
  }
}

export function saveSession() {
  try {
    if (state.session) localStorage.setItem(config.storageKey, JSON.stringify(state.session));
    else localStorage.removeItem(config.storageKey);
  } catch (e) { /* private mode: the conversation just won't survive a reload */ }
}

/* Outbox: a message stays in localStorage until the server has it, and is re-sent (same id, so never
 * twice) when the connection comes back, also after a reload. */
export function queueOut(id, text, files) {
  const session = state.session;
  session.outbox = (session.outbox || []).filter((o) => o.id !== id);
  session.outbox.push({ id, text, files: files || [] });
  saveSession();
}

export function dropOut(id) {
  const session = state.session;
  if (!session || !session.outbox) return;
  const before = session.outbox.length;
  session.outbox = session.outbox.filter((o) => o.id !== id);
  if (session.outbox.length !== before) saveSession();
}

export function rememberOpen(isOpen) {
  try {
    if (isOpen) sessionStorage.setItem(config.openKey, "1");
    else sessionStorage.removeItem(config.openKey);
  } catch (e) { /* storage refused: the panel just starts closed after a reload */ }
}

export function wasOpen() {
  try { return sessionStorage.getItem(config.openKey) === "1"; } catch (e) { return false; }
}
