/* The left column: the handoff queue (filtered by category or team, waiting times that tick), the list of
 * all conversations, and, on a phone, the switch between that list and one conversation. */

import { api } from "./api.js";
import { openConversation } from "./conversation.js";
import { $, clear, el } from "./dom.js";
import { OWNERS, REASONS, ago, clock, duration, since } from "./format.js";
import { nameOf, state } from "./state.js";

export function loadAgents() {
  return api("GET", "/api/agent/agents").then((agents) => {
    state.names = {};
    const select = $("assignee");
    clear(select);
    agents.forEach((a) => {
      state.names[a.username] = a.display_name || a.username;
      select.appendChild(el("option", { value: a.username }, a.display_name || a.username));
    });
  }).catch(() => {});
}

export function loadQueue() {
  return api("GET", "/api/agent/handoffs").then((items) => {
    state.handoffs = items || [];
    renderFilter();
    renderQueue();
  }).catch(() => {});
}

function renderFilter() {
  const select = $("filter"), chosen = select.value, seen = {};
  while (select.options.length > 1) select.remove(1);
  state.handoffs.forEach((h) => {
    [["category:" + h.category, "Category: " + h.category], ["queue:" + h.queue, "Team: " + h.queue]].forEach((o) => {
      if (seen[o[0]]) return;
      seen[o[0]] = true;
      select.appendChild(el("option", { value: o[0] }, o[1]));
    });
  });
  if (chosen && !seen[chosen]) select.appendChild(el("option", { value: chosen }, chosen.replace(":", ": ")));
  select.value = chosen;
}

export function slaBadge(h) {
  const waited = since(h.created_at);
  let text = "Waiting " + duration(waited);
  let cls = "sla";
  if (h.sla_seconds) {
    text += " / SLA " + duration(h.sla_seconds);
    if (waited > h.sla_seconds) { cls += " late"; text += " \u2013 overdue"; }
    else if (waited > h.sla_seconds * 0.75) cls += " near";
  }
  return el("span", { class: cls }, text);
}

export function renderQueue() {
  const ul = $("queue"), filter = $("filter").value;
  const shown = state.handoffs.filter((h) => {
    if (!filter) return true;
    const kind = filter.split(":")[0], value = filter.slice(kind.length + 1);
    return kind === "category" ? h.category === value : h.queue === value;
  });
  clear(ul);
  // Waiting means nobody has it yet: claimed handoffs stay listed but are not counted.
  $("count").textContent = String(state.handoffs.filter((h) => !h.claimed_by).length);
  $("queue-empty").hidden = shown.length > 0;
  shown.forEach((h) => {
    const b = el("button", { type: "button", "data-conversation": h.conversation_id,
      "aria-current": String(h.conversation_id === state.currentId) });
    const top = el("span", { class: "row" });
    top.appendChild(el("span", { class: "badge" }, h.category));
    top.appendChild(el("span", { class: "badge reason" }, REASONS[h.reason] || h.reason));
    if (h.priority > 1) top.appendChild(el("span", { class: "badge prio" }, "P" + h.priority));
    if (h.claimed_by) top.appendChild(el("span", { class: "badge claimed" }, "Claimed by " + nameOf(h.claimed_by)));
    b.appendChild(top);
    // The customer's latest words: what the agent answers next, not what opened the handoff.
    const latest = h.latest ? h.latest.text : h.question;
    b.appendChild(el("span", { class: "question", title: "Handed off on: " + h.question }, latest || "(no message)"));
    const meta = el("span", { class: "meta" });
    meta.appendChild(h.claimed_by ? el("span", {}, "Claimed " + ago(h.claimed_at || h.created_at)) : slaBadge(h));
    meta.appendChild(document.createTextNode(" \u00b7 " + h.channel + (h.queue !== h.category ? " \u00b7 team " + h.queue : "")));
    b.appendChild(meta);
    b.addEventListener("click", () => choose(h.conversation_id));
    const li = el("li");
    li.appendChild(b);
    ul.appendChild(li);
  });
}

/** One conversation in the "All conversations" list or the search results. */
export function conversationItem(c, preview) {
  const b = el("button", { type: "button", "data-conversation": c.id, "aria-current": String(c.id === state.currentId) });
  const top = el("span", { class: "row" });
  top.appendChild(el("span", { class: c.owner === "bot" ? "badge owner-bot" : "badge claimed" },
    OWNERS[c.owner] + (c.agent ? " (" + nameOf(c.agent) + ")" : "")));
  top.appendChild(el("span", { class: "badge" }, c.category));
  b.appendChild(top);
  b.appendChild(el("span", { class: "question" }, preview));
  b.appendChild(el("span", { class: "meta" }, (c.customer || "Customer") + " \u00b7 " + c.channel + " \u00b7 " +
    c.messages + " messages \u00b7 " + clock(c.updated_at)));
  b.addEventListener("click", () => choose(c.id));
  const li = el("li");
  li.appendChild(b);
  return li;
}

export function loadAll() {
  return api("GET", "/api/agent/conversations?limit=50").then((items) => {
    const ul = $("all");
    clear(ul);
    $("all-empty").hidden = items.length > 0;
    items.forEach((c) => ul.appendChild(conversationItem(c, c.last ? c.last.text : "(no messages yet)")));
  }).catch(() => {});
}

export function showList(which) {
  state.list = which;
  $("tab-queue").setAttribute("aria-selected", String(which === "queue"));
  $("tab-all").setAttribute("aria-selected", String(which === "all"));
  state.searching = null;
  $("search-panel").hidden = true;
  $("queue-panel").hidden = which !== "queue";
  $("all-panel").hidden = which !== "all";
  if (which === "all") loadAll();
}

/* Phones: the list and the conversation are two views. */
const narrow = window.matchMedia("(max-width: 760px)");

export function choose(id) {
  $("inbox").classList.add("viewing");
  const opened = openConversation(id);
  if (narrow.matches) $("back").focus();
  return opened;
}

$("filter").addEventListener("change", renderQueue);
$("tab-queue").addEventListener("click", () => showList("queue"));
$("tab-all").addEventListener("click", () => showList("all"));
$("back").addEventListener("click", () => {
  $("inbox").classList.remove("viewing");
  const item = document.querySelector(".queue li button[aria-current='true']");
  if (item) item.focus();
});
setInterval(() => { if (state.me && state.handoffs.length) renderQueue(); }, 30000);  // waiting times tick
