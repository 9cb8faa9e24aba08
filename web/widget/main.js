/* supportbot chat widget: add it to any page with one <script src=".../widget.js" async></script>.
 *
 * Options (data-* attributes on the script tag): data-api (API origin; default: the script's own origin),
 * data-title, data-color, data-greeting, data-position ("right" | "left"), data-max-file-mb (the server's
 * SUPPORTBOT_ATTACHMENT_MAX_BYTES in MB, default 10: larger files are refused before they are sent).
 *
 * Files: the paperclip attaches images, PDFs or any other file (sent as opaque bytes). An image is previewed
 * from the customer's own File object (a blob: URL: a host page with a CSP needs `img-src blob:`), never from
 * anything the server sends; files in replies are download links fetched with the conversation's token.
 *
 * Every piece of message data is inserted with textContent, never as HTML.
 */

import { close, open, wirePanel } from "./accessibility.js";
import { HUMAN_REQUEST, config, configure, findScript, identityProof } from "./config.js";
import { build, ui } from "./dom.js";
import { choose, showTray } from "./files.js";
import { markUnsent, placeholderFor, send } from "./outbox.js";
import { loadSession, state, wasOpen } from "./state.js";
import { connect, identify, reconnectNow, refresh, sendTyping } from "./transport.js";

function wireComposer() {
  const { form, input } = ui;
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else submit(event);
    }
  });
  let typingSent = 0;
  input.addEventListener("input", () => {
    if (state.session && input.value && Date.now() - typingSent > 3000) {  // throttled: one signal per 3 s
      typingSent = Date.now();
      sendTyping();
    }
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  function submit(event) {
    event.preventDefault();
    const text = input.value, files = state.chosen;
    input.value = "";
    input.style.height = "auto";
    state.chosen = [];
    showTray();
    send(text, files);
  }
  form.addEventListener("submit", submit);
  ui.humanButton.addEventListener("click", () => send(HUMAN_REQUEST));
  ui.attachButton.addEventListener("click", () => ui.picker.click());
  ui.picker.addEventListener("change", () => { choose(ui.picker.files); ui.picker.value = ""; input.focus(); });
}

function start(script) {
  configure(script);
  state.session = loadSession();
  state.seenAtLoad = state.session ? state.session.last_seq || 0 : 0;
  build();
  wirePanel();
  wireComposer();
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) reconnectNow(); });

  // A returning visitor with a conversation under way: reopen it where they left it, the panel too.
  if (state.session) {
    state.started = true;
    state.session.outbox.forEach((o) => markUnsent(placeholderFor(o.id, o.text, o.files), true));
    refresh().then(connect);
  }
  if (wasOpen()) open({ focus: false });
  if (state.session && config.identity) identify(config.identity).catch(() => { /* refused: stays anonymous */ });
  window.SupportBot = { open, close, identify: (given) => identify(identityProof(given)) };
}

const script = findScript();
if (script && !window.__supportbotWidget) {  // loaded twice: keep the first one
  window.__supportbotWidget = true;
  start(script);
}
