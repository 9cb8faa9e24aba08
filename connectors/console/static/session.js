/* Signing in and out (an account, an HttpOnly session cookie, an authenticator code when the account has
 * one) and the three sections a signed-in agent moves between. */

import { loadAdmin } from "./admin.js";
import { showAlertSettings } from "./alerts.js";
import { loadAnalytics } from "./analytics.js";
import { api } from "./api.js";
import { loadCanned } from "./canned.js";
import { $, clear, el } from "./dom.js";
import { connect, disconnect } from "./live.js";
import { loadAgents, loadQueue } from "./queue.js";
import { state } from "./state.js";

function showLogin(message) {
  ["inbox", "analytics", "admin", "nav", "signout", "who"].forEach((id) => { $(id).hidden = true; });
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-error").hidden = !message;
  ($("username").value ? $("password") : $("username")).focus();
}

export function signedOut(message) {
  state.me = null;
  disconnect();
  showLogin(message);
}

export function start(account) {
  const me = state.me = account;
  $("login").hidden = true;
  $("nav").hidden = false;
  $("signout").hidden = false;
  $("who").hidden = false;
  clear($("who"));
  $("who").appendChild(el("b", {}, me.display_name || me.username));
  $("who").appendChild(document.createTextNode(" \u00b7 " + me.role));
  $("nav-admin").hidden = me.role !== "admin";
  show("inbox");
  connect();
  loadAgents().then(loadQueue);
  loadCanned();
  showAlertSettings();
}

export function show(name) {
  state.view = name;
  ["inbox", "analytics", "admin"].forEach((id) => { $(id).hidden = id !== name; });
  $("nav").querySelectorAll("button").forEach((b) => {
    if (b.dataset.view === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  });
  if (name === "analytics") loadAnalytics();
  if (name === "admin") loadAdmin();
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { username: $("username").value.trim(), password: $("password").value };
  if (!$("code-field").hidden) body.code = $("code").value.replace(/\s/g, "");
  $("code").value = "";
  api("POST", "/api/agent/login", body).then((account) => {
    $("password").value = "";
    $("code-field").hidden = true;
    start(account);
  }).catch((error) => {
    if (error.status === 401 && error.message === "authenticator code required") {
      const asked = !$("code-field").hidden;
      $("code-field").hidden = false;
      $("code").focus();
      $("login-error").textContent = asked ? "That code did not work; enter the current one." :
        "Enter the code from your authenticator app.";
      $("login-error").hidden = false;
      return;
    }
    $("password").value = "";
    $("code-field").hidden = true;
    showLogin(error.status === 401 ? "Wrong username or password." : error.message);
  });
});
$("signout").addEventListener("click", () => {
  api("POST", "/api/agent/logout").catch(() => {}).then(() => signedOut(""));
});
$("nav").querySelectorAll("button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));

/** The page opens signed in when the session cookie still holds. */
export function resume() {
  api("GET", "/api/agent/session").then((s) => { if (s.signed_in) start(s.account); else showLogin(""); })
    .catch(() => showLogin(""));
}
