/* The console's live events over a WebSocket: each says what changed and the page refetches it. Reconnects
 * with exponential backoff and jitter, and catches up on whatever happened while it was away. */

import { alertNewHandoff } from "./alerts.js";
import { api } from "./api.js";
import { customerTyping, clearTyping } from "./composer.js";
import { openConversation } from "./conversation.js";
import { $ } from "./dom.js";
import { loadAll, loadQueue } from "./queue.js";
import { signedOut } from "./session.js";
import { state } from "./state.js";

let socket = null, attempts = 0, reconnectTimer = null;
const alerted = {};  // handoff ids this page has announced

export function connect() {
  if (!state.me || socket) return;
  clearTimeout(reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/api/agent/live");  // the session cookie authenticates
  socket = ws;
  ws.onopen = () => {
    attempts = 0;
    setLive(true);
    loadQueue();  // catch up on whatever happened while disconnected
    if (state.currentId) openConversation(state.currentId);
  };
  ws.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    const current = state.current;
    const mine = state.currentId && (event.conversation_id === state.currentId ||
      (current && current.handoff && event.handoff_id === current.handoff.id));
    if (event.type === "typing") { if (mine && event.role === "customer") customerTyping(); return; }
    const queued = loadQueue();
    if (event.type === "handoff" && !alerted[event.handoff_id]) {  // a redelivered job announces it again
      alerted[event.handoff_id] = true;
      queued.then(() => alertNewHandoff(event.handoff_id));
    }
    if (state.list === "all") loadAll();
    if (mine) {
      if (event.type === "customer_message") clearTyping();
      openConversation(state.currentId);
    }
  };
  ws.onclose = (event) => {
    if (socket === ws) socket = null;
    setLive(false);
    if (event.code === 4401) {
      api("GET", "/api/agent/session").then((s) => {
        if (!s.signed_in) signedOut("Your session has ended. Please sign in again.");
      }).catch(() => {});
      return;
    }
    if (!state.me) return;
    const delay = Math.min(15000, 1000 * Math.pow(2, attempts++));
    reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  };
}

export function disconnect() { if (socket) socket.close(); }

function reconnectNow() { if (state.me && !socket) { attempts = 0; connect(); } }
window.addEventListener("online", reconnectNow);
document.addEventListener("visibilitychange", () => { if (!document.hidden) reconnectNow(); });

function setLive(on) {
  $("live").textContent = on ? "Live" : (state.me ? "Reconnecting\u2026" : "Offline");
  $("live").className = on ? "pill live" : "pill";
}
