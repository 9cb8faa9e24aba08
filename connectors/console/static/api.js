/* The agent API over fetch: the session cookie authenticates, every change sends the session's CSRF token. */

import { signedOut } from "./session.js";
import { state } from "./state.js";

export function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (method !== "GET" && state.me) headers["X-CSRF-Token"] = state.me.csrf_token;
  return fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) }).then((response) =>
    response.json().catch(() => null).then((json) => {
      if (response.status === 401 && state.me) signedOut("Your session has ended. Please sign in again.");
      if (!response.ok) {
        let detail = json && json.detail;
        if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
        const error = new Error(detail || "Request failed (" + response.status + ")");
        error.status = response.status;
        throw error;
      }
      return json;
    }));
}

/** One file as raw bytes; the reply then lists the ids the server gives back. */
export function upload(conversationId, file) {
  return fetch("/api/agent/conversations/" + encodeURIComponent(conversationId) + "/attachments?filename=" +
    encodeURIComponent(file.name || "attachment"), { method: "POST", body: file, credentials: "same-origin",
    headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": state.me ? state.me.csrf_token : "" } })
    .then((response) => response.json().catch(() => null).then((json) => {
      if (!response.ok) throw new Error(file.name + ": " + ((json && typeof json.detail === "string")
        ? json.detail : "upload failed (" + response.status + ")"));
      return json.id;
    }));
}
