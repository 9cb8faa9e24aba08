/* Admin: agent accounts (customers see the display name and avatar, never the username) and each
 * category's phase. The canned responses' part of the page is canned.js. */

import { api } from "./api.js";
import { loadCanned } from "./canned.js";
import { $, button, el, table } from "./dom.js";
import { PHASES, duration } from "./format.js";
import { loadAgents } from "./queue.js";
import { state } from "./state.js";

export function adminError(text, ok) {
  $("admin-error").textContent = text;
  $("admin-error").className = ok ? "ok" : "error";
  $("admin-error").hidden = !text;
}

export function loadAdmin() {
  adminError("");
  return Promise.all([api("GET", "/api/agent/admin/agents"), api("GET", "/api/agent/admin/phases")])
    .then((results) => { renderAgents(results[0]); renderPhases(results[1]); return loadCanned(); })
    .catch((error) => { adminError(error.message); });
}

function profileForm(a) {  // what customers see of this agent, changed in place
  const form = el("form", { class: "profile", "aria-label": "Profile of " + a.username });
  const name = el("input", { value: a.display_name || "", maxlength: "64", placeholder: "no display name",
    "aria-label": "Display name of " + a.username });
  const avatar = el("input", { type: "url", value: a.avatar_url || "", maxlength: "500", placeholder: "avatar URL",
    "aria-label": "Avatar URL of " + a.username });
  form.appendChild(name);
  form.appendChild(avatar);
  form.appendChild(el("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    api("PUT", "/api/agent/admin/agents/" + encodeURIComponent(a.username) + "/profile",
        { display_name: name.value.trim(), avatar_url: avatar.value.trim() })
      .then(() => {
        const shown = name.value.trim() || "\u201ca member of our support team\u201d";
        adminError("Customers now see " + shown + ".", true);
        loadAgents();
      })
      .catch((error) => { adminError(error.message); });
  });
  return form;
}

function renderAgents(agents) {
  table($("agents"), ["Username", "Shown to customers", "Role", ""], agents.map((a) => {
    const remove = a.username === state.me.username ? el("span", { class: "meta" }, "you")
      : button("Remove", "danger", () => {
        api("POST", "/api/agent/admin/agents/" + encodeURIComponent(a.username) + "/remove")
          .then(() => { adminError(a.username + " removed.", true); loadAdmin(); loadAgents(); })
          .catch((error) => { adminError(error.message); });
      }, { "aria-label": "Remove " + a.username });
    return [a.username, profileForm(a), a.role, remove];
  }), "No accounts.");
}

function renderPhases(phases) {
  table($("phases"), ["Category", "Team", "SLA", "Phase"], phases.map((p) => {
    const select = el("select", { "aria-label": "Phase of " + p.category });
    Object.keys(PHASES).forEach((v) => { select.appendChild(el("option", { value: v }, PHASES[v])); });
    select.value = p.phase;
    select.addEventListener("change", () => {
      api("POST", "/api/agent/admin/phases/" + encodeURIComponent(p.category), { phase: select.value })
        .then(() => { adminError(p.category + " is now in the " + select.value + " phase.", true); })
        .catch((error) => { adminError(error.message); select.value = p.phase; });
    });
    return [p.category, p.queue, p.sla_seconds ? duration(p.sla_seconds) : "\u2013", select];
  }), "No categories.");
}

$("add-agent").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { username: $("new-username").value.trim(), display_name: $("new-display").value.trim(),
    avatar_url: $("new-avatar").value.trim(), password: $("new-password").value, role: $("new-role").value };
  api("POST", "/api/agent/admin/agents", body).then(() => {
    adminError(body.username + " can now sign in.", true);
    $("add-agent").reset();
    loadAdmin();
    loadAgents();
  }).catch((error) => { adminError(error.message); });
});
