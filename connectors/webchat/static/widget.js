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
(function () {
  "use strict";

  var script = document.currentScript || findScript();
  if (!script || window.__supportbotWidget) return;  // loaded twice: keep the first one
  window.__supportbotWidget = true;

  function findScript() {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  }

  var data = script.dataset;
  var config = {
    api: (data.api || new URL(script.src, location.href).origin).replace(/\/+$/, ""),
    title: data.title || "Support",
    // Only plain colour values: the value ends up inside the widget's stylesheet.
    color: /^(#[0-9a-f]{3,8}|[a-z]+|rgba?\([0-9.,%\s]+\))$/i.test(data.color || "") ? data.color : "#4f46e5",
    greeting: data.greeting || "Hi! Ask me anything.",
    position: data.position === "left" ? "left" : "right",
    maxFileBytes: (Number(data.maxFileMb) > 0 ? Number(data.maxFileMb) : 10) * 1048576,
  };
  var MAX_FILES = 10;  // per message, as the server's default
  var STORAGE_KEY = "supportbot:" + config.api;
  var OPEN_KEY = "supportbot:open:" + config.api;  // per tab: a reload keeps the panel as it was
  var HUMAN_REQUEST = "I want to talk to a human";

  /* ---------- persisted session: {conversation_id, token, last_seq} ---------- */

  function loadSession() {
    try {
      var s = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      return s && s.conversation_id && s.token ? s : null;
    } catch (e) {
      return null;
    }
  }

  function saveSession() {
    try {
      if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
      else localStorage.removeItem(STORAGE_KEY);
    } catch (e) { /* private mode: the conversation just won't survive a reload */ }
  }

  var session = loadSession();
  if (session) { session.outbox = session.outbox || []; session.rated = session.rated || {}; }
  var seenAtLoad = session ? session.last_seq || 0 : 0;  // older replies were already read: no "New" badge

  /* ---------- DOM (inside a shadow root so the host page's CSS cannot leak in or out) ---------- */

  var CSS = [
    ":host{all:initial;--sb-color:" + config.color + ";}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;}",
    ".launcher{position:fixed;bottom:20px;" + config.position + ":20px;z-index:2147483000;display:flex;",
    "align-items:center;gap:8px;border:0;border-radius:999px;padding:12px 18px;background:var(--sb-color);",
    "color:#fff;font-size:15px;font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);}",
    ".launcher:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #111;outline-offset:2px;}",
    "textarea:focus{outline:2px solid var(--sb-color);outline-offset:0;border-color:transparent;}",
    ".launcher svg{width:20px;height:20px;fill:currentColor;}",
    ".badge{background:#fff;color:var(--sb-color);border-radius:999px;padding:1px 7px;font-size:11px;}",
    ".panel{position:fixed;bottom:20px;" + config.position + ":20px;z-index:2147483001;width:380px;",
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
    ".attach{border:1px solid #d1d5db;border-radius:10px;background:#fff;color:#374151;width:42px;",
    "font-size:20px;cursor:pointer;}",
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
    ".launcher{bottom:14px;" + config.position + ":14px;}}",
  ].join("");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "supportbot-widget" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, CSS));

  // No aria-label: the accessible name starts with the words on the button ("Chat with us"), as speech
  // control users say them.
  var launcher = el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog",
    "aria-expanded": "false", "aria-controls": "sb-panel" });
  launcher.appendChild(chatIcon());
  launcher.appendChild(el("span", {}, "Chat with us"));
  launcher.appendChild(el("span", { class: "sr-only" }, " (" + config.title + ")"));
  var badge = el("span", { class: "badge", hidden: "" }, "New");
  launcher.appendChild(badge);
  // A reply that arrives while the panel is closed is read out from here; the badge alone is visual.
  var announcer = el("div", { class: "sr-only", role: "status" });

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  var panel = el("section", { class: "panel", id: "sb-panel", role: "dialog", "aria-label": config.title,
    hidden: "" });
  var header = el("header");
  var heading = el("div", { style: "flex:1" });
  heading.appendChild(el("h2", {}, config.title));
  heading.appendChild(el("p", {}, "Answers from our help center, or a person from our team"));
  var closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "\u00d7");
  header.appendChild(heading);
  header.appendChild(closeButton);

  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation",
    tabindex: "0" });
  var indicator = el("div", { class: "indicator", "aria-live": "polite", hidden: "" });
  var errorLine = el("p", { class: "error", role: "alert", hidden: "" });

  var form = el("form", { "aria-label": "Send a message" });
  var label = el("label", { for: "sb-input", class: "sr-only" }, "Your message");
  var input = el("textarea", { id: "sb-input", rows: "1", placeholder: "Type your question\u2026",
    autocomplete: "off" });
  var sendButton = el("button", { class: "send", type: "submit" }, "Send");
  var attachButton = el("button", { class: "attach", type: "button", "aria-label": "Attach a file" }, "\ud83d\udcce");
  var picker = el("input", { type: "file", multiple: "", hidden: "", "aria-hidden": "true", tabindex: "-1" });
  var tray = el("div", { class: "tray", "aria-label": "Files to send", hidden: "" });
  form.appendChild(label);
  form.appendChild(attachButton);
  form.appendChild(picker);
  form.appendChild(input);
  form.appendChild(sendButton);

  var footer = el("div", { class: "footer" });
  var humanButton = el("button", { class: "human", type: "button" }, "Talk to a human");
  var connection = el("span", { class: "status", "aria-live": "polite" });
  footer.appendChild(humanButton);
  footer.appendChild(connection);

  [header, log, indicator, errorLine, tray, form, footer].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(announcer);
  root.appendChild(panel);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  /* ---------- rendering ---------- */

  var NAMES = { customer: "You", bot: "Assistant", agent: "Support agent", system: "" };
  var TAGS = { bot: "Bot", agent: "Person" };
  var rendered = {};   // seq -> element: a message seen twice (history + live) is shown once
  var pending = {};    // client message id -> element, until the server echoes the message
  var lastSeq = 0;     // highest seq shown: the live connection resumes after it

  /* Who reads the customer's next message: "bot", "waiting" (for a person) or "person". Follows the
   * messages that change hands (their `event`), the owner each send returns, and the history's owner. */
  var talkingTo = "bot", talkingToSeq = 0;
  var OWNERS = { bot: "bot", pending_human: "waiting", human: "person" };
  var EVENTS = { escalated: "waiting", joined: "person", resolved: "bot", handed_back: "bot", draft_sent: "bot" };

  function setTalkingTo(who) {
    talkingTo = who;
    humanButton.hidden = who !== "bot";  // nobody asks for a person they are already waiting for or talking to
  }

  function followHands(message) {
    if (message.seq < talkingToSeq) return;  // a late history page: newer messages already decided
    var who = EVENTS[message.event] || (message.role === "agent" ? "person" : message.role === "bot" ? "bot" : null);
    if (!who) return;
    talkingToSeq = message.seq;
    setTalkingTo(who);
  }

  function safeLink(source) {
    try {
      var url = new URL(source);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function stamp(node, createdAt) {
    if (!createdAt || node.querySelector("time")) return;
    var at = new Date(createdAt * 1000);
    node.appendChild(el("time", { datetime: at.toISOString(), title: at.toLocaleString() },
      at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  }

  function bubble(message) {
    var role = NAMES.hasOwnProperty(message.role) ? message.role : "system";
    var node = el("div", { class: "msg " + role });
    if (role === "bot" || role === "agent") {
      var who = el("span", { class: "who" });
      var avatar = role === "agent" && message.avatar_url ? safeLink(message.avatar_url) : null;
      if (avatar) who.appendChild(el("img", { class: "avatar", src: avatar, alt: "", width: "20", height: "20" }));
      who.appendChild(document.createTextNode(message.name || NAMES[role]));
      // A person's reply says so in words, not only by a name the customer may not know.
      who.appendChild(el("span", { class: "tag" }, TAGS[role]));
      who.appendChild(el("span", { class: "sr-only" }, ":"));
      node.appendChild(who);
    } else if (role === "customer") {
      node.appendChild(el("span", { class: "sr-only" }, "You: "));
    }
    node.appendChild(el("span", { class: "text" }, message.text == null ? "" : String(message.text)));
    var citations = message.citations || [];
    if (citations.length) {
      var sources = el("div", { class: "sources" });
      sources.appendChild(el("span", { class: "label" }, "Sources"));
      var list = el("ul");
      citations.forEach(function (c) {
        var item = el("li");
        var href = safeLink(c.url || c.source);
        var title = (c.title || c.source) + (c.section ? " \u203a " + c.section : "");
        item.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, title)
                              : el("span", {}, title));
        list.appendChild(item);
      });
      sources.appendChild(list);
      node.appendChild(sources);
    }
    if ((message.attachments || []).length) node.appendChild(fileLinks(message.attachments));
    stamp(node, message.created_at);
    return node;
  }

  /* ---------- files ---------- */

  var chosen = [];  // File objects picked for the next message
  var PREVIEW = /^image\/(png|jpeg|gif|webp)$/;

  function sizeText(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  // A preview of the customer's own file, made from the File object itself: never a URL from the server.
  function localPreview(file) {
    if (typeof Blob !== "undefined" && file instanceof Blob && PREVIEW.test(file.type)) {
      var url = URL.createObjectURL(file);
      var img = el("img", { class: "thumb", src: url, alt: file.name });
      img.addEventListener("load", function () { URL.revokeObjectURL(url); });
      return img;
    }
    return el("span", { class: "name" }, "\ud83d\udcc4 " + (file.name || file.filename || "file"));
  }

  function localFiles(files) {
    var box = el("div", { class: "files" });
    files.forEach(function (f) { box.appendChild(localPreview(f)); });
    return box;
  }

  function fileLinks(attachments) {
    var box = el("div", { class: "files" });
    attachments.forEach(function (a) {
      if (!a.stored) { box.appendChild(el("span", {}, a.filename + " (" + (a.note || "not kept") + ")")); return; }
      var link = el("a", { href: "#", class: "file", "data-id": a.id },
        "\u2b07 " + a.filename + " (" + sizeText(a.size) + ")");
      link.addEventListener("click", function (event) { event.preventDefault(); download(a); });
      box.appendChild(link);
    });
    return box;
  }

  // The file comes with the conversation's token in a header (never in a URL), then is saved from a blob.
  function download(a) {
    if (!session) return;
    fetch(config.api + "/api/conversations/" + encodeURIComponent(session.conversation_id) + "/attachments/" +
      encodeURIComponent(a.id), { headers: { "X-Conversation-Token": session.token } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.blob();
      })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = el("a", { href: url, download: a.filename });
        root.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      })
      .catch(function () { showError("The file could not be downloaded. Please try again."); });
  }

  function showTray() {
    while (tray.firstChild) tray.removeChild(tray.firstChild);
    tray.hidden = !chosen.length;
    chosen.forEach(function (file, index) {
      var chip = el("div", { class: "chip" });
      chip.appendChild(localPreview(file));
      if (PREVIEW.test(file.type)) chip.appendChild(el("span", {}, file.name));
      var remove = el("button", { type: "button", "aria-label": "Remove " + file.name }, "\u00d7");
      remove.addEventListener("click", function () { chosen.splice(index, 1); showTray(); input.focus(); });
      chip.appendChild(remove);
      tray.appendChild(chip);
    });
  }

  function choose(files) {
    showError("");
    Array.prototype.forEach.call(files, function (file) {
      if (file.size > config.maxFileBytes) {
        showError("\u201c" + file.name + "\u201d is larger than " + sizeText(config.maxFileBytes) + " and can't be sent.");
      } else if (!file.size) {
        showError("\u201c" + file.name + "\u201d is empty.");
      } else if (chosen.length >= MAX_FILES) {
        showError("At most " + MAX_FILES + " files in one message.");
      } else {
        chosen.push(file);
      }
    });
    showTray();
  }

  // Each file goes up on its own; the message then lists what the server kept.
  function uploadAll(files) {
    var kept = [];
    return files.reduce(function (done, file) {
      return done.then(function () {
        var path = "/api/conversations/" + encodeURIComponent(session.conversation_id) + "/attachments?filename=" +
          encodeURIComponent(file.name || "attachment");
        return fetch(config.api + path, { method: "POST", body: file, headers: {
          "Content-Type": "application/octet-stream", "X-Conversation-Token": session.token } })
          .then(function (response) {
            return response.json().catch(function () { return null; }).then(function (json) {
              if (!response.ok) {
                var error = new Error(response.status === 413 ? "\u201c" + file.name + "\u201d is too large to send."
                  : response.status === 429 ? "You're sending files too quickly. Please wait a moment."
                  : "\u201c" + file.name + "\u201d was not sent" + (json && typeof json.detail === "string" ? ": " + json.detail : "."));
                error.status = response.status;
                throw error;
              }
              kept.push(json);
            });
          });
      });
    }, Promise.resolve()).then(function () { return kept; });
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  /* The server sends whole answers; a live bot answer is revealed word by word so it reads like typing.
   * Only the eye sees the typing: the whole text (and its sources) is in the page from the start for
   * screen readers, and `done` runs once the reveal ends, so what follows is read after the answer. */
  function reveal(node, done) {
    var body = node.querySelector(".text");
    if (!body || reduceMotion || !body.textContent) { done(); return; }
    var full = body.textContent;
    var visible = el("span", { "aria-hidden": "true" });
    body.textContent = "";
    body.appendChild(el("span", { class: "sr-only" }, full));
    body.appendChild(visible);
    node.classList.add("revealing");
    var words = full.split(/(\s+)/), shown = 0, per = Math.max(1, Math.ceil(words.length / 40));
    var timer = setInterval(function () {
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

  function placeAt(node, seq) {  // keep seq order even if a late history page lands after live messages
    var before = null;
    for (var i = 0; i < log.children.length; i++) {
      var s = Number(log.children[i].dataset.seq);
      if (s > seq && log.children[i] !== node) { before = log.children[i]; break; }
    }
    before = before || firstPending(node);
    if (node.parentNode !== log || node.nextSibling !== before) log.insertBefore(node, before);
  }

  function addMessage(message, live) {
    if (typeof message.seq !== "number" || rendered[message.seq]) return;
    var node = pending[message.id];
    if (node) {  // our own message came back from the server: the same bubble, now sent (never re-added)
      delete pending[message.id];
      node.classList.remove("pending");
      markUnsent(node, false);
      stamp(node, message.created_at);
    } else {
      node = bubble(message);
    }
    if (message.role === "customer") {
      dropOut(message.id);
      if (talkingTo !== "bot" && message.seq > talkingToSeq && !node.querySelector(".ack")) {
        node.appendChild(el("span", { class: "ack" }, "A person from our team will see this."));
      }
    }
    node.dataset.seq = String(message.seq);
    rendered[message.seq] = node;
    placeAt(node, message.seq);
    followHands(message);
    if (message.role === "customer" || message.role === "agent") removePrompts(".ask");
    if (live && message.role === "bot") {
      reveal(node, function () { if ((message.citations || []).length) askHelpful(node); });
    }
    if (message.event === "resolved" || message.event === "handed_back") askRating(node, message.seq);
    if (message.seq > lastSeq) {
      lastSeq = message.seq;
      if (session) { session.last_seq = lastSeq; saveSession(); }
    }
    if (message.role !== "customer") {
      showIndicator("");
      if (panel.hidden && message.seq > seenAtLoad) {
        badge.hidden = false;
        announcer.textContent = "New message from " + (message.name || NAMES[message.role] || "our support team") +
          " in the chat.";
      }
    }
    scrollDown();
  }

  function removePrompts(selector) {
    Array.prototype.forEach.call(log.querySelectorAll(selector), function (n) { n.remove(); });
  }

  function feedback(body) {
    if (!session) return Promise.resolve();
    return request("POST", "/api/conversations/" + encodeURIComponent(session.conversation_id) + "/feedback", body);
  }

  // "Did this answer your question?": the customer's own word counts as a confirmed resolution.
  function askHelpful(after) {
    removePrompts(".ask");
    var box = el("div", { class: "ask", role: "group", "aria-label": "Did this answer your question?" });
    box.appendChild(el("span", {}, "Did this answer your question?"));
    [["Yes", true], ["No", false]].forEach(function (choice) {
      var b = el("button", { type: "button" }, choice[0]);
      b.addEventListener("click", function () {
        feedback({ resolved: choice[1] }).catch(function () {});
        while (box.firstChild) box.removeChild(box.firstChild);
        box.appendChild(el("span", { role: "status" }, choice[1] ? "Great, thanks for letting us know."
          : "Sorry about that. Use \u201cTalk to a human\u201d below and a person will help."));
      });
      box.appendChild(b);
    });
    log.insertBefore(box, after.nextSibling);
  }

  // CSAT once a person resolved or handed the conversation back; asked once per resolution.
  function askRating(after, seq) {
    if (!session || session.rated[seq]) return;
    removePrompts(".csat");
    var box = el("div", { class: "csat", role: "group", "aria-labelledby": "sb-csat-" + seq });
    box.appendChild(el("p", { id: "sb-csat-" + seq }, "How would you rate the help you got?"));
    var stars = el("div", { class: "stars" });
    var words = ["very poor", "poor", "okay", "good", "excellent"];
    for (var i = 1; i <= 5; i++) {
      (function (rating) {
        var b = el("button", { type: "button", "aria-label": "Rate " + rating + " out of 5: " + words[rating - 1] }, String(rating));
        b.addEventListener("click", function () {
          feedback({ rating: rating }).then(function () {
            session.rated[seq] = rating;
            saveSession();
            while (box.firstChild) box.removeChild(box.firstChild);
            box.appendChild(el("p", { role: "status" }, "Thank you! You rated us " + rating + " out of 5."));
          }).catch(function (error) { showError(error.message); });
        });
        stars.appendChild(b);
      })(i);
    }
    box.appendChild(stars);
    var scale = el("div", { class: "scale", "aria-hidden": "true" });
    scale.appendChild(el("span", {}, "Very poor"));
    scale.appendChild(el("span", {}, "Excellent"));
    box.appendChild(scale);
    log.insertBefore(box, after.nextSibling);
  }

  function firstPending(except) {
    for (var id in pending) if (pending[id] !== except) return pending[id];
    return null;
  }

  function showGreeting() {
    if (log.querySelector(".greeting")) return;
    var node = bubble({ role: "bot", name: config.title, text: config.greeting, citations: [] });
    node.classList.add("greeting");
    node.dataset.seq = "0";
    log.insertBefore(node, log.firstChild);
  }

  function showIndicator(text) {
    indicator.textContent = text;
    indicator.hidden = !text;
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  /* ---------- HTTP ---------- */

  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (session) headers["X-Conversation-Token"] = session.token;
    return fetch(config.api + path, { method: method, headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.text().then(function (raw) {
          var json = null;
          try { json = raw ? JSON.parse(raw) : null; } catch (e) { /* not JSON: keep the status */ }
          if (!response.ok) {
            var error = new Error(describe(response.status, json));
            error.status = response.status;
            throw error;
          }
          return json;
        });
      });
  }

  function describe(status, json) {
    var detail = json && json.detail;
    if (Array.isArray(detail)) detail = detail.map(function (d) { return String(d.msg || "").replace(/^Value error, /, ""); }).join("; ");
    if (status === 413) return "Your message is too long. Please shorten it and send again.";
    if (status === 429) return "You're sending messages too quickly. Please wait a moment.";
    if (status === 403) return "This conversation has expired. Send your message again to start a new one.";
    if (status >= 500) return "Something went wrong on our side. Please try again in a moment.";
    return detail ? "Message not sent: " + detail : "Message not sent (error " + status + ").";
  }

  function clientId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "w" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function ensureConversation() {
    if (session) return Promise.resolve(session);
    return request("POST", "/api/conversations", {}).then(function (created) {
      session = { conversation_id: created.conversation_id, token: created.token, last_seq: 0, outbox: [],
                  rated: {} };
      saveSession();
      connect();
      return session;
    });
  }

  // A network failure retries with the same client id, so the server answers the message once.
  function postMessage(id, text, files, attempt) {
    var path = "/api/conversations/" + encodeURIComponent(session.conversation_id) + "/messages";
    var body = { id: id, text: text };
    if (files.length) body.attachments = files.map(function (f) { return f.id; });
    return request("POST", path, body).catch(function (error) {
      if (!retryable(error) || attempt >= 3) throw error;
      return sleep(500 * Math.pow(2, attempt)).then(function () { return postMessage(id, text, files, attempt + 1); });
    });
  }

  // Offline, or the server says "retry" (its store is briefly down): keep the message and send it later.
  function retryable(error) {
    return !error.status || error.status === 502 || error.status === 503 || error.status === 504;
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  /* Outbox: a message stays in localStorage until the server has it, and is re-sent (same id, so never
   * twice) when the connection comes back, also after a reload. */
  function queueOut(id, text, files) {
    session.outbox = (session.outbox || []).filter(function (o) { return o.id !== id; });
    session.outbox.push({ id: id, text: text, files: files || [] });
    saveSession();
  }

  function dropOut(id) {
    if (!session || !session.outbox) return;
    var before = session.outbox.length;
    session.outbox = session.outbox.filter(function (o) { return o.id !== id; });
    if (session.outbox.length !== before) saveSession();
  }

  function placeholderFor(id, text, files) {
    if (pending[id]) return pending[id];
    var node = bubble({ role: "customer", text: text });
    if (files && files.length) node.appendChild(localFiles(files));
    node.classList.add("pending");
    pending[id] = node;
    log.appendChild(node);
    scrollDown();
    return node;
  }

  function markUnsent(node, unsent) {
    var note = node.querySelector(".unsent");
    if (!unsent) { if (note) note.remove(); return; }
    if (!note) node.appendChild(el("span", { class: "unsent" }, "Not sent yet \u2013 will retry when reconnected"));
  }

  var inflight = {};

  function deliver(id, text, files) {
    if (inflight[id] || !session) return Promise.resolve();
    inflight[id] = true;
    files = files || [];
    var placeholder = placeholderFor(id, text, files);
    markUnsent(placeholder, false);
    return postMessage(id, text, files, 0).then(function (result) {
      delete inflight[id];
      dropOut(id);
      if (result && result.decision === "drafted") showIndicator("A support agent is reviewing the answer\u2026");
      else if (!result || !result.decision) showIndicator("");
      // A draft under review hands the conversation to people without a message saying so.
      if (result && OWNERS[result.owner] && talkingTo === "bot") setTalkingTo(OWNERS[result.owner]);
      // The live connection is down: pick the replies up by hand.
      if (!socket || socket.readyState !== WebSocket.OPEN) refresh();
    }).catch(function (error) {
      delete inflight[id];
      showIndicator("");
      if (retryable(error)) { markUnsent(placeholder, true); return; }  // offline or busy: the outbox keeps it
      dropOut(id);
      placeholder.remove();
      delete pending[id];
      if (error.status === 403) forget();
      if (!input.value) input.value = text;  // refused: give the text back so it can be fixed and resent
      showError(error.message);
    });
  }

  function flushOutbox() {
    ((session && session.outbox) || []).forEach(function (o) { deliver(o.id, o.text, o.files); });
  }

  function send(text, files) {
    text = text.trim();
    files = files || [];
    if (!text && !files.length) return;
    showError("");
    var id = clientId();
    var placeholder = placeholderFor(id, text, files);
    if (talkingTo === "bot") showIndicator(files.length && !text ? "Sending\u2026" : "Assistant is typing\u2026");
    return ensureConversation()
      .then(function () { return uploadAll(files); })
      .then(function (kept) { queueOut(id, text, kept); return deliver(id, text, kept); })
      .catch(function (error) {
        placeholder.remove();
        delete pending[id];
        showIndicator("");
        if (!input.value) input.value = text;
        if (files.length && !chosen.length) { chosen = files; showTray(); }  // refused: the files come back too
        showError(error.status ? error.message : "Can't reach the server. Check your connection and try again.");
      });
  }

  // The server no longer accepts this conversation: start afresh (seqs restart at 1 in a new one).
  function forget() {
    session = null;
    saveSession();
    if (socket) socket.close();
    for (var seq in rendered) rendered[seq].remove();
    rendered = {};
    lastSeq = 0;
    talkingToSeq = 0;
    setTalkingTo("bot");
  }

  function refresh() {
    if (!session) return Promise.resolve();
    var path = "/api/conversations/" + encodeURIComponent(session.conversation_id) + "/messages?after=" + lastSeq;
    return request("GET", path).then(function (page) {
      (page.messages || []).forEach(function (m) { addMessage(m, false); });
      if (page.more) { lastSeq = Math.max(lastSeq, page.last_seq); return refresh(); }
      if (OWNERS[page.owner]) setTalkingTo(OWNERS[page.owner]);  // the whole history read: the current owner
    }).catch(function (error) {
      if (error.status === 403) forget();
    });
  }

  /* ---------- live connection: reconnect with exponential backoff + jitter, resume after last_seq ---------- */

  var socket = null;
  var typingTimer = null;
  var attempts = 0;
  var reconnectTimer = null;

  function connect() {
    if (!session || socket) return;
    clearTimeout(reconnectTimer);
    var url = config.api.replace(/^http/, "ws") + "/api/conversations/" +
      encodeURIComponent(session.conversation_id) + "/live?token=" + encodeURIComponent(session.token) +
      "&after=" + lastSeq;
    var ws = new WebSocket(url);
    socket = ws;
    ws.onopen = function () {
      attempts = 0;
      connection.textContent = "";
      flushOutbox();
    };
    ws.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "message") addMessage(data, true);
      else if (data.type === "typing" && data.role === "agent") {
        showIndicator((data.name || "Support agent") + " is typing\u2026");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { showIndicator(""); }, 5000);
      }
      else if (data.type === "status" && data.status === "reviewing") {
        showIndicator("A support agent is reviewing the answer\u2026");
      } else if (data.type === "status" && data.status === "typing") showIndicator("Typing\u2026");
    };
    ws.onclose = function (event) {
      if (socket === ws) socket = null;
      if (event.code === 4403) { forget(); return; }  // the server no longer knows this conversation
      if (!session) return;
      connection.textContent = "Reconnecting\u2026";
      var delay = Math.min(15000, 1000 * Math.pow(2, attempts++));
      reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }

  // Coming back online or to the tab: don't wait for the backoff timer.
  function reconnectNow() {
    if (session && !socket) { attempts = 0; connect(); }
  }
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) reconnectNow(); });

  /* ---------- open / close, keyboard ---------- */

  var started = false;
  // At phone width the panel covers the page: it is then a modal dialog, and Tab stays inside it.
  var phone = window.matchMedia ? window.matchMedia("(max-width:480px)") : { matches: false };

  function rememberOpen(isOpen) {
    try { if (isOpen) sessionStorage.setItem(OPEN_KEY, "1"); else sessionStorage.removeItem(OPEN_KEY); }
    catch (e) { /* storage refused: the panel just starts closed after a reload */ }
  }

  function wasOpen() {
    try { return sessionStorage.getItem(OPEN_KEY) === "1"; } catch (e) { return false; }
  }

  function open(options) {
    panel.hidden = false;
    panel.setAttribute("aria-modal", String(!!phone.matches));
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    badge.hidden = true;
    announcer.textContent = "";
    rememberOpen(true);
    showGreeting();
    if (!started && session) { started = true; refresh().then(connect); }
    scrollDown();
    if (!options || options.focus !== false) input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    rememberOpen(false);
    launcher.focus();
  }

  function focusable() {
    return Array.prototype.filter.call(panel.querySelectorAll("button, a[href], textarea, [tabindex='0']"),
      function (n) { return !n.disabled && n.getClientRects().length > 0; });
  }

  // Focus that lands on the page under a full-screen panel (a click, a screen reader's jump) comes back.
  document.addEventListener("focusin", function (event) {
    if (!panel.hidden && phone.matches && event.target !== host) { var items = focusable(); if (items[0]) items[0].focus(); }
  });
  launcher.addEventListener("click", function () { open(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    if (event.key !== "Tab" || !phone.matches) return;
    var items = focusable(), first = items[0], last = items[items.length - 1];
    var current = root.activeElement;
    if (event.shiftKey && current === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && current === last) { event.preventDefault(); first.focus(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : submit(event);
    }
  });
  var typingSent = 0;
  input.addEventListener("input", function () {
    if (session && input.value && Date.now() - typingSent > 3000) {  // throttled: one signal per 3 s
      typingSent = Date.now();
      request("POST", "/api/conversations/" + encodeURIComponent(session.conversation_id) + "/typing").catch(function () {});
    }
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  function submit(event) {
    event.preventDefault();
    var text = input.value, files = chosen;
    input.value = "";
    input.style.height = "auto";
    chosen = [];
    showTray();
    send(text, files);
  }
  form.addEventListener("submit", submit);
  humanButton.addEventListener("click", function () { send(HUMAN_REQUEST); });
  attachButton.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () { choose(picker.files); picker.value = ""; input.focus(); });

  // A returning visitor with a conversation under way: reopen it where they left it, the panel too.
  if (session) {
    started = true;
    session.outbox.forEach(function (o) { markUnsent(placeholderFor(o.id, o.text, o.files), true); });
    refresh().then(connect);
  }
  if (wasOpen()) open({ focus: false });

  window.SupportBot = { open: open, close: close };
})();
