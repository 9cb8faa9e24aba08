/* Talking to the server: JSON over HTTP with the conversation's token, file uploads and downloads, and the
 * live WebSocket (reconnects with exponential backoff and jitter, resumes after the last seq shown). */

import { REVIEWING, config } from "./config.js";
import { OWNERS, addMessage, forget, setTalkingTo } from "./conversation.js";
import { el, ui } from "./dom.js";
import { flushOutbox } from "./outbox.js";
import { showError, showIndicator } from "./render.js";
import { saveSession, state } from "./state.js";
import { streamSentence, streamWithdrawn } from "./stream.js";

const live = { socket: null, typingTimer: null, attempts: 0, reconnectTimer: null };

function conversationPath(suffix) {
  return "/api/conversations/" + encodeURIComponent(state.session.conversation_id) + suffix;
}

function request(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.session) headers["X-Conversation-Token"] = state.session.token;
  return fetch(config.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    .then((response) => response.text().then((raw) => {
      let json = null;
      try { json = raw ? JSON.parse(raw) : null; } catch (e) { /* not JSON: keep the status */ }
      if (!response.ok) {
        const error = new Error(describe(response.status, json));
        error.status = response.status;
        throw error;
      }
      return json;
    }));
}

function describe(status, json) {
  let detail = json && json.detail;
  if (Array.isArray(detail)) detail = detail.map((d) => String(d.msg || "").replace(/^Value error, /, "")).join("; ");
  if (status === 413) return "Your message is too long. Please shorten it and send again.";
  if (status === 429) return "You're sending messages too quickly. Please wait a moment.";
  if (status === 403) return "This conversation has expired. Send your message again to start a new one.";
  if (status >= 500) return "Something went wrong on our side. Please try again in a moment.";
  return detail ? "Message not sent: " + detail : "Message not sent (error " + status + ").";
}

export function clientId() {
  const bytes = new Uint8Array(12);
  (window.crypto || window.msCrypto).getRandomValues(bytes);
  return "w" + Array.prototype.map.call(bytes, (b) => ("0" + b.toString(16)).slice(-2)).join("");
}

export function ensureConversation() {
  if (state.session) return Promise.resolve(state.session);
  return request("POST", "/api/conversations", config.identity || {}).then((created) => {
    state.session = { conversation_id: created.conversation_id, token: created.token, last_seq: 0, outbox: [],
                      rated: {} };
    saveSession();
    connect();
    return state.session;
  });
}

/** The visitor signed in on the site: the conversation learns who they are (the server checks the signature). */
export function identify(proof) {
  config.identity = proof;
  if (!state.session || !proof) return Promise.resolve();
  return request("POST", conversationPath("/identity"), proof);
}

/** A network failure retries with the same client id, so the server answers the message once. */
export function postMessage(id, text, files, attempt) {
  const body = { id, text };
  if (files.length) body.attachments = files.map((f) => f.id);
  return request("POST", conversationPath("/messages"), body).catch((error) => {
    if (!retryable(error) || attempt >= 3) throw error;
    return sleep(500 * Math.pow(2, attempt)).then(() => postMessage(id, text, files, attempt + 1));
  });
}

/** Offline, or the server says "retry" (its store is briefly down): keep the message and send it later. */
export function retryable(error) {
  return !error.status || error.status === 502 || error.status === 503 || error.status === 504;
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

export function feedback(body) {
  if (!state.session) return Promise.resolve();
  return request("POST", conversationPath("/feedback"), body);
}

export function sendTyping() {
  request("POST", conversationPath("/typing")).catch(() => {});
}

/** Each file goes up on its own; the message then lists what the server kept. */
export function uploadAll(files) {
  const kept = [];
  return files.reduce((done, file) => done.then(() => {
    const path = conversationPath("/attachments?filename=" + encodeURIComponent(file.name || "attachment"));
    return fetch(config.api + path, { method: "POST", body: file, headers: {
      "Content-Type": "application/octet-stream", "X-Conversation-Token": state.session.token } })
      .then((response) => response.json().catch(() => null).then((json) => {
        if (!response.ok) {
          const error = new Error(response.status === 413 ? "\u201c" + file.name + "\u201d is too large to send."
            : response.status === 429 ? "You're sending files too quickly. Please wait a moment."
            : "\u201c" + file.name + "\u201d was not sent" + (json && typeof json.detail === "string" ? ": " + json.detail : "."));
          error.status = response.status;
          throw error;
        }
        kept.push(json);
      }));
  }), Promise.resolve()).then(() => kept);
}

/** The file comes with the conversation's token in a header (never in a URL), then is saved from a blob. */
export function download(a) {
  if (!state.session) return;
  fetch(config.api + conversationPath("/attachments/" + encodeURIComponent(a.id)),
    { headers: { "X-Conversation-Token": state.session.token } })
    .then((response) => {
      if (!response.ok) throw new Error("status " + response.status);
      return response.blob();
    })
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      const save = el("a", { href: url, download: a.filename });
      ui.root.appendChild(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    })
    .catch(() => showError("The file could not be downloaded. Please try again."));
}

/** The history after the last seq shown, a page at a time; then who answers now and whether a draft waits. */
export function refresh() {
  if (!state.session) return Promise.resolve();
  return request("GET", conversationPath("/messages?after=" + state.lastSeq)).then((page) => {
    (page.messages || []).forEach((m) => addMessage(m, false));
    if (page.more) { state.lastSeq = Math.max(state.lastSeq, page.last_seq); return refresh(); }
    if (OWNERS[page.owner]) setTalkingTo(OWNERS[page.owner]);  // the whole history read: the current owner
    // A draft under review sends nothing the customer sees: the server's state says so after a reload.
    if (page.reviewing) showIndicator(REVIEWING);
    else if (ui.indicator.textContent === REVIEWING) showIndicator("");
  }).catch((error) => {
    if (error.status === 403) forget();
  });
}

export function isLive() { return !!live.socket && live.socket.readyState === WebSocket.OPEN; }

export function disconnect() { if (live.socket) live.socket.close(); }

export function connect() {
  if (!state.session || live.socket) return;
  clearTimeout(live.reconnectTimer);
  const url = config.api.replace(/^http/, "ws") + conversationPath("/live?token=" +
    encodeURIComponent(state.session.token) + "&after=" + state.lastSeq);
  const ws = new WebSocket(url);
  live.socket = ws;
  ws.onopen = () => {
    live.attempts = 0;
    ui.connection.textContent = "";
    flushOutbox();
  };
  ws.onmessage = (event) => {
    let data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (data.type === "message") addMessage(data, true);
    else if (data.type === "stream") streamSentence(data);
    else if (data.type === "stream_withdrawn") streamWithdrawn(data);
    else if (data.type === "typing" && data.role === "agent") {
      showIndicator((data.name || "Support agent") + " is typing\u2026");
      clearTimeout(live.typingTimer);
      live.typingTimer = setTimeout(() => showIndicator(""), 5000);
    } else if (data.type === "status" && data.status === "reviewing") showIndicator(REVIEWING);
    else if (data.type === "status" && data.status === "typing") showIndicator("Typing\u2026");
  };
  ws.onclose = (event) => {
    if (live.socket === ws) live.socket = null;
    if (event.code === 4403) { forget(); return; }  // the server no longer knows this conversation
    if (!state.session) return;
    ui.connection.textContent = "Reconnecting\u2026";
    const delay = Math.min(15000, 1000 * Math.pow(2, live.attempts++));
    live.reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  };
}

/** Coming back online or to the tab: don't wait for the backoff timer. */
export function reconnectNow() {
  if (state.session && !live.socket) { live.attempts = 0; connect(); }
}
