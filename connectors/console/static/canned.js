/* Canned responses: admins keep the list, agents insert one into the composer (composer.js). */

import { adminError } from "./admin.js";
import { api } from "./api.js";
import { $, button, el, table } from "./dom.js";
import { state } from "./state.js";

let asked = 0;

export function loadCanned() {
  const mine = ++asked;
  return api("GET", "/api/agent/canned").then((items) => {
    if (mine !== asked) return;  // a later request (after a change) answers instead
    state.canned = items || [];
    const select = $("canned");
    while (select.options.length > 1) select.remove(1);
    state.canned.forEach((c) => select.appendChild(el("option", { value: c.id }, c.title)));
    select.hidden = !state.canned.length;
    if (state.view === "admin") renderCanned();
  }).catch(() => {});
}

function renderCanned() {
  table($("canned-list"), ["Title", "Text", ""], state.canned.map((c) => [c.title, c.text,
    button("Remove", "danger", () => {
      api("POST", "/api/agent/admin/canned/" + encodeURIComponent(c.id) + "/remove")
        .then(() => { adminError("\u201c" + c.title + "\u201d removed.", true); loadCanned(); })
        .catch((error) => adminError(error.message));
    }, { "aria-label": "Remove " + c.title })]), "No canned responses yet.");
}

$("add-canned").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { title: $("canned-new-title").value.trim(), text: $("canned-new-text").value.trim() };
  api("POST", "/api/agent/admin/canned", body).then(() => {
    adminError("\u201c" + body.title + "\u201d is ready to insert.", true);
    $("add-canned").reset();
    loadCanned();
  }).catch((error) => adminError(error.message));
});
