/* supportbot chat widget: add it to any page with one <script src=".../widget.js" async></script>.
 * Options (data-* attributes on the tag): data-api, data-title, data-color, data-greeting, data-position,
 * data-max-file-mb (see web/widget/main.js). Built from web/widget/ by web/build.mjs: edit those, then
 * `npm run build` in web/. */
(() => {
  // widget/config.js
  var MAX_FILES = 10;
  var HUMAN_REQUEST = "I want to talk to a human";
  var REVIEWING = "A support agent is reviewing the answer\u2026";
  var config = {
    api: "",
    title: "Support",
    color: "#4f46e5",
    greeting: "Hi! Ask me anything.",
    position: "right",
    maxFileBytes: 10 * 1048576,
    storageKey: "",
    openKey: "",
    identity: null
    // {identity_token} or {user_id, user_hash}: who the visitor is, signed by the site's backend
  };
  function identityProof(given) {
    if (!given) return null;
    if (given.token) return { identity_token: String(given.token) };
    if (given.userId && given.userHash) return { user_id: String(given.userId), user_hash: String(given.userHash) };
    return null;
  }
  function findScript() {
    if (document.currentScript) return document.currentScript;
    const all = document.querySelectorAll("script[src]");
    for (let i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  }
  function configure(script2) {
    const data = script2.dataset;
    config.api = (data.api || new URL(script2.src, location.href).origin).replace(/\/+$/, "");
    config.title = data.title || "Support";
    config.color = /^(#[0-9a-f]{3,8}|[a-z]+|rgba?\([0-9.,%\s]+\))$/i.test(data.color || "") ? data.color : "#4f46e5";
    config.greeting = data.greeting || "Hi! Ask me anything.";
    config.position = data.position === "left" ? "left" : "right";
    config.maxFileBytes = (Number(data.maxFileMb) > 0 ? Number(data.maxFileMb) : 10) * 1048576;
    config.storageKey = "supportbot:" + config.api;
    config.openKey = "supportbot:open:" + config.api;
    config.identity = identityProof({ token: data.identityToken, userId: data.userId, userHash: data.userHash });
  }

  // widget/styles.js
  function css(config2) {
    return [
      ":host{all:initial;--sb-color:" + config2.color + ";}",
      "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;}",
      ".launcher{position:fixed;bottom:20px;" + config2.position + ":20px;z-index:2147483000;display:flex;",
      "align-items:center;gap:8px;border:0;border-radius:999px;padding:12px 18px;background:var(--sb-color);",
      "color:#fff;font-size:15px;font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);}",
      ".launcher:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #111;outline-offset:2px;}",
      "textarea:focus{outline:2px solid var(--sb-color);outline-offset:0;border-color:transparent;}",
      ".launcher svg{width:20px;height:20px;fill:currentColor;}",
      ".badge{background:#fff;color:var(--sb-color);border-radius:999px;padding:1px 7px;font-size:11px;}",
      ".panel{position:fixed;bottom:20px;" + config2.position + ":20px;z-index:2147483001;width:380px;",
      "height:min(600px,calc(100vh - 40px));display:flex;flex-direction:column;background:#fff;color:#1f2937;",
      "border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.28);font-size:15px;line-height:1.45;}",
      ".panel[hidden],.launcher[hidden],[hidden]{display:none!important;}",
      "header{display:flex;align-items:center;gap:10px;padding:14px 16px;background:var(--sb-color);color:#fff;}",
      "header h2{flex:1;margin:0;font-size:16px;font-weight:650;}",
      "header p{margin:2px 0 0;font-size:12px;opacity:.85;}",
      ".close{border:0;background:transparent;color:#fff;font-size:24px;line-height:1;width:36px;height:36px;",
      "border-radius:8px;cursor:pointer;}",
      ".close:hover{background:rgba(255,255,255,.18);}",
      ".log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px;background:#f7f7fb;}",
      ".msg{max-width:85%;padding:9px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;}",
      ".msg .who{display:flex;align-items:center;gap:6px;font-size:12px;font-weight:600;color:#4b5563;",
      "margin-bottom:2px;}",
      ".msg .who .avatar{border-radius:50%;object-fit:cover;}",
      ".tag{font-size:10px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;border-radius:999px;",
      "padding:0 6px;background:#eef2ff;color:#3730a3;}",
      ".agent .tag{background:#ecfdf5;color:#065f46;}",
      ".msg time{display:block;font-size:11px;margin-top:3px;color:#4b5563;}",
      ".customer time,.customer .ack{color:#fff;opacity:.9;}",
      ".ack{display:block;font-size:11px;margin-top:2px;}",
      ".revealing .sources{opacity:0;}",
      ".customer{align-self:flex-end;background:var(--sb-color);color:#fff;border-bottom-right-radius:4px;}",
      ".customer.pending{opacity:.6;}",
      ".bot,.agent{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px;}",
      ".agent{border-left:3px solid var(--sb-color);}",
      ".system{align-self:center;max-width:95%;background:transparent;color:#4b5563;font-size:13px;",
      "text-align:center;padding:4px 8px;}",
      ".sources{margin:8px 0 0;padding:8px 0 0;border-top:1px solid #eef0f3;font-size:13px;white-space:normal;}",
      ".sources span.label{display:block;color:#4b5563;font-size:12px;margin-bottom:2px;}",
      ".sources ul{margin:0;padding-left:18px;}",
      ".sources a{color:var(--sb-color);font-weight:550;}",
      ".indicator{padding:0 16px 8px;background:#f7f7fb;color:#4b5563;font-size:13px;font-style:italic;}",
      ".error{margin:0;padding:8px 16px;background:#fef2f2;color:#991b1b;font-size:13px;",
      "border-top:1px solid #fecaca;}",
      "form{display:flex;gap:8px;padding:10px 12px 6px;border-top:1px solid #e5e7eb;background:#fff;}",
      "textarea{flex:1;resize:none;min-height:42px;max-height:120px;padding:10px 12px;border:1px solid #d1d5db;",
      "border-radius:10px;font-size:15px;color:#111827;background:#fff;}",
      ".send{border:0;border-radius:10px;padding:0 16px;background:var(--sb-color);color:#fff;font-size:15px;",
      "font-weight:600;cursor:pointer;}",
      ".send:disabled{opacity:.5;cursor:default;}",
      ".attach{display:flex;align-items:center;justify-content:center;border:1px solid #d1d5db;border-radius:10px;",
      "background:#fff;color:#374151;width:42px;padding:0;cursor:pointer;}",
      ".icon{width:20px;height:20px;flex:none;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;",
      "stroke-linejoin:round;}",
      ".name{display:flex;align-items:center;gap:4px;}",
      ".name .icon{width:16px;height:16px;}",
      ".attach:hover{border-color:var(--sb-color);color:var(--sb-color);}",
      ".tray{display:flex;flex-wrap:wrap;gap:6px;padding:8px 12px 0;background:#fff;}",
      ".chip{display:flex;align-items:center;gap:6px;border:1px solid #e5e7eb;border-radius:8px;padding:3px 6px;",
      "font-size:12px;max-width:100%;}",
      ".chip button{border:0;background:transparent;font-size:16px;cursor:pointer;color:#4b5563;}",
      ".thumb{width:48px;height:48px;object-fit:cover;border-radius:6px;display:block;}",
      ".files{display:flex;flex-direction:column;gap:4px;margin-top:6px;white-space:normal;}",
      ".files a,.files span{color:inherit;font-size:13px;overflow-wrap:anywhere;}",
      ".files .thumb{width:120px;height:auto;max-height:120px;}",
      ".footer{display:flex;justify-content:space-between;align-items:center;padding:0 12px 10px;background:#fff;}",
      ".human{border:1px solid #d1d5db;background:#fff;color:#374151;border-radius:999px;padding:5px 12px;",
      "font-size:13px;cursor:pointer;}",
      ".human:hover{border-color:var(--sb-color);color:var(--sb-color);}",
      ".status{font-size:12px;color:#4b5563;}",
      ".unsent{display:block;font-size:11px;opacity:.85;margin-top:2px;}",
      ".ask{align-self:flex-start;display:flex;gap:6px;align-items:center;flex-wrap:wrap;font-size:13px;",
      "color:#4b5563;margin-top:-4px;}",
      ".ask button,.csat button{border:1px solid #d1d5db;background:#fff;color:#374151;border-radius:999px;",
      "padding:3px 12px;font-size:13px;cursor:pointer;}",
      ".ask button:hover,.csat button:hover{border-color:var(--sb-color);color:var(--sb-color);}",
      ".csat{align-self:stretch;background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:10px 12px;",
      "text-align:center;font-size:14px;}",
      ".csat p{margin:0 0 8px;font-weight:600;}",
      ".csat .stars{display:flex;justify-content:center;gap:6px;}",
      ".csat .stars button{width:38px;height:38px;padding:0;font-size:15px;font-weight:600;}",
      ".csat .scale{display:flex;justify-content:space-between;font-size:11px;color:#4b5563;margin:4px 18px 0;}",
      ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);",
      "border:0;}",
      "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0;}",
      ".launcher{bottom:14px;" + config2.position + ":14px;}}"
    ].join("");
  }

  // widget/dom.js
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function icon(paths, className) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (className) svg.setAttribute("class", className);
    paths.forEach((d) => {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }
  var CHAT_ICON = ["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"];
  var PAPERCLIP_ICON = ["M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"];
  var FILE_ICON = ["M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z", "M14 2v6h6"];
  var ui = {};
  function build() {
    const host = el("div", { id: "supportbot-widget" });
    const root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", {}, css(config)));
    const launcher = el("button", {
      class: "launcher",
      type: "button",
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "sb-panel"
    });
    launcher.appendChild(icon(CHAT_ICON));
    launcher.appendChild(el("span", {}, "Chat with us"));
    launcher.appendChild(el("span", { class: "sr-only" }, " (" + config.title + ")"));
    const badge = el("span", { class: "badge", hidden: "" }, "New");
    launcher.appendChild(badge);
    const announcer = el("div", { class: "sr-only", role: "status" });
    const panel = el("section", {
      class: "panel",
      id: "sb-panel",
      role: "dialog",
      "aria-label": config.title,
      hidden: ""
    });
    const header = el("header");
    const heading = el("div", { style: "flex:1" });
    heading.appendChild(el("h2", {}, config.title));
    heading.appendChild(el("p", {}, "Answers from our help centre, or a person from our team"));
    const closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "\xD7");
    header.appendChild(heading);
    header.appendChild(closeButton);
    const log = el("div", {
      class: "log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "Conversation",
      tabindex: "0"
    });
    const indicator = el("div", { class: "indicator", "aria-live": "polite", hidden: "" });
    const errorLine = el("p", { class: "error", role: "alert", hidden: "" });
    const form = el("form", { "aria-label": "Send a message" });
    const label = el("label", { for: "sb-input", class: "sr-only" }, "Your message");
    const input = el("textarea", {
      id: "sb-input",
      rows: "1",
      placeholder: "Type your question\u2026",
      autocomplete: "off"
    });
    const sendButton = el("button", { class: "send", type: "submit" }, "Send");
    const attachButton = el("button", { class: "attach", type: "button", "aria-label": "Attach a file" });
    attachButton.appendChild(icon(PAPERCLIP_ICON, "icon"));
    const picker = el("input", { type: "file", multiple: "", hidden: "", "aria-hidden": "true", tabindex: "-1" });
    const tray = el("div", { class: "tray", "aria-label": "Files to send", hidden: "" });
    [label, attachButton, picker, input, sendButton].forEach((n) => form.appendChild(n));
    const footer = el("div", { class: "footer" });
    const humanButton = el("button", { class: "human", type: "button" }, "Talk to a human");
    const connection = el("span", { class: "status", "aria-live": "polite" });
    footer.appendChild(humanButton);
    footer.appendChild(connection);
    [header, log, indicator, errorLine, tray, form, footer].forEach((n) => panel.appendChild(n));
    root.appendChild(launcher);
    root.appendChild(announcer);
    root.appendChild(panel);
    Object.assign(ui, {
      host,
      root,
      launcher,
      badge,
      announcer,
      panel,
      closeButton,
      log,
      indicator,
      errorLine,
      form,
      input,
      attachButton,
      picker,
      tray,
      humanButton,
      connection
    });
    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", mount);
  }
  function mount() {
    document.body.appendChild(ui.host);
  }

  // widget/state.js
  var state = {
    session: null,
    // {conversation_id, token, last_seq, outbox: [{id, text, files}], rated: {seq: rating}}
    seenAtLoad: 0,
    // older replies were already read: no "New" badge
    rendered: {},
    // seq -> element: a message seen twice (history + live) is shown once
    pending: {},
    // client message id -> element, until the server echoes the message
    inflight: {},
    // client message ids being posted right now
    lastSeq: 0,
    // highest seq shown: the live connection resumes after it
    // Who reads the customer's next message: "bot", "waiting" (for a person) or "person".
    talkingTo: "bot",
    talkingToSeq: 0,
    chosen: [],
    // File objects picked for the next message
    started: false
    // history read and live connection opened for this page
  };
  function loadSession() {
    try {
      const s = JSON.parse(localStorage.getItem(config.storageKey) || "null");
      if (!s || !s.conversation_id || !s.token) return null;
      s.outbox = s.outbox || [];
      s.rated = s.rated || {};
      return s;
    } catch (e) {
      return null;
    }
  }
  function saveSession() {
    try {
      if (state.session) localStorage.setItem(config.storageKey, JSON.stringify(state.session));
      else localStorage.removeItem(config.storageKey);
    } catch (e) {
    }
  }
  function queueOut(id, text, files) {
    const session = state.session;
    session.outbox = (session.outbox || []).filter((o) => o.id !== id);
    session.outbox.push({ id, text, files: files || [] });
    saveSession();
  }
  function dropOut(id) {
    const session = state.session;
    if (!session || !session.outbox) return;
    const before = session.outbox.length;
    session.outbox = session.outbox.filter((o) => o.id !== id);
    if (session.outbox.length !== before) saveSession();
  }
  function rememberOpen(isOpen) {
    try {
      if (isOpen) sessionStorage.setItem(config.openKey, "1");
      else sessionStorage.removeItem(config.openKey);
    } catch (e) {
    }
  }
  function wasOpen() {
    try {
      return sessionStorage.getItem(config.openKey) === "1";
    } catch (e) {
      return false;
    }
  }

  // widget/files.js
  function showTray() {
    const tray = ui.tray;
    while (tray.firstChild) tray.removeChild(tray.firstChild);
    tray.hidden = !state.chosen.length;
    state.chosen.forEach((file, index) => {
      const chip = el("div", { class: "chip" });
      chip.appendChild(localPreview(file));
      if (isPreviewed(file)) chip.appendChild(el("span", {}, file.name));
      const remove = el("button", { type: "button", "aria-label": "Remove " + file.name }, "\xD7");
      remove.addEventListener("click", () => {
        state.chosen.splice(index, 1);
        showTray();
        ui.input.focus();
      });
      chip.appendChild(remove);
      tray.appendChild(chip);
    });
  }
  function choose(files) {
    showError("");
    Array.prototype.forEach.call(files, (file) => {
      if (file.size > config.maxFileBytes) {
        showError("\u201C" + file.name + "\u201D is larger than " + sizeText(config.maxFileBytes) + " and can't be sent.");
      } else if (!file.size) {
        showError("\u201C" + file.name + "\u201D is empty.");
      } else if (state.chosen.length >= MAX_FILES) {
        showError("At most " + MAX_FILES + " files in one message.");
      } else {
        state.chosen.push(file);
      }
    });
    showTray();
  }

  // widget/outbox.js
  function placeholderFor(id, text, files) {
    if (state.pending[id]) return state.pending[id];
    const node = bubble({ role: "customer", text });
    if (files && files.length) node.appendChild(localFiles(files));
    node.classList.add("pending");
    state.pending[id] = node;
    ui.log.appendChild(node);
    scrollDown();
    return node;
  }
  function markUnsent(node, unsent) {
    const note = node.querySelector(".unsent");
    if (!unsent) {
      if (note) note.remove();
      return;
    }
    if (!note) node.appendChild(el("span", { class: "unsent" }, "Not sent yet \u2013 will retry when reconnected"));
  }
  function deliver(id, text, files) {
    if (state.inflight[id] || !state.session) return Promise.resolve();
    state.inflight[id] = true;
    files = files || [];
    const placeholder = placeholderFor(id, text, files);
    markUnsent(placeholder, false);
    return postMessage(id, text, files, 0).then((result) => {
      delete state.inflight[id];
      dropOut(id);
      if (result && result.decision === "drafted") showIndicator(REVIEWING);
      else if (!result || !result.decision) showIndicator("");
      if (result && OWNERS[result.owner] && state.talkingTo === "bot") setTalkingTo(OWNERS[result.owner]);
      if (!isLive()) refresh();
    }).catch((error) => {
      delete state.inflight[id];
      showIndicator("");
      if (retryable(error)) {
        markUnsent(placeholder, true);
        return;
      }
      dropOut(id);
      placeholder.remove();
      delete state.pending[id];
      if (error.status === 403) forget();
      if (!ui.input.value) ui.input.value = text;
      showError(error.message);
    });
  }
  function flushOutbox() {
    (state.session && state.session.outbox || []).forEach((o) => deliver(o.id, o.text, o.files));
  }
  function send(text, files) {
    text = text.trim();
    files = files || [];
    if (!text && !files.length) return;
    showError("");
    const id = clientId();
    const placeholder = placeholderFor(id, text, files);
    if (state.talkingTo === "bot") showIndicator(files.length && !text ? "Sending\u2026" : "Assistant is typing\u2026");
    return ensureConversation().then(() => uploadAll(files)).then((kept) => {
      queueOut(id, text, kept);
      return deliver(id, text, kept);
    }).catch((error) => {
      placeholder.remove();
      delete state.pending[id];
      showIndicator("");
      if (!ui.input.value) ui.input.value = text;
      if (files.length && !state.chosen.length) {
        state.chosen = files;
        showTray();
      }
      showError(error.status ? error.message : "Can't reach the server. Check your connection and try again.");
    });
  }

  // widget/stream.js
  var streams = {};
  function streamSentence(event) {
    let stream = streams[event.stream];
    if (!stream) {
      const node = bubble({ role: "bot", text: "", citations: [] });
      node.classList.add("streaming");
      node.setAttribute("aria-busy", "true");
      ui.log.appendChild(node);
      stream = streams[event.stream] = { node, next: 0 };
    }
    if (event.index !== stream.next) return;
    const text = stream.node.querySelector(".text");
    text.textContent += (stream.next ? " " : "") + String(event.text);
    stream.next += 1;
    showIndicator("");
    scrollDown();
  }
  function streamWithdrawn(event) {
    const stream = streams[event.stream];
    if (!stream) return;
    delete streams[event.stream];
    stream.node.replaceWith(el("div", { class: "msg system withdrawn", role: "status" }, String(event.text)));
    scrollDown();
  }
  function settleStreams() {
    let streamed = false;
    for (const id in streams) {
      streams[id].node.remove();
      delete streams[id];
      streamed = true;
    }
    return streamed;
  }

  // widget/conversation.js
  var OWNERS = { bot: "bot", pending_human: "waiting", human: "person" };
  var EVENTS = { escalated: "waiting", joined: "person", resolved: "bot", handed_back: "bot", draft_sent: "bot" };
  function setTalkingTo(who) {
    state.talkingTo = who;
    ui.humanButton.hidden = who !== "bot";
  }
  function followHands(message) {
    if (message.seq < state.talkingToSeq) return;
    const who = EVENTS[message.event] || (message.role === "agent" ? "person" : message.role === "bot" ? "bot" : null);
    if (!who) return;
    state.talkingToSeq = message.seq;
    setTalkingTo(who);
  }
  function addMessage(message, live2) {
    if (typeof message.seq !== "number" || state.rendered[message.seq]) return;
    let node = state.pending[message.id];
    if (node) {
      delete state.pending[message.id];
      node.classList.remove("pending");
      markUnsent(node, false);
      stamp(node, message.created_at);
    } else {
      node = bubble(message);
    }
    if (message.role === "customer") {
      dropOut(message.id);
      if (state.talkingTo !== "bot" && message.seq > state.talkingToSeq && !node.querySelector(".ack")) {
        node.appendChild(el("span", { class: "ack" }, "A person from our team will see this."));
      }
    }
    node.dataset.seq = String(message.seq);
    state.rendered[message.seq] = node;
    placeAt(node, message.seq);
    followHands(message);
    if (message.role === "customer" || message.role === "agent") removePrompts(".ask");
    if (live2 && message.role === "bot") {
      const ask = () => {
        if ((message.citations || []).length) askHelpful(node);
      };
      if (settleStreams()) ask();
      else reveal(node, ask);
    }
    if (message.event === "resolved" || message.event === "handed_back") askRating(node, message.seq);
    if (message.seq > state.lastSeq) {
      state.lastSeq = message.seq;
      if (state.session) {
        state.session.last_seq = state.lastSeq;
        saveSession();
      }
    }
    if (message.role !== "customer") {
      showIndicator("");
      if (ui.panel.hidden && message.seq > state.seenAtLoad) {
        ui.badge.hidden = false;
        ui.announcer.textContent = "New message from " + (message.name || NAMES[message.role] || "our support team") + " in the chat.";
      }
    }
    scrollDown();
  }
  function removePrompts(selector) {
    Array.prototype.forEach.call(ui.log.querySelectorAll(selector), (n) => n.remove());
  }
  function askHelpful(after) {
    removePrompts(".ask");
    const box = el("div", { class: "ask", role: "group", "aria-label": "Did this answer your question?" });
    box.appendChild(el("span", {}, "Did this answer your question?"));
    [["Yes", true], ["No", false]].forEach(([label, resolved]) => {
      const b = el("button", { type: "button" }, label);
      b.addEventListener("click", () => {
        feedback({ resolved }).catch(() => {
        });
        while (box.firstChild) box.removeChild(box.firstChild);
        box.appendChild(el("span", { role: "status" }, resolved ? "Great, thanks for letting us know." : "Sorry about that. Use \u201CTalk to a human\u201D below and a person will help."));
      });
      box.appendChild(b);
    });
    ui.log.insertBefore(box, after.nextSibling);
  }
  function askRating(after, seq) {
    const session = state.session;
    if (!session || session.rated[seq]) return;
    removePrompts(".csat");
    const box = el("div", { class: "csat", role: "group", "aria-labelledby": "sb-csat-" + seq });
    box.appendChild(el("p", { id: "sb-csat-" + seq }, "How would you rate the help you got?"));
    const stars = el("div", { class: "stars" });
    const words = ["very poor", "poor", "okay", "good", "excellent"];
    for (let rating = 1; rating <= 5; rating++) {
      const b = el(
        "button",
        { type: "button", "aria-label": "Rate " + rating + " out of 5: " + words[rating - 1] },
        String(rating)
      );
      b.addEventListener("click", () => {
        feedback({ rating }).then(() => {
          session.rated[seq] = rating;
          saveSession();
          while (box.firstChild) box.removeChild(box.firstChild);
          box.appendChild(el("p", { role: "status" }, "Thank you! You rated us " + rating + " out of 5."));
        }).catch((error) => showError(error.message));
      });
      stars.appendChild(b);
    }
    box.appendChild(stars);
    const scale = el("div", { class: "scale", "aria-hidden": "true" });
    scale.appendChild(el("span", {}, "Very poor"));
    scale.appendChild(el("span", {}, "Excellent"));
    box.appendChild(scale);
    ui.log.insertBefore(box, after.nextSibling);
  }
  function forget() {
    state.session = null;
    saveSession();
    disconnect();
    for (const seq in state.rendered) state.rendered[seq].remove();
    state.rendered = {};
    state.lastSeq = 0;
    state.talkingToSeq = 0;
    setTalkingTo("bot");
  }

  // widget/transport.js
  var live = { socket: null, typingTimer: null, attempts: 0, reconnectTimer: null };
  function conversationPath(suffix) {
    return "/api/conversations/" + encodeURIComponent(state.session.conversation_id) + suffix;
  }
  function request(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.session) headers["X-Conversation-Token"] = state.session.token;
    return fetch(config.api + path, { method, headers, body: body === void 0 ? void 0 : JSON.stringify(body) }).then((response) => response.text().then((raw) => {
      let json = null;
      try {
        json = raw ? JSON.parse(raw) : null;
      } catch (e) {
      }
      if (!response.ok) {
        const error = new Error(describe(response.status, json));
        error.status = response.status;
        throw error;
      }
      return json;
    }));
  }
  function describe(status, json) {
    let detail = json && json.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => String(d.msg || "").replace(/^Value error, /, "")).join("; ");
    if (status === 413) return "Your message is too long. Please shorten it and send again.";
    if (status === 429) return "You're sending messages too quickly. Please wait a moment.";
    if (status === 403) return "This conversation has expired. Send your message again to start a new one.";
    if (status >= 500) return "Something went wrong on our side. Please try again in a moment.";
    return detail ? "Message not sent: " + detail : "Message not sent (error " + status + ").";
  }
  function clientId() {
    const bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "w" + Array.prototype.map.call(bytes, (b) => ("0" + b.toString(16)).slice(-2)).join("");
  }
  function ensureConversation() {
    if (state.session) return Promise.resolve(state.session);
    return request("POST", "/api/conversations", config.identity || {}).then((created) => {
      state.session = {
        conversation_id: created.conversation_id,
        token: created.token,
        last_seq: 0,
        outbox: [],
        rated: {}
      };
      saveSession();
      connect();
      return state.session;
    });
  }
  function identify(proof) {
    config.identity = proof;
    if (!state.session || !proof) return Promise.resolve();
    return request("POST", conversationPath("/identity"), proof);
  }
  function postMessage(id, text, files, attempt) {
    const body = { id, text };
    if (files.length) body.attachments = files.map((f) => f.id);
    return request("POST", conversationPath("/messages"), body).catch((error) => {
      if (!retryable(error) || attempt >= 3) throw error;
      return sleep(500 * Math.pow(2, attempt)).then(() => postMessage(id, text, files, attempt + 1));
    });
  }
  function retryable(error) {
    return !error.status || error.status === 502 || error.status === 503 || error.status === 504;
  }
  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  function feedback(body) {
    if (!state.session) return Promise.resolve();
    return request("POST", conversationPath("/feedback"), body);
  }
  function sendTyping() {
    request("POST", conversationPath("/typing")).catch(() => {
    });
  }
  function uploadAll(files) {
    const kept = [];
    return files.reduce((done, file) => done.then(() => {
      const path = conversationPath("/attachments?filename=" + encodeURIComponent(file.name || "attachment"));
      return fetch(config.api + path, { method: "POST", body: file, headers: {
        "Content-Type": "application/octet-stream",
        "X-Conversation-Token": state.session.token
      } }).then((response) => response.json().catch(() => null).then((json) => {
        if (!response.ok) {
          const error = new Error(response.status === 413 ? "\u201C" + file.name + "\u201D is too large to send." : response.status === 429 ? "You're sending files too quickly. Please wait a moment." : "\u201C" + file.name + "\u201D was not sent" + (json && typeof json.detail === "string" ? ": " + json.detail : "."));
          error.status = response.status;
          throw error;
        }
        kept.push(json);
      }));
    }), Promise.resolve()).then(() => kept);
  }
  function download(a) {
    if (!state.session) return;
    fetch(
      config.api + conversationPath("/attachments/" + encodeURIComponent(a.id)),
      { headers: { "X-Conversation-Token": state.session.token } }
    ).then((response) => {
      if (!response.ok) throw new Error("status " + response.status);
      return response.blob();
    }).then((blob) => {
      const url = URL.createObjectURL(blob);
      const save = el("a", { href: url, download: a.filename });
      ui.root.appendChild(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1e4);
    }).catch(() => showError("The file could not be downloaded. Please try again."));
  }
  function refresh() {
    if (!state.session) return Promise.resolve();
    return request("GET", conversationPath("/messages?after=" + state.lastSeq)).then((page) => {
      (page.messages || []).forEach((m) => addMessage(m, false));
      if (page.more) {
        state.lastSeq = Math.max(state.lastSeq, page.last_seq);
        return refresh();
      }
      if (OWNERS[page.owner]) setTalkingTo(OWNERS[page.owner]);
      if (page.reviewing) showIndicator(REVIEWING);
      else if (ui.indicator.textContent === REVIEWING) showIndicator("");
    }).catch((error) => {
      if (error.status === 403) forget();
    });
  }
  function isLive() {
    return !!live.socket && live.socket.readyState === WebSocket.OPEN;
  }
  function disconnect() {
    if (live.socket) live.socket.close();
  }
  function connect() {
    if (!state.session || live.socket) return;
    clearTimeout(live.reconnectTimer);
    const url = config.api.replace(/^http/, "ws") + conversationPath("/live?token=" + encodeURIComponent(state.session.token) + "&after=" + state.lastSeq);
    const ws = new WebSocket(url);
    live.socket = ws;
    ws.onopen = () => {
      live.attempts = 0;
      ui.connection.textContent = "";
      flushOutbox();
    };
    ws.onmessage = (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (data.type === "message") addMessage(data, true);
      else if (data.type === "stream") streamSentence(data);
      else if (data.type === "stream_withdrawn") streamWithdrawn(data);
      else if (data.type === "typing" && data.role === "agent") {
        showIndicator((data.name || "Support agent") + " is typing\u2026");
        clearTimeout(live.typingTimer);
        live.typingTimer = setTimeout(() => showIndicator(""), 5e3);
      } else if (data.type === "status" && data.status === "reviewing") showIndicator(REVIEWING);
      else if (data.type === "status" && data.status === "typing") showIndicator("Typing\u2026");
    };
    ws.onclose = (event) => {
      if (live.socket === ws) live.socket = null;
      if (event.code === 4403) {
        forget();
        return;
      }
      if (!state.session) return;
      ui.connection.textContent = "Reconnecting\u2026";
      const delay = Math.min(15e3, 1e3 * Math.pow(2, live.attempts++));
      live.reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }
  function reconnectNow() {
    if (state.session && !live.socket) {
      live.attempts = 0;
      connect();
    }
  }

  // widget/render.js
  var NAMES = { customer: "You", bot: "Assistant", agent: "Support agent", system: "" };
  var TAGS = { bot: "Bot", agent: "Person" };
  var PREVIEW = /^image\/(png|jpeg|gif|webp)$/;
  function safeLink(source) {
    try {
      const url = new URL(source);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }
  function stamp(node, createdAt) {
    if (!createdAt || node.querySelector("time")) return;
    const at = new Date(createdAt * 1e3);
    node.appendChild(el(
      "time",
      { datetime: at.toISOString(), title: at.toLocaleString() },
      at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    ));
  }
  function bubble(message) {
    const role = Object.prototype.hasOwnProperty.call(NAMES, message.role) ? message.role : "system";
    const node = el("div", { class: "msg " + role });
    if (role === "bot" || role === "agent") {
      const who = el("span", { class: "who" });
      const avatar = role === "agent" && message.avatar_url ? safeLink(message.avatar_url) : null;
      if (avatar) who.appendChild(el("img", { class: "avatar", src: avatar, alt: "", width: "20", height: "20" }));
      who.appendChild(document.createTextNode(message.name || NAMES[role]));
      who.appendChild(el("span", { class: "tag" }, TAGS[role]));
      who.appendChild(el("span", { class: "sr-only" }, ":"));
      node.appendChild(who);
    } else if (role === "customer") {
      node.appendChild(el("span", { class: "sr-only" }, "You: "));
    }
    node.appendChild(el("span", { class: "text" }, message.text == null ? "" : String(message.text)));
    const citations = message.citations || [];
    if (citations.length) {
      const sources = el("div", { class: "sources" });
      sources.appendChild(el("span", { class: "label" }, "Sources"));
      const list = el("ul");
      citations.forEach((c) => {
        const item = el("li");
        const href = safeLink(c.url || c.source);
        const title = (c.title || c.source) + (c.section ? " \u203A " + c.section : "");
        item.appendChild(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, title) : el("span", {}, title));
        list.appendChild(item);
      });
      sources.appendChild(list);
      node.appendChild(sources);
    }
    if ((message.attachments || []).length) node.appendChild(fileLinks(message.attachments));
    stamp(node, message.created_at);
    return node;
  }
  function sizeText(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }
  function localPreview(file) {
    if (typeof Blob !== "undefined" && file instanceof Blob && PREVIEW.test(file.type)) {
      const url = URL.createObjectURL(file);
      const img = el("img", { class: "thumb", src: url, alt: file.name });
      img.addEventListener("load", () => URL.revokeObjectURL(url));
      return img;
    }
    const name = el("span", { class: "name" });
    name.appendChild(icon(FILE_ICON, "icon"));
    name.appendChild(document.createTextNode(file.name || file.filename || "file"));
    return name;
  }
  function isPreviewed(file) {
    return PREVIEW.test(file.type);
  }
  function localFiles(files) {
    const box = el("div", { class: "files" });
    files.forEach((f) => box.appendChild(localPreview(f)));
    return box;
  }
  function fileLinks(attachments) {
    const box = el("div", { class: "files" });
    attachments.forEach((a) => {
      if (!a.stored) {
        box.appendChild(el("span", {}, a.filename + " (" + (a.note || "not kept") + ")"));
        return;
      }
      const link = el(
        "a",
        { href: "#", class: "file", "data-id": a.id },
        "\u2B07 " + a.filename + " (" + sizeText(a.size) + ")"
      );
      link.addEventListener("click", (event) => {
        event.preventDefault();
        download(a);
      });
      box.appendChild(link);
    });
    return box;
  }
  function scrollDown() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }
  function showGreeting() {
    if (ui.log.querySelector(".greeting")) return;
    const node = bubble({ role: "bot", name: config.title, text: config.greeting, citations: [] });
    node.classList.add("greeting");
    node.dataset.seq = "0";
    ui.log.insertBefore(node, ui.log.firstChild);
  }
  function showIndicator(text) {
    ui.indicator.textContent = text;
    ui.indicator.hidden = !text;
  }
  function showError(text) {
    ui.errorLine.textContent = text;
    ui.errorLine.hidden = !text;
  }
  function firstPending(except) {
    for (const id in state.pending) if (state.pending[id] !== except) return state.pending[id];
    return null;
  }
  function placeAt(node, seq) {
    const log = ui.log;
    let before = null;
    for (let i = 0; i < log.children.length; i++) {
      const s = Number(log.children[i].dataset.seq);
      if (s > seq && log.children[i] !== node) {
        before = log.children[i];
        break;
      }
    }
    before = before || firstPending(node);
    if (node.parentNode !== log || node.nextSibling !== before) log.insertBefore(node, before);
  }
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function reveal(node, done) {
    const body = node.querySelector(".text");
    if (!body || reduceMotion || !body.textContent) {
      done();
      return;
    }
    const full = body.textContent;
    const visible = el("span", { "aria-hidden": "true" });
    body.textContent = "";
    body.appendChild(el("span", { class: "sr-only" }, full));
    body.appendChild(visible);
    node.classList.add("revealing");
    const words = full.split(/(\s+)/), per = Math.max(1, Math.ceil(words.length / 40));
    let shown = 0;
    const timer = setInterval(() => {
      shown = Math.min(words.length, shown + per);
      visible.textContent = words.slice(0, shown).join("");
      if (shown >= words.length) {
        clearInterval(timer);
        node.classList.remove("revealing");
        done();
      }
      scrollDown();
    }, 30);
  }

  // widget/accessibility.js
  var phone = window.matchMedia ? window.matchMedia("(max-width:480px)") : { matches: false };
  function open(options) {
    ui.panel.hidden = false;
    ui.panel.setAttribute("aria-modal", String(!!phone.matches));
    ui.launcher.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.badge.hidden = true;
    ui.announcer.textContent = "";
    rememberOpen(true);
    showGreeting();
    if (!state.started && state.session) {
      state.started = true;
      refresh().then(connect);
    }
    scrollDown();
    if (!options || options.focus !== false) ui.input.focus();
  }
  function close() {
    ui.panel.hidden = true;
    ui.launcher.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "false");
    rememberOpen(false);
    ui.launcher.focus();
  }
  function focusable() {
    return Array.prototype.filter.call(
      ui.panel.querySelectorAll("button, a[href], textarea, [tabindex='0']"),
      (n) => !n.disabled && n.getClientRects().length > 0
    );
  }
  function wirePanel() {
    document.addEventListener("focusin", (event) => {
      if (!ui.panel.hidden && phone.matches && event.target !== ui.host) {
        const items = focusable();
        if (items[0]) items[0].focus();
      }
    });
    ui.launcher.addEventListener("click", () => open());
    ui.closeButton.addEventListener("click", close);
    ui.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
        return;
      }
      if (event.key !== "Tab" || !phone.matches) return;
      const items = focusable(), first = items[0], last = items[items.length - 1];
      const current = ui.root.activeElement;
      if (event.shiftKey && current === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && current === last) {
        event.preventDefault();
        first.focus();
      }
    });
  }

  // widget/main.js
  function wireComposer() {
    const { form, input } = ui;
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit();
        else submit(event);
      }
    });
    let typingSent = 0;
    input.addEventListener("input", () => {
      if (state.session && input.value && Date.now() - typingSent > 3e3) {
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
    ui.picker.addEventListener("change", () => {
      choose(ui.picker.files);
      ui.picker.value = "";
      input.focus();
    });
  }
  function start(script2) {
    configure(script2);
    state.session = loadSession();
    state.seenAtLoad = state.session ? state.session.last_seq || 0 : 0;
    build();
    wirePanel();
    wireComposer();
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) reconnectNow();
    });
    if (state.session) {
      state.started = true;
      state.session.outbox.forEach((o) => markUnsent(placeholderFor(o.id, o.text, o.files), true));
      refresh().then(connect);
    }
    if (wasOpen()) open({ focus: false });
    if (state.session && config.identity) identify(config.identity).catch(() => {
    });
    window.SupportBot = { open, close, identify: (given) => identify(identityProof(given)) };
  }
  var script = findScript();
  if (script && !window.__supportbotWidget) {
    window.__supportbotWidget = true;
    start(script);
  }
})();
