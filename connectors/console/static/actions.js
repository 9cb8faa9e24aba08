/* The conversation's action calls: what the bot asked of the company's systems and what came back (inputs and
 * data with personal data labelled), and "Run again", whose result the agent alone sees. */

import { api } from "./api.js";
import { $, button, clear, el } from "./dom.js";
import { ago } from "./format.js";
import { nameOf, state } from "./state.js";

export function renderActions(calls) {
  const card = $("action-calls");
  const wasOpen = card.querySelector("details") ? card.querySelector("details").open : false;
  clear(card);
  card.hidden = !calls.length;
  if (!calls.length) return;
  const details = el("details");
  details.open = wasOpen;
  details.appendChild(el("summary", { id: "action-calls-title" }, "Action calls (" + calls.length + ")"));
  const list = el("ol", { class: "calls", reversed: "" });
  calls.slice().reverse().forEach((call) => list.appendChild(callItem(call)));
  details.appendChild(list);
  card.appendChild(details);
}

function callItem(call) {
  const r = call.result;
  const item = el("li", { class: "call", "data-index": String(call.index), "data-status": r.status });
  const head = el("div", { class: "row" });
  head.appendChild(el("strong", {}, call.name));
  head.appendChild(el("span", { class: "badge status-" + r.status },
    r.status + (r.http_status ? " \u00b7 HTTP " + r.http_status : "")));
  head.appendChild(el("span", { class: "meta" }, Math.round(r.latency_ms) + " ms \u00b7 " + ago(call.at) +
    (call.by ? " \u00b7 run again by " + nameOf(call.by) : "")));
  item.appendChild(head);
  const names = Object.keys(call.inputs || {});
  if (names.length) {
    item.appendChild(el("div", { class: "inputs" },
      "Inputs: " + names.map((name) => name + " = " + call.inputs[name]).join(", ")));
  }
  if (r.error) item.appendChild(el("div", { class: "call-error" }, "Error: " + r.error));
  if (r.reply) item.appendChild(el("div", { class: "call-reply" }, "Reply: " + r.reply));
  if (Object.keys(r.data || {}).length) {
    const data = el("details", { class: "call-data" });
    data.appendChild(el("summary", {}, "Result data"));
    data.appendChild(el("pre", {}, JSON.stringify(r.data, null, 2)));
    item.appendChild(data);
  }
  const note = el("p", { class: "meta", role: "status" });
  item.appendChild(button("Run again", "", (event) => rerun(call.index, event.currentTarget, note),
    { "aria-label": "Run " + call.name + " again" }));
  item.appendChild(note);
  return item;
}

/** The result is added to the calls (marked as this agent's); nothing goes to the customer. */
function rerun(index, trigger, note) {
  const id = state.currentId, path = "/api/agent/conversations/" + encodeURIComponent(id) + "/actions";
  trigger.disabled = true;
  note.textContent = "Running\u2026";
  api("POST", path + "/" + index + "/rerun", {})
    .then(() => api("GET", path))
    .then((calls) => {
      if (state.currentId !== id) return;
      if (state.current) state.current.actions = calls;
      renderActions(calls);
    })
    .catch((error) => { trigger.disabled = false; note.textContent = error.message; });
}
