/* One conversation: its facts, the actions on it (claim, assign, take over, resolve, hand back), the draft
 * card and the transcript with files and sources. After every action the page reloads what the server has. */

import { renderActions } from "./actions.js";
import { api } from "./api.js";
import { $, clear, el, safeLink } from "./dom.js";
import { renderDraft } from "./draft.js";
import { OWNERS, REASONS, ago, clock } from "./format.js";
import { loadQueue, renderQueue, slaBadge } from "./queue.js";
import { nameOf, state } from "./state.js";

const THUMBNAILS = /^image\/(png|jpeg|gif|webp)$/;  // of the server's VIEWABLE types, those <img> shows

export function openConversation(id) {
  if (id !== state.currentId) { state.editing = null; showActionError(""); $("typing").textContent = ""; }
  state.currentId = id;
  renderQueue();
  return api("GET", "/api/agent/conversations/" + encodeURIComponent(id)).then((data) => {
    if (state.currentId !== id) return;
    state.current = data;
    renderConversation();
  }).catch((error) => showActionError(error.message));
}

export function renderConversation() {
  const { state: conv, handoff } = state.current, me = state.me;
  $("placeholder").hidden = true;
  $("conversation").hidden = false;
  const facts = $("facts");
  clear(facts);
  facts.appendChild(el("h3", { id: "summary-title" }, (conv.customer.name || "Customer") + " \u00b7 " + conv.channel));
  const row = el("span", { class: "row" });
  row.appendChild(el("span", { class: "badge", id: "owner" }, OWNERS[conv.owner] || conv.owner));
  if (conv.agent) row.appendChild(el("span", { class: "badge claimed" }, "Agent: " + nameOf(conv.agent)));
  row.appendChild(el("span", { class: "badge" }, conv.category + " \u00b7 " + conv.phase));
  if (handoff) {
    row.appendChild(el("span", { class: "badge reason" }, REASONS[handoff.reason] || handoff.reason));
    if (handoff.priority > 1) row.appendChild(el("span", { class: "badge prio" }, "Priority " + handoff.priority));
    if (handoff.status === "queued") row.appendChild(slaBadge(handoff));
    else if (handoff.status === "claimed") row.appendChild(el("span", { class: "meta" }, "Claimed " + ago(handoff.claimed_at || handoff.created_at)));
  }
  facts.appendChild(row);
  if (handoff && handoff.explanation) facts.appendChild(el("span", { class: "meta" }, "Why: " + handoff.explanation));
  facts.appendChild(el("span", { class: "meta" }, "Conversation " + conv.id));

  const open = handoff && handoff.status !== "resolved";
  const mine = conv.agent === me.username;
  $("claim").hidden = !open;
  $("claim").disabled = !(open && handoff.status === "queued");
  $("claim").textContent = open && handoff.claimed_by
    ? (handoff.claimed_by === me.username ? "Claimed by you" : "Claimed by " + nameOf(handoff.claimed_by)) : "Claim";
  $("takeover").hidden = open || conv.owner !== "bot";
  $("assign").disabled = !open;
  $("assignee").disabled = !open;
  $("resolve").disabled = conv.owner === "bot";
  $("handback").disabled = conv.owner === "bot";
  $("reply").textContent = conv.owner === "human" && !mine && conv.agent ? "Reply (takes over)" : "Send reply";
  if (!state.editing) renderDraft(conv.pending_draft, handoff);
  renderActions(state.current.actions || []);
  renderTranscript(state.current.transcript);
}

function attachmentList(attachments) {
  const files = el("ul", { class: "attachments" });
  attachments.forEach((a) => {
    const label = a.filename + " (" + a.content_type + ", " + Math.max(1, Math.round(a.size / 1024)) + " KB)";
    const item = el("li");
    const href = "/api/agent/attachments/" + encodeURIComponent(a.id);
    // Only a type an <img> decodes as a picture is shown; everything else is a download link.
    if (a.stored && THUMBNAILS.test(a.content_type)) {
      const thumb = el("a", { href, download: a.filename, class: "thumb-link" });
      thumb.appendChild(el("img", { src: href, alt: a.filename, class: "thumb", loading: "lazy" }));
      item.appendChild(thumb);
    }
    item.appendChild(a.stored ? el("a", { href, download: a.filename }, label)
                              : el("span", {}, label + ": " + a.note));
    files.appendChild(item);
  });
  return files;
}

function sourceList(citations) {
  const sources = el("ul", { class: "sources" });
  citations.forEach((c) => {
    const item = el("li");
    const href = safeLink(c.source);
    item.appendChild(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, c.title)
                          : el("span", {}, c.title));
    sources.appendChild(item);
  });
  return sources;
}

function renderTranscript(entries) {
  const ol = $("transcript"), pane = $("transcript-card");
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;  // don't yank a reader up
  const channels = {};
  entries.forEach((m) => { channels[m.channel] = true; });
  const several = Object.keys(channels).length > 1;
  clear(ol);
  entries.forEach((m) => {
    const li = el("li", { class: m.internal ? "note" : m.role, "data-seq": String(m.seq) });
    const who = el("div", { class: "who" });
    if (m.internal) who.appendChild(el("span", { class: "label" }, "Internal note"));
    who.appendChild(el("strong", {}, m.role === "customer" ? (state.current.state.customer.name || "Customer") : m.name));
    who.appendChild(el("span", {}, clock(m.created_at)));
    if (several) who.appendChild(el("span", { class: "channel" }, m.channel));
    li.appendChild(who);
    li.appendChild(el("div", { class: "body" }, m.text));
    if ((m.attachments || []).length) li.appendChild(attachmentList(m.attachments));
    if ((m.citations || []).length) li.appendChild(sourceList(m.citations));
    ol.appendChild(li);
  });
  if (atBottom) pane.scrollTop = pane.scrollHeight;
}

function showActionError(text) {
  $("action-error").textContent = text;
  $("action-error").hidden = !text;
}

/** After an action: the conversation and the queue as the server now has them; a failure is shown. */
export function refreshAfter(promise) {
  const id = state.currentId;
  showActionError("");
  return promise.then(() => Promise.all([openConversation(id), loadQueue()]))
    .catch((error) => {
      showActionError(error.message);
      return Promise.all([openConversation(id), loadQueue()]).then(() => { throw error; });
    });
}

export function act(path, body) {
  return refreshAfter(api("POST", "/api/agent/conversations/" + encodeURIComponent(state.currentId) + "/" + path, body))
    .catch(() => {});
}

function onHandoff(path, body) {
  const current = state.current;
  if (!current || !current.handoff) return;
  refreshAfter(api("POST", "/api/agent/handoffs/" + encodeURIComponent(current.handoff.id) + "/" + path, body))
    .catch(() => {});
}

$("claim").addEventListener("click", () => onHandoff("claim"));
$("assign").addEventListener("click", () => onHandoff("assign", { username: $("assignee").value }));
$("takeover").addEventListener("click", () => act("takeover"));
$("resolve").addEventListener("click", () => act("resolve"));
$("handback").addEventListener("click", () => act("handback"));
