/* Agent console: live queue of handoffs, one conversation at a time, draft review and replies.
 * All data from the API is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var STORAGE_KEY = "supportbot.console";
  var REASONS = {
    low_confidence: "Low confidence", no_answer: "No answer found", requested: "Asked for a human",
    gated: "Category handled by people", out_of_scope: "Out of scope", draft_review: "Draft to review",
    error: "Bot error",
  };
  var OWNERS = { bot: "Bot is answering", pending_human: "Waiting for an agent", human: "Agent is answering" };

  var $ = function (id) { return document.getElementById(id); };
  var auth = load();
  var handoffs = [];
  var current = null;        // the open conversation as last fetched
  var currentId = null;
  var editing = null;        // "edit" | "reject" while the agent works on the draft: don't redraw it

  function load() {
    try { return JSON.parse(localStorage.getItem(STORAGE_KEY) || "null"); } catch (e) { return null; }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function safeLink(source) {
    try {
      var url = new URL(source);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  function waited(since) {
    var minutes = Math.floor((Date.now() / 1000 - since) / 60);
    if (minutes < 1) return "just now";
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function clock(ts) {
    return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /* ---------- sign in ---------- */

  function showLogin(message) {
    $("app").hidden = true;
    $("signout").hidden = true;
    $("who").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-error").hidden = !message;
    if (auth && auth.name) $("agent-name").value = auth.name;
    ($("agent-name").value ? $("token") : $("agent-name")).focus();
  }

  function signOut(message) {
    auth = null;
    localStorage.removeItem(STORAGE_KEY);
    if (socket) socket.close();
    showLogin(message);
  }

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("signout").hidden = false;
    $("who").hidden = false;
    $("who").textContent = auth.name;
    connect();
    loadQueue();
  }

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    auth = { token: $("token").value.trim(), name: $("agent-name").value.trim() };
    $("token").value = "";
    api("GET", "/api/agent/handoffs").then(function () {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
      start();
    }).catch(function (error) {
      if (error.status !== 401) showLogin(error.message);
    });
  });
  $("signout").addEventListener("click", function () { signOut(""); });

  /* ---------- HTTP ---------- */

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: { "Authorization": "Bearer " + auth.token, "X-Agent": auth.name, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (response.status === 401) {
          signOut("That token was not accepted.");
        }
        if (!response.ok) {
          var detail = json && json.detail;
          if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
          var error = new Error(detail || "Request failed (" + response.status + ")");
          error.status = response.status;
          throw error;
        }
        return json;
      });
    });
  }

  /* ---------- queue ---------- */

  function loadQueue() {
    return api("GET", "/api/agent/handoffs").then(function (list) {
      handoffs = list || [];
      renderQueue();
    }).catch(function () { /* shown via the live pill / sign-in screen */ });
  }

  function renderQueue() {
    var ul = $("queue");
    clear(ul);
    $("count").textContent = String(handoffs.length);
    $("queue-empty").hidden = handoffs.length > 0;
    handoffs.forEach(function (h) {
      var button = el("button", { type: "button", "data-conversation": h.conversation_id,
        "aria-current": String(h.conversation_id === currentId) });
      var top = el("span", { class: "row" });
      top.appendChild(el("span", { class: "badge" }, h.category));
      top.appendChild(el("span", { class: "badge reason" }, REASONS[h.reason] || h.reason));
      if (h.claimed_by) top.appendChild(el("span", { class: "badge claimed" }, "Claimed by " + h.claimed_by));
      button.appendChild(top);
      button.appendChild(el("span", { class: "question" }, h.question || "(no message)"));
      button.appendChild(el("span", { class: "meta" }, "Waiting " + waited(h.created_at) + " \u00b7 " + h.channel));
      button.addEventListener("click", function () { openConversation(h.conversation_id); });
      var li = el("li");
      li.appendChild(button);
      ul.appendChild(li);
    });
  }

  setInterval(function () { if (auth && handoffs.length) renderQueue(); }, 30000);  // waiting times tick

  /* ---------- conversation ---------- */

  function openConversation(id) {
    if (id !== currentId) {
      editing = null;
      showActionError("");
    }
    currentId = id;
    renderQueue();
    return api("GET", "/api/agent/conversations/" + encodeURIComponent(id)).then(function (data) {
      if (currentId !== id) return;
      current = data;
      renderConversation();
    }).catch(function (error) { showActionError(error.message); });
  }

  function renderConversation() {
    var state = current.state, handoff = current.handoff;
    $("placeholder").hidden = true;
    $("conversation").hidden = false;

    var facts = $("facts");
    clear(facts);
    facts.appendChild(el("h3", { id: "summary-title" }, (state.customer.name || "Customer") + " \u00b7 " + state.channel));
    facts.appendChild(el("span", { class: "meta" }, "Conversation " + state.id));
    var row = el("span", { class: "row" });
    row.appendChild(el("span", { class: "badge", id: "owner" }, OWNERS[state.owner] || state.owner));
    if (state.agent) row.appendChild(el("span", { class: "badge claimed" }, "Agent: " + state.agent));
    if (handoff) {
      row.appendChild(el("span", { class: "badge reason" }, REASONS[handoff.reason] || handoff.reason));
      row.appendChild(el("span", { class: "badge" }, handoff.category));
      row.appendChild(el("span", { class: "meta" }, "Waiting " + waited(handoff.created_at)));
    }
    facts.appendChild(row);
    if (handoff && handoff.explanation) facts.appendChild(el("span", { class: "meta" }, "Why: " + handoff.explanation));

    $("claim").disabled = !(handoff && handoff.status === "queued");
    $("claim").textContent = handoff && handoff.claimed_by ? "Claimed by " + handoff.claimed_by : "Claim";
    $("handback").disabled = state.owner === "bot";
    if (!editing) renderDraft(state.pending_draft, handoff);
    renderTranscript(current.transcript);
  }

  function passages(citations) {
    var list = el("ul", { class: "passages" });
    (citations || []).forEach(function (c) {
      var li = el("li");
      var href = safeLink(c.source);
      li.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, c.title)
                          : el("span", { class: "title" }, c.title || c.source));
      if (c.snippet) li.appendChild(el("span", { class: "snippet" }, c.snippet));
      list.appendChild(li);
    });
    return list;
  }

  // The bot's pending draft (approve / edit / reject), or its unsent shadow answer for reference.
  function renderDraft(draft, handoff) {
    var card = $("draft");
    clear(card);
    var shadow = handoff && handoff.shadow && handoff.shadow.text ? handoff.shadow : null;
    if (!draft && !shadow) { card.hidden = true; return; }
    card.hidden = false;
    var answer = draft || shadow;
    card.appendChild(el("h3", { id: "draft-title" }, draft ? "Bot draft awaiting review" : "Bot's unsent answer"));
    card.appendChild(el("p", { class: "meta" }, "Confidence " + Math.round((answer.confidence || 0) * 100) + "%" +
      (draft ? "" : " \u00b7 not sent to the customer")));
    card.appendChild(el("p", { class: "text", id: "draft-text" }, answer.text));
    if ((answer.citations || []).length) {
      card.appendChild(el("strong", {}, "Cited passages"));
      card.appendChild(passages(answer.citations));
    }
    var actions = el("div", { class: "row" });
    if (draft) {
      actions.appendChild(button("Approve", "primary", function () {
        act("draft/approve", {});
      }));
      actions.appendChild(button("Edit", "", function () { editDraft(card, draft.text); }));
      actions.appendChild(button("Reject", "danger", function () { rejectDraft(card); }));
    } else {
      actions.appendChild(button("Use as reply", "", function () {
        $("reply-text").value = shadow.text;
        $("reply-text").focus();
      }));
    }
    card.appendChild(actions);
  }

  function button(label, cls, onClick) {
    var b = el("button", { type: "button", class: cls }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  function editDraft(card, text) {
    editing = "edit";
    var form = el("form", { class: "inline-form" });
    var area = el("textarea", { rows: "5", "aria-label": "Edited answer", id: "draft-edit" });
    area.value = text;
    var row = el("div", { class: "row" });
    row.appendChild(el("button", { type: "submit", class: "primary" }, "Send edited answer"));
    row.appendChild(button("Cancel", "", function () { editing = null; renderConversation(); }));
    form.appendChild(area);
    form.appendChild(row);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      editing = null;
      act("draft/approve", { text: area.value });
    });
    card.appendChild(form);
    area.focus();
  }

  function rejectDraft(card) {
    editing = "reject";
    var form = el("form", { class: "inline-form" });
    var input = el("input", { "aria-label": "Why is the draft wrong?", placeholder: "Why is the draft wrong?",
      id: "reject-reason", maxlength: "2000" });
    var row = el("div", { class: "row" });
    row.appendChild(el("button", { type: "submit", class: "danger" }, "Reject draft"));
    row.appendChild(button("Cancel", "", function () { editing = null; renderConversation(); }));
    form.appendChild(input);
    form.appendChild(row);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      editing = null;
      act("draft/reject", { reason: input.value });
    });
    card.appendChild(form);
    input.focus();
  }

  function renderTranscript(entries) {
    var list = $("transcript"), pane = $("transcript-card");
    var atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;  // don't yank a reader up
    clear(list);
    entries.forEach(function (m) {
      var li = el("li", { class: m.internal ? "note" : m.role, "data-seq": String(m.seq) });
      var who = el("div", { class: "who" });
      if (m.internal) who.appendChild(el("span", { class: "label" }, "Internal note"));
      // Customer entries carry the customer's id as name; show the name the widget gave instead.
      who.appendChild(el("strong", {}, m.role === "customer" ? (current.state.customer.name || "Customer") : m.name));
      who.appendChild(el("span", {}, clock(m.created_at)));
      li.appendChild(who);
      li.appendChild(el("div", { class: "body" }, m.text));
      if ((m.citations || []).length) {
        var sources = el("ul", { class: "sources" });
        m.citations.forEach(function (c) {
          var item = el("li");
          var href = safeLink(c.source);
          item.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, c.title)
                                : el("span", {}, c.title));
          sources.appendChild(item);
        });
        li.appendChild(sources);
      }
      list.appendChild(li);
    });
    if (atBottom) pane.scrollTop = pane.scrollHeight;
  }

  function showActionError(text) {
    $("action-error").textContent = text;
    $("action-error").hidden = !text;
  }

  // Conversation actions: on success the live event refreshes the view; refresh now as well.
  function act(path, body) {
    showActionError("");
    var id = currentId;
    return api("POST", "/api/agent/conversations/" + encodeURIComponent(id) + "/" + path, body)
      .then(function () { return Promise.all([openConversation(id), loadQueue()]); })
      .catch(function (error) {
        showActionError(error.message);
        if (current) renderConversation();
      });
  }

  $("claim").addEventListener("click", function () {
    if (!current || !current.handoff) return;
    showActionError("");
    api("POST", "/api/agent/handoffs/" + encodeURIComponent(current.handoff.id) + "/claim")
      .then(function () { return Promise.all([openConversation(currentId), loadQueue()]); })
      .catch(function (error) { showActionError(error.message); });
  });
  $("handback").addEventListener("click", function () { act("handback"); });

  function sendFromComposer(kind) {
    var area = $("reply-text");
    var text = area.value.trim();
    if (!text || !currentId) return;
    area.value = "";
    act(kind, { text: text }).then(function () {
      if (!$("action-error").hidden && !area.value) area.value = text;  // failed: keep the text
    });
  }
  $("composer").addEventListener("submit", function (event) { event.preventDefault(); sendFromComposer("reply"); });
  $("note").addEventListener("click", function () { sendFromComposer("note"); });
  $("reply-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); sendFromComposer("reply"); }
  });

  /* ---------- live events: refetch what changed; reconnect with backoff + jitter ---------- */

  var socket = null, attempts = 0;

  function connect() {
    if (!auth || socket) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/api/agent/live?token=" + encodeURIComponent(auth.token));
    socket = ws;
    ws.onopen = function () {
      attempts = 0;
      setLive(true);
      loadQueue();  // catch up on whatever happened while disconnected
      if (currentId) openConversation(currentId);
    };
    ws.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      loadQueue();
      var mine = currentId && (event.conversation_id === currentId ||
        (current && current.handoff && event.handoff_id === current.handoff.id));
      if (mine) openConversation(currentId);
    };
    ws.onclose = function (event) {
      if (socket === ws) socket = null;
      setLive(false);
      if (event.code === 4401) { signOut("That token was not accepted."); return; }
      if (!auth) return;
      var delay = Math.min(30000, 1000 * Math.pow(2, attempts++));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }

  function setLive(on) {
    $("live").textContent = on ? "Live" : (auth ? "Reconnecting\u2026" : "Offline");
    $("live").className = on ? "pill live" : "pill";
  }

  if (auth && auth.token) start(); else showLogin("");
})();
