/* The bot's draft under review (approve, edit, reject) with the passages it rests on and the sentences it
 * repeats marked; or, after a handoff, the bot's unsent answer for reference. */

import { $, button, clear, el, safeLink } from "./dom.js";
import { act, renderConversation } from "./conversation.js";
import { state } from "./state.js";

function folded(text) {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** The passage's snippet with the sentences the draft repeats marked, so the reviewer sees what it used. */
function snippetWithUse(snippet, used) {
  const span = el("span", { class: "snippet" });
  const target = " " + folded(used || "") + " ";
  snippet.split(/(?<=[.!?:])(\s+)|(\n+)/).forEach((piece) => {
    if (!piece) return;
    const words = folded(piece);
    if (words.split(" ").length >= 4 && target.indexOf(" " + words + " ") !== -1) span.appendChild(el("mark", {}, piece));
    else span.appendChild(document.createTextNode(piece));
  });
  return span;
}

function passages(citations, used) {
  const ul = el("ul", { class: "passages" });
  (citations || []).forEach((c) => {
    const li = el("li");
    const href = safeLink(c.source);
    li.appendChild(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, c.title)
                        : el("span", { class: "title" }, c.title || c.source));
    if (c.snippet) li.appendChild(snippetWithUse(c.snippet, used));
    ul.appendChild(li);
  });
  return ul;
}

export function renderDraft(draft, handoff) {
  const card = $("draft");
  clear(card);
  const shadow = handoff && handoff.status !== "resolved" && handoff.shadow && handoff.shadow.text ? handoff.shadow : null;
  if (!draft && !shadow) { card.hidden = true; return; }
  card.hidden = false;
  const answer = draft || shadow;
  card.appendChild(el("h3", { id: "draft-title" }, draft ? "Bot draft awaiting review" : "Bot's unsent answer"));
  card.appendChild(el("p", { class: "meta" }, "Confidence " + Math.round((answer.confidence || 0) * 100) + "%" +
    (draft ? " \u00b7 the customer sees nothing until you approve" : " \u00b7 not sent to the customer")));
  card.appendChild(el("p", { class: "text", id: "draft-text" }, answer.text));
  if ((answer.citations || []).length) {
    card.appendChild(el("strong", {}, "Cited passages"));
    card.appendChild(passages(answer.citations, answer.text));
  }
  const actions = el("div", { class: "row" });
  if (draft) {
    actions.appendChild(button("Approve", "primary", () => act("draft/approve", {})));
    actions.appendChild(button("Edit", "", () => editDraft(card, draft.text)));
    actions.appendChild(button("Reject", "danger", () => rejectDraft(card)));
  } else {
    actions.appendChild(button("Use as reply", "", () => {
      $("reply-text").value = shadow.text;
      $("reply-text").focus();
    }));
  }
  card.appendChild(actions);
}

function inlineForm(card, field, submitLabel, submitClass, onSubmit) {
  const form = el("form", { class: "inline-form" });
  const row = el("div", { class: "row" });
  row.appendChild(el("button", { type: "submit", class: submitClass }, submitLabel));
  row.appendChild(button("Cancel", "", () => { state.editing = null; renderConversation(); }));
  form.appendChild(field);
  form.appendChild(row);
  form.addEventListener("submit", (event) => { event.preventDefault(); state.editing = null; onSubmit(); });
  card.appendChild(form);
  field.focus();
}

function editDraft(card, text) {
  state.editing = "edit";
  const area = el("textarea", { rows: "5", "aria-label": "Edited answer", id: "draft-edit" });
  area.value = text;
  inlineForm(card, area, "Send edited answer", "primary", () => act("draft/approve", { text: area.value }));
}

function rejectDraft(card) {
  state.editing = "reject";
  const input = el("input", { "aria-label": "Why is the draft wrong?", placeholder: "Why is the draft wrong?",
    id: "reject-reason", maxlength: "2000" });
  inlineForm(card, input, "Reject draft", "danger", () => act("draft/reject", { reason: input.value }));
}
