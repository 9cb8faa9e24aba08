/* The conversation as the customer follows it: messages in seq order, who answers next, and the questions
 * asked after an answer (did it help?) and after a person's help (a rating). */

import { el, ui } from "./dom.js";
import { markUnsent } from "./outbox.js";
import { NAMES, bubble, placeAt, reveal, scrollDown, showError, showIndicator, stamp } from "./render.js";
import { dropOut, saveSession, state } from "./state.js";
import { settleStreams } from "./stream.js";
import { disconnect, feedback } from "./transport.js";

/* Who reads the customer's next message follows the messages that change hands (their `event`), the owner
 * each send returns, and the history's owner. */
export const OWNERS = { bot: "bot", pending_human: "waiting", human: "person" };
const EVENTS = { escalated: "waiting", joined: "person", resolved: "bot", handed_back: "bot", draft_sent: "bot" };

export function setTalkingTo(who) {
  state.talkingTo = who;
  ui.humanButton.hidden = who !== "bot";  // nobody asks for a person they are already waiting for or talking to
}

function followHands(message) {
  if (message.seq < state.talkingToSeq) return;  // a late history page: newer messages already decided
  const who = EVENTS[message.event] || (message.role === "agent" ? "person" : message.role === "bot" ? "bot" : null);
  if (!who) return;
  state.talkingToSeq = message.seq;
  setTalkingTo(who);
}

export function addMessage(message, live) {
  if (typeof message.seq !== "number" || state.rendered[message.seq]) return;
  let node = state.pending[message.id];
  if (node) {  // our own message came back from the server: the same bubble, now sent (never re-added)
    delete state.pending[message.id];
    node.classList.remove("pending");
    markUnsent(node, false);
    stamp(node, message.created_at);
  } else {
    node = bubble(message);
  }
  if (message.role === "customer") {
    dropOut(message.id);
    if (state.talkingTo !== "bot" && message.seq > state.talkingToSeq && !node.querySelector(".ack")) {
      node.appendChild(el("span", { class: "ack" }, "A person from our team will see this."));
    }
  }
  node.dataset.seq = String(message.seq);
  state.rendered[message.seq] = node;
  placeAt(node, message.seq);
  followHands(message);
  if (message.role === "customer" || message.role === "agent") removePrompts(".ask");
  if (live && message.role === "bot") {
    const ask = () => { if ((message.citations || []).length) askHelpful(node); };
    if (settleStreams()) ask();  // the customer read it as it was written
    else reveal(node, ask);
  }
  if (message.event === "resolved" || message.event === "handed_back") askRating(node, message.seq);
  if (message.seq > state.lastSeq) {
    state.lastSeq = message.seq;
    if (state.session) { state.session.last_seq = state.lastSeq; saveSession(); }
  }
  if (message.role !== "customer") {
    showIndicator("");
    if (ui.panel.hidden && message.seq > state.seenAtLoad) {
      ui.badge.hidden = false;
      ui.announcer.textContent = "New message from " + (message.name || NAMES[message.role] || "our support team") +
        " in the chat.";
    }
  }
  scrollDown();
}

function removePrompts(selector) {
  Array.prototype.forEach.call(ui.log.querySelectorAll(selector), (n) => n.remove());
}

/** "Did this answer your question?": the customer's own word counts as a confirmed resolution. */
function askHelpful(after) {
  removePrompts(".ask");
  const box = el("div", { class: "ask", role: "group", "aria-label": "Did this answer your question?" });
  box.appendChild(el("span", {}, "Did this answer your question?"));
  [["Yes", true], ["No", false]].forEach(([label, resolved]) => {
    const b = el("button", { type: "button" }, label);
    b.addEventListener("click", () => {
      feedback({ resolved }).catch(() => {});
      while (box.firstChild) box.removeChild(box.firstChild);
      box.appendChild(el("span", { role: "status" }, resolved ? "Great, thanks for letting us know."
        : "Sorry about that. Use \u201cTalk to a human\u201d below and a person will help."));
    });
    box.appendChild(b);
  });
  ui.log.insertBefore(box, after.nextSibling);
}

/** CSAT once a person resolved or handed the conversation back; asked once per resolution. */
function askRating(after, seq) {
  const session = state.session;
  if (!session || session.rated[seq]) return;
  removePrompts(".csat");
  const box = el("div", { class: "csat", role: "group", "aria-labelledby": "sb-csat-" + seq });
  box.appendChild(el("p", { id: "sb-csat-" + seq }, "How would you rate the help you got?"));
  const stars = el("div", { class: "stars" });
  const words = ["very poor", "poor", "okay", "good", "excellent"];
  for (let rating = 1; rating <= 5; rating++) {
    const b = el("button", { type: "button", "aria-label": "Rate " + rating + " out of 5: " + words[rating - 1] },
      String(rating));
    b.addEventListener("click", () => {
      feedback({ rating }).then(() => {
        session.rated[seq] = rating;
        saveSession();
        while (box.firstChild) box.removeChild(box.firstChild);
        box.appendChild(el("p", { role: "status" }, "Thank you! You rated us " + rating + " out of 5."));
      }).catch((error) => showError(error.message));
    });
    stars.appendChild(b);
  }
  box.appendChild(stars);
  const scale = el("div", { class: "scale", "aria-hidden": "true" });
  scale.appendChild(el("span", {}, "Very poor"));
  scale.appendChild(el("span", {}, "Excellent"));
  box.appendChild(scale);
  ui.log.insertBefore(box, after.nextSibling);
}

/** The server no longer accepts this conversation: start afresh (seqs restart at 1 in a new one). */
export function forget() {
  state.session = null;
  saveSession();
  disconnect();
  for (const seq in state.rendered) state.rendered[seq].remove();
  state.rendered = {};
  state.lastSeq = 0;
  state.talkingToSeq = 0;
  setTalkingTo("bot");
}
