/* The embed's options, read once from the <script> tag's data-* attributes (see main.js). */

export const MAX_FILES = 10;  // per message, as the server's default
export const HUMAN_REQUEST = "I want to talk to a human";
export const REVIEWING = "A support agent is reviewing the answer\u2026";

/** Filled by configure() before anything else runs; every module reads the same object. */
export const config = {
  api: "", title: "Support", color: "#4f46e5", greeting: "Hi! Ask me anything.", position: "right",
  maxFileBytes: 10 * 1048576, storageKey: "", openKey: "",
  identity: null,  // {identity_token} or {user_id, user_hash}: who the visitor is, signed by the site's backend
};

/** The identity proof a page passes, in the API's field names; null when it passes none. */
export function identityProof(given) {
  if (!given) return null;
  if (given.token) return { identity_token: String(given.token) };
  if (given.userId && given.userHash) return { user_id: String(given.userId), user_hash: String(given.userHash) };
  return null;
}

/** The tag that loaded the widget: currentScript, or (loaded late by a tag manager) the last widget.js tag. */
export function findScript() {
  if (document.currentScript) return document.currentScript;
  const all = document.querySelectorAll("script[src]");
  for (let i = all.length - 1; i >= 0; i--) {
    if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
  }
  return null;
}

export function configure(script) {
  const data = script.dataset;
  config.api = (data.api || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  config.title = data.title || "Support";
  // Only plain colour values: the value ends up inside the widget's stylesheet.
  config.color = /^(#[0-9a-f]{3,8}|[a-z]+|rgba?\([0-9.,%\s]+\))$/i.test(data.color || "") ? data.color : "#4f46e5";
  config.greeting = data.greeting || "Hi! Ask me anything.";
  config.position = data.position === "left" ? "left" : "right";
  config.maxFileBytes = (Number(data.maxFileMb) > 0 ? Number(data.maxFileMb) : 10) * 1048576;
  config.storageKey = "supportbot:" + config.api;
  config.openKey = "supportbot:open:" + config.api;  // per tab: a reload keeps the panel as it was
  config.identity = identityProof({ token: data.identityToken, userId: data.userId, userHash: data.userHash });
}
