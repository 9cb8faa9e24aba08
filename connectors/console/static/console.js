/* Agent console: live queue, one conversation at a time, drafts, replies, analytics and admin.
 * Signed in with an account (HttpOnly session cookie); every change sends the session's CSRF token.
 * All data from the API is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var REASONS = {
    low_confidence: "Low confidence", no_answer: "No answer found", requested: "Asked for a human",
    gated: "Category handled by people", out_of_scope: "Out of scope", draft_review: "Draft to review",
    error: "Bot error", frustrated: "Customer frustrated",
  };
  var OWNERS = { bot: "Bot is answering", pending_human: "Waiting for an agent", human: "Agent is answering" };
  var PHASES = { categorize: "Categorize only (people answer)", draft: "Draft (agent approves)", full: "Full (bot answers)" };

  var $ = function (id) { return document.getElementById(id); };
  var me = null;             // {username, display_name, role, csrf_token}
  var names = {};            // username -> display name
  var handoffs = [];
  var current = null, currentId = null;
  var editing = null;        // "edit" | "reject" while the agent works on the draft: don't redraw it
  var view = "inbox", list = "queue";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function button(label, cls, onClick, attrs) {
    var b = el("button", Object.assign({ type: "button", class: cls || "" }, attrs || {}), label);
    b.addEventListener("click", onClick);
    return b;
  }
  function safeLink(source) {
    try {
      var url = new URL(source);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }
  function duration(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 1) return "under a minute";
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }
  function since(ts) { return Date.now() / 1000 - ts; }
  function ago(ts) { var d = duration(since(ts)); return d === "under a minute" ? "just now" : d + " ago"; }
  function clock(ts) { return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
  function nameOf(username) { return names[username] || username; }
  function pct(v) { return v == null ? "\u2013" : Math.round(v * 100) + "%"; }
  function secs(v) { return v == null ? "\u2013" : duration(v) === "under a minute" ? Math.round(v) + " s" : duration(v); }

  /* ---------- HTTP ---------- */

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf_token;
    return fetch(path, { method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (response.status === 401 && me) signedOut("Your session has ended. Please sign in again.");
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

  /* ---------- sign in / out ---------- */

  function showLogin(message) {
    ["inbox", "analytics", "admin", "nav", "signout", "who"].forEach(function (id) { $(id).hidden = true; });
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-error").hidden = !message;
    ($("username").value ? $("password") : $("username")).focus();
  }

  function signedOut(message) {
    me = null;
    if (socket) socket.close();
    showLogin(message);
  }

  function start(account) {
    me = account;
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

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { username: $("username").value.trim(), password: $("password").value };
    if (!$("code-field").hidden) body.code = $("code").value.replace(/\s/g, "");
    $("code").value = "";
    api("POST", "/api/agent/login", body).then(function (account) {
      $("password").value = "";
      $("code-field").hidden = true;
      start(account);
    }).catch(function (error) {
      if (error.status === 401 && error.message === "authenticator code required") {
        var asked = !$("code-field").hidden;
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
  $("signout").addEventListener("click", function () {
    api("POST", "/api/agent/logout").catch(function () {}).then(function () { signedOut(""); });
  });

  /* ---------- sections ---------- */

  function show(name) {
    view = name;
    ["inbox", "analytics", "admin"].forEach(function (id) { $(id).hidden = id !== name; });
    Array.prototype.forEach.call($("nav").querySelectorAll("button"), function (b) {
      if (b.dataset.view === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
    });
    if (name === "analytics") loadAnalytics();
    if (name === "admin") loadAdmin();
  }
  Array.prototype.forEach.call($("nav").querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () { show(b.dataset.view); });
  });

  /* ---------- queue and conversation list ---------- */

  function loadAgents() {
    return api("GET", "/api/agent/agents").then(function (agents) {
      names = {};
      var select = $("assignee");
      clear(select);
      agents.forEach(function (a) {
        names[a.username] = a.display_name || a.username;
        select.appendChild(el("option", { value: a.username }, a.display_name || a.username));
      });
    }).catch(function () {});
  }

  function loadQueue() {
    return api("GET", "/api/agent/handoffs").then(function (items) {
      handoffs = items || [];
      renderFilter();
      renderQueue();
    }).catch(function () {});
  }

  function renderFilter() {
    var select = $("filter"), chosen = select.value, seen = {};
    while (select.options.length > 1) select.remove(1);
    handoffs.forEach(function (h) {
      [["category:" + h.category, "Category: " + h.category], ["queue:" + h.queue, "Team: " + h.queue]].forEach(function (o) {
        if (seen[o[0]]) return;
        seen[o[0]] = true;
        select.appendChild(el("option", { value: o[0] }, o[1]));
      });
    });
    if (chosen && !seen[chosen]) select.appendChild(el("option", { value: chosen }, chosen.replace(":", ": ")));
    select.value = chosen;
  }
  $("filter").addEventListener("change", renderQueue);

  function slaBadge(h) {
    var waited = since(h.created_at);
    var text = "Waiting " + duration(waited);
    var cls = "sla";
    if (h.sla_seconds) {
      text += " / SLA " + duration(h.sla_seconds);
      if (waited > h.sla_seconds) { cls += " late"; text += " \u2013 overdue"; }
      else if (waited > h.sla_seconds * 0.75) cls += " near";
    }
    return el("span", { class: cls }, text);
  }

  function renderQueue() {
    var ul = $("queue"), filter = $("filter").value;
    var shown = handoffs.filter(function (h) {
      if (!filter) return true;
      var kind = filter.split(":")[0], value = filter.slice(kind.length + 1);
      return kind === "category" ? h.category === value : h.queue === value;
    });
    clear(ul);
    // Waiting means nobody has it yet: claimed handoffs stay listed but are not counted.
    $("count").textContent = String(handoffs.filter(function (h) { return !h.claimed_by; }).length);
    $("queue-empty").hidden = shown.length > 0;
    shown.forEach(function (h) {
      var b = el("button", { type: "button", "data-conversation": h.conversation_id,
        "aria-current": String(h.conversation_id === currentId) });
      var top = el("span", { class: "row" });
      top.appendChild(el("span", { class: "badge" }, h.category));
      top.appendChild(el("span", { class: "badge reason" }, REASONS[h.reason] || h.reason));
      if (h.priority > 1) top.appendChild(el("span", { class: "badge prio" }, "P" + h.priority));
      if (h.claimed_by) top.appendChild(el("span", { class: "badge claimed" }, "Claimed by " + nameOf(h.claimed_by)));
      b.appendChild(top);
      // The customer's latest words: what the agent answers next, not what opened the handoff.
      var latest = h.latest ? h.latest.text : h.question;
      b.appendChild(el("span", { class: "question", title: "Handed off on: " + h.question }, latest || "(no message)"));
      var meta = el("span", { class: "meta" });
      meta.appendChild(h.claimed_by ? el("span", {}, "Claimed " + ago(h.claimed_at || h.created_at)) : slaBadge(h));
      meta.appendChild(document.createTextNode(" \u00b7 " + h.channel + (h.queue !== h.category ? " \u00b7 team " + h.queue : "")));
      b.appendChild(meta);
      b.addEventListener("click", function () { choose(h.conversation_id); });
      var li = el("li");
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  // One conversation in the "All conversations" list or the search results.
  function conversationItem(c, preview) {
    var b = el("button", { type: "button", "data-conversation": c.id, "aria-current": String(c.id === currentId) });
    var top = el("span", { class: "row" });
    top.appendChild(el("span", { class: c.owner === "bot" ? "badge owner-bot" : "badge claimed" },
      OWNERS[c.owner] + (c.agent ? " (" + nameOf(c.agent) + ")" : "")));
    top.appendChild(el("span", { class: "badge" }, c.category));
    b.appendChild(top);
    b.appendChild(el("span", { class: "question" }, preview));
    b.appendChild(el("span", { class: "meta" }, (c.customer || "Customer") + " \u00b7 " + c.channel + " \u00b7 " +
      c.messages + " messages \u00b7 " + clock(c.updated_at)));
    b.addEventListener("click", function () { choose(c.id); });
    var li = el("li");
    li.appendChild(b);
    return li;
  }

  function loadAll() {
    return api("GET", "/api/agent/conversations?limit=50").then(function (items) {
      var ul = $("all");
      clear(ul);
      $("all-empty").hidden = items.length > 0;
      items.forEach(function (c) {
        ul.appendChild(conversationItem(c, c.last ? c.last.text : "(no messages yet)"));
      });
    }).catch(function () {});
  }

  function showList(which) {
    list = which;
    $("tab-queue").setAttribute("aria-selected", String(which === "queue"));
    $("tab-all").setAttribute("aria-selected", String(which === "all"));
    searching = null;
    $("search-panel").hidden = true;
    $("queue-panel").hidden = which !== "queue";
    $("all-panel").hidden = which !== "all";
    if (which === "all") loadAll();
  }
  $("tab-queue").addEventListener("click", function () { showList("queue"); });
  $("tab-all").addEventListener("click", function () { showList("all"); });

  setInterval(function () { if (me && handoffs.length) renderQueue(); }, 30000);  // waiting times tick

  /* ---------- conversation ---------- */

  function openConversation(id) {
    if (id !== currentId) { editing = null; showActionError(""); $("typing").textContent = ""; }
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
    var row = el("span", { class: "row" });
    row.appendChild(el("span", { class: "badge", id: "owner" }, OWNERS[state.owner] || state.owner));
    if (state.agent) row.appendChild(el("span", { class: "badge claimed" }, "Agent: " + nameOf(state.agent)));
    row.appendChild(el("span", { class: "badge" }, state.category + " \u00b7 " + state.phase));
    if (handoff) {
      row.appendChild(el("span", { class: "badge reason" }, REASONS[handoff.reason] || handoff.reason));
      if (handoff.priority > 1) row.appendChild(el("span", { class: "badge prio" }, "Priority " + handoff.priority));
      if (handoff.status === "queued") row.appendChild(slaBadge(handoff));
      else if (handoff.status === "claimed") row.appendChild(el("span", { class: "meta" }, "Claimed " + ago(handoff.claimed_at || handoff.created_at)));
    }
    facts.appendChild(row);
    if (handoff && handoff.explanation) facts.appendChild(el("span", { class: "meta" }, "Why: " + handoff.explanation));
    facts.appendChild(el("span", { class: "meta" }, "Conversation " + state.id));

    var open = handoff && handoff.status !== "resolved";
    var mine = state.agent === me.username;
    $("claim").hidden = !open;
    $("claim").disabled = !(open && handoff.status === "queued");
    $("claim").textContent = open && handoff.claimed_by
      ? (handoff.claimed_by === me.username ? "Claimed by you" : "Claimed by " + nameOf(handoff.claimed_by)) : "Claim";
    $("takeover").hidden = open || state.owner !== "bot";
    $("assign").disabled = !open;
    $("assignee").disabled = !open;
    $("resolve").disabled = state.owner === "bot";
    $("handback").disabled = state.owner === "bot";
    $("reply").textContent = state.owner === "human" && !mine && state.agent ? "Reply (takes over)" : "Send reply";
    if (!editing) renderDraft(state.pending_draft, handoff);
    renderTranscript(current.transcript);
  }

  function folded(text) {
    return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  }

  // The passage's snippet with the sentences the draft repeats marked, so the reviewer sees what it used.
  function snippetWithUse(snippet, used) {
    var span = el("span", { class: "snippet" });
    var target = " " + folded(used || "") + " ";
    snippet.split(/(?<=[.!?:])(\s+)|(\n+)/).forEach(function (piece) {
      if (!piece) return;
      var words = folded(piece);
      if (words.split(" ").length >= 4 && target.indexOf(" " + words + " ") !== -1) span.appendChild(el("mark", {}, piece));
      else span.appendChild(document.createTextNode(piece));
    });
    return span;
  }

  function passages(citations, used) {
    var ul = el("ul", { class: "passages" });
    (citations || []).forEach(function (c) {
      var li = el("li");
      var href = safeLink(c.source);
      li.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, c.title)
                          : el("span", { class: "title" }, c.title || c.source));
      if (c.snippet) li.appendChild(snippetWithUse(c.snippet, used));
      ul.appendChild(li);
    });
    return ul;
  }

  // The bot's pending draft (approve / edit / reject), or its unsent shadow answer for reference.
  function renderDraft(draft, handoff) {
    var card = $("draft");
    clear(card);
    var shadow = handoff && handoff.status !== "resolved" && handoff.shadow && handoff.shadow.text ? handoff.shadow : null;
    if (!draft && !shadow) { card.hidden = true; return; }
    card.hidden = false;
    var answer = draft || shadow;
    card.appendChild(el("h3", { id: "draft-title" }, draft ? "Bot draft awaiting review" : "Bot's unsent answer"));
    card.appendChild(el("p", { class: "meta" }, "Confidence " + Math.round((answer.confidence || 0) * 100) + "%" +
      (draft ? " \u00b7 the customer sees nothing until you approve" : " \u00b7 not sent to the customer")));
    card.appendChild(el("p", { class: "text", id: "draft-text" }, answer.text));
    if ((answer.citations || []).length) {
      card.appendChild(el("strong", {}, "Cited passages"));
      card.appendChild(passages(answer.citations, answer.text));
    }
    var actions = el("div", { class: "row" });
    if (draft) {
      actions.appendChild(button("Approve", "primary", function () { act("draft/approve", {}); }));
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

  function inlineForm(card, field, submitLabel, submitClass, onSubmit) {
    var form = el("form", { class: "inline-form" });
    var row = el("div", { class: "row" });
    row.appendChild(el("button", { type: "submit", class: submitClass }, submitLabel));
    row.appendChild(button("Cancel", "", function () { editing = null; renderConversation(); }));
    form.appendChild(field);
    form.appendChild(row);
    form.addEventListener("submit", function (event) { event.preventDefault(); editing = null; onSubmit(); });
    card.appendChild(form);
    field.focus();
  }

  function editDraft(card, text) {
    editing = "edit";
    var area = el("textarea", { rows: "5", "aria-label": "Edited answer", id: "draft-edit" });
    area.value = text;
    inlineForm(card, area, "Send edited answer", "primary", function () { act("draft/approve", { text: area.value }); });
  }

  function rejectDraft(card) {
    editing = "reject";
    var input = el("input", { "aria-label": "Why is the draft wrong?", placeholder: "Why is the draft wrong?",
      id: "reject-reason", maxlength: "2000" });
    inlineForm(card, input, "Reject draft", "danger", function () { act("draft/reject", { reason: input.value }); });
  }

  var THUMBNAILS = /^image\/(png|jpeg|gif|webp)$/;  // of the server's VIEWABLE types, those <img> shows

  function renderTranscript(entries) {
    var ol = $("transcript"), pane = $("transcript-card");
    var atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;  // don't yank a reader up
    var channels = {};
    entries.forEach(function (m) { channels[m.channel] = true; });
    var several = Object.keys(channels).length > 1;
    clear(ol);
    entries.forEach(function (m) {
      var li = el("li", { class: m.internal ? "note" : m.role, "data-seq": String(m.seq) });
      var who = el("div", { class: "who" });
      if (m.internal) who.appendChild(el("span", { class: "label" }, "Internal note"));
      who.appendChild(el("strong", {}, m.role === "customer" ? (current.state.customer.name || "Customer") : m.name));
      who.appendChild(el("span", {}, clock(m.created_at)));
      if (several) who.appendChild(el("span", { class: "channel" }, m.channel));
      li.appendChild(who);
      li.appendChild(el("div", { class: "body" }, m.text));
      if ((m.attachments || []).length) {
        var files = el("ul", { class: "attachments" });
        m.attachments.forEach(function (a) {
          var label = a.filename + " (" + a.content_type + ", " + Math.max(1, Math.round(a.size / 1024)) + " KB)";
          var item = el("li");
          var href = "/api/agent/attachments/" + encodeURIComponent(a.id);
          // Only a type an <img> decodes as a picture is shown; everything else is a download link.
          if (a.stored && THUMBNAILS.test(a.content_type)) {
            var thumb = el("a", { href: href, download: a.filename, class: "thumb-link" });
            thumb.appendChild(el("img", { src: href, alt: a.filename, class: "thumb", loading: "lazy" }));
            item.appendChild(thumb);
          }
          item.appendChild(a.stored ? el("a", { href: href, download: a.filename }, label)
                                    : el("span", {}, label + ": " + a.note));
          files.appendChild(item);
        });
        li.appendChild(files);
      }
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
      ol.appendChild(li);
    });
    if (atBottom) pane.scrollTop = pane.scrollHeight;
  }

  function showActionError(text) {
    $("action-error").textContent = text;
    $("action-error").hidden = !text;
  }

  function refreshAfter(promise) {
    var id = currentId;
    showActionError("");
    return promise.then(function () { return Promise.all([openConversation(id), loadQueue()]); })
      .catch(function (error) {
        showActionError(error.message);
        return Promise.all([openConversation(id), loadQueue()]).then(function () { throw error; });
      });
  }

  function act(path, body) {
    return refreshAfter(api("POST", "/api/agent/conversations/" + encodeURIComponent(currentId) + "/" + path, body))
      .catch(function () {});
  }

  $("claim").addEventListener("click", function () {
    if (!current || !current.handoff) return;
    refreshAfter(api("POST", "/api/agent/handoffs/" + encodeURIComponent(current.handoff.id) + "/claim")).catch(function () {});
  });
  $("assign").addEventListener("click", function () {
    if (!current || !current.handoff) return;
    refreshAfter(api("POST", "/api/agent/handoffs/" + encodeURIComponent(current.handoff.id) + "/assign",
      { username: $("assignee").value })).catch(function () {});
  });
  $("takeover").addEventListener("click", function () { act("takeover"); });
  $("resolve").addEventListener("click", function () { act("resolve"); });
  $("handback").addEventListener("click", function () { act("handback"); });

  /* Files for the next reply: uploaded one by one, then the reply lists their ids. Notes carry text only. */
  var chosen = [];

  function showChosen() {
    var list = $("reply-files");
    clear(list);
    list.hidden = !chosen.length;
    chosen.forEach(function (file, index) {
      var item = el("li", {}, file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB) ");
      item.appendChild(button("Remove", "", function () { chosen.splice(index, 1); showChosen(); },
        { "aria-label": "Remove " + file.name }));
      list.appendChild(item);
    });
  }

  function upload(conversationId, file) {
    return fetch("/api/agent/conversations/" + encodeURIComponent(conversationId) + "/attachments?filename=" +
      encodeURIComponent(file.name || "attachment"), { method: "POST", body: file, credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": me ? me.csrf_token : "" } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) {
          if (!response.ok) throw new Error(file.name + ": " + ((json && typeof json.detail === "string")
            ? json.detail : "upload failed (" + response.status + ")"));
          return json.id;
        });
      });
  }

  function sendFromComposer(kind) {
    var area = $("reply-text");
    var text = area.value.trim();
    var files = kind === "reply" ? chosen : [];
    if ((!text && !files.length) || !currentId) return;
    var id = currentId;
    area.value = "";
    if (files.length) { chosen = []; showChosen(); }
    var uploads = files.reduce(function (done, file) {
      return done.then(function (ids) { return upload(id, file).then(function (fileId) { return ids.concat([fileId]); }); });
    }, Promise.resolve([]));
    refreshAfter(uploads.then(function (ids) {
      var body = { text: text };
      if (ids.length) body.attachments = ids;
      return api("POST", "/api/agent/conversations/" + encodeURIComponent(id) + "/" + kind, body);
    })).catch(function () {  // failed: keep the text and the files
      if (!area.value) area.value = text;
      if (files.length && !chosen.length) { chosen = files; showChosen(); }
    });
  }
  $("attach").addEventListener("click", function () { $("reply-file").click(); });
  $("reply-file").addEventListener("change", function () {
    Array.prototype.forEach.call($("reply-file").files, function (file) { chosen.push(file); });
    $("reply-file").value = "";
    showChosen();
  });
  $("composer").addEventListener("submit", function (event) { event.preventDefault(); sendFromComposer("reply"); });
  $("note").addEventListener("click", function () { sendFromComposer("note"); });
  var typingSent = 0;
  $("reply-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); sendFromComposer("reply"); }
  });
  $("reply-text").addEventListener("input", function () {
    // Throttled; only while a person owns the conversation (the customer would not expect it otherwise).
    if (!current || current.state.owner === "bot" || Date.now() - typingSent < 3000) return;
    typingSent = Date.now();
    api("POST", "/api/agent/conversations/" + encodeURIComponent(currentId) + "/typing").catch(function () {});
  });

  var typingTimer = null;
  function customerTyping() {
    $("typing").textContent = (current && current.state.customer.name || "The customer") + " is typing\u2026";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { $("typing").textContent = ""; }, 5000);
  }

  /* ---------- phones: the list and the conversation are two views ---------- */

  var narrow = window.matchMedia("(max-width: 760px)");

  function choose(id) {
    $("inbox").classList.add("viewing");
    var opened = openConversation(id);
    if (narrow.matches) $("back").focus();
    return opened;
  }

  $("back").addEventListener("click", function () {
    $("inbox").classList.remove("viewing");
    var item = document.querySelector(".queue li button[aria-current='true']");
    if (item) item.focus();
  });

  /* ---------- desktop notification and sound for a new handoff ---------- */

  var SOUND_KEY = "supportbot:console:sound";
  var audio = null;

  function showAlertSettings() {
    var supported = "Notification" in window;
    var on = supported && Notification.permission === "granted";
    $("notify").hidden = !supported;
    $("notify").setAttribute("aria-pressed", String(on));
    var permission = supported ? Notification.permission : "denied";
    $("notify").textContent = on ? "Desktop alerts on" : permission === "denied"
      ? "Desktop alerts blocked by the browser" : "Turn on desktop alerts";
    $("notify").disabled = permission !== "default";
    $("sound").checked = localStorage.getItem(SOUND_KEY) === "1";
  }

  $("notify").addEventListener("click", function () {
    Promise.resolve(Notification.requestPermission()).then(showAlertSettings, showAlertSettings);
  });
  $("sound").addEventListener("change", function () {
    if ($("sound").checked) { localStorage.setItem(SOUND_KEY, "1"); chime(); }  // a sample, and unlocks audio
    else localStorage.removeItem(SOUND_KEY);
  });

  function chime() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    [[660, 0], [880, 0.16]].forEach(function (tone) {
      var osc = audio.createOscillator(), gain = audio.createGain(), at = audio.currentTime + tone[1];
      osc.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.15, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.15);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.16);
    });
  }

  var alerted = {};  // handoff ids this page has announced

  function alertNewHandoff(handoffId) {
    var h = handoffs.filter(function (x) { return x.id === handoffId; })[0];
    if (!h) return;
    if (localStorage.getItem(SOUND_KEY) === "1") chime();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var note = new Notification("Waiting for a person: " + h.category, {
      body: (h.latest ? h.latest.text : h.question) || REASONS[h.reason] || "", tag: h.id });
    note.onclick = function () { window.focus(); show("inbox"); choose(h.conversation_id); note.close(); };
  }

  /* ---------- canned responses: admins keep them, agents insert them ---------- */

  var canned = [], cannedAsked = 0;

  function loadCanned() {
    var asked = ++cannedAsked;
    return api("GET", "/api/agent/canned").then(function (items) {
      if (asked !== cannedAsked) return;  // a later request (after a change) answers instead
      canned = items || [];
      var select = $("canned");
      while (select.options.length > 1) select.remove(1);
      canned.forEach(function (c) { select.appendChild(el("option", { value: c.id }, c.title)); });
      select.hidden = !canned.length;
      if (view === "admin") renderCanned();
    }).catch(function () {});
  }

  $("canned").addEventListener("change", function () {
    var chosen = canned.filter(function (c) { return c.id === $("canned").value; })[0];
    $("canned").value = "";
    if (!chosen) return;
    var area = $("reply-text"), at = area.selectionStart || 0, end = area.selectionEnd || at;
    area.value = area.value.slice(0, at) + chosen.text + area.value.slice(end);
    area.focus();
    area.setSelectionRange(at + chosen.text.length, at + chosen.text.length);
  });

  function renderCanned() {
    table($("canned-list"), ["Title", "Text", ""], canned.map(function (c) {
      return [c.title, c.text, button("Remove", "danger", function () {
        api("POST", "/api/agent/admin/canned/" + encodeURIComponent(c.id) + "/remove")
          .then(function () { adminError("\u201c" + c.title + "\u201d removed.", true); loadCanned(); })
          .catch(function (error) { adminError(error.message); });
      }, { "aria-label": "Remove " + c.title })];
    }), "No canned responses yet.");
  }

  $("add-canned").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { title: $("canned-new-title").value.trim(), text: $("canned-new-text").value.trim() };
    api("POST", "/api/agent/admin/canned", body).then(function () {
      adminError("\u201c" + body.title + "\u201d is ready to insert.", true);
      $("add-canned").reset();
      loadCanned();
    }).catch(function (error) { adminError(error.message); });
  });

  /* ---------- search: on the server, a page at a time ---------- */

  var searching = null;  // {q, next}

  function searchPage(q, cursor) {
    var query = "?q=" + encodeURIComponent(q) + "&cursor=" + cursor;
    return api("GET", "/api/agent/search" + query).then(function (page) {
      if (!searching || searching.q !== q) return;
      var ul = $("search-results");
      if (!cursor) clear(ul);
      page.results.forEach(function (c) {
        if (ul.querySelector("[data-conversation='" + c.id + "']")) return;  // shifted by newer conversations
        ul.appendChild(conversationItem(c, c.match ? c.match.text : (c.customer || c.id)));
      });
      searching.next = page.next;
      var count = ul.children.length;
      $("search-title").textContent = count ? count + (count === 1 ? " conversation" : " conversations") +
        " with \u201c" + q + "\u201d" + (page.next != null ? " so far" : "") : "Nothing found for \u201c" + q + "\u201d" +
        (page.next != null ? " yet" : "");
      $("search-more").hidden = page.next == null;
    }).catch(function (error) { $("search-title").textContent = error.message; });
  }

  $("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = $("search").value.trim();
    if (!q) { endSearch(); return; }
    searching = { q: q, next: null };
    $("search-panel").hidden = false;
    $("queue-panel").hidden = $("all-panel").hidden = true;
    $("search-title").textContent = "Searching\u2026";
    searchPage(q, 0);
  });
  $("search-more").addEventListener("click", function () {
    if (searching && searching.next != null) searchPage(searching.q, searching.next);
  });

  function endSearch() {
    searching = null;
    $("search").value = "";
    $("search-panel").hidden = true;
    showList(list);
  }
  $("search-clear").addEventListener("click", endSearch);

  /* ---------- analytics ---------- */

  function loadAnalytics() {
    var days = $("days").value, windowHours = $("window").value || 72;
    var query = "?days=" + encodeURIComponent(days) + "&window_hours=" + encodeURIComponent(windowHours);
    $("csv").href = "/api/agent/analytics.csv" + query;
    return api("GET", "/api/agent/analytics" + query).then(renderAnalytics).catch(function () {});
  }
  $("analytics-form").addEventListener("submit", function (event) { event.preventDefault(); loadAnalytics(); });

  /* A figure with its unit beside the value, a detail line, and its definition on hover (and for screen readers). */
  function kpi(label, value, unit, hint, definition) {
    var box = el("div", { class: "kpi", title: definition });
    box.appendChild(el("div", { class: "label" }, label));
    var shown = el("div", { class: "value" }, value);
    if (unit) shown.appendChild(el("span", { class: "unit" }, " " + unit));
    box.appendChild(shown);
    if (hint) box.appendChild(el("div", { class: "hint" }, hint));
    box.appendChild(el("div", { class: "sr-only" }, definition));
    return box;
  }

  /* The categorizer's label for "none of the categories" reads as what it means. */
  function categoryName(name) { return name === "oos" || name === "unknown" ? "out of scope" : name; }

  function group(rows, key) {
    var out = {};
    rows.forEach(function (r) {
      var g = out[r[key]] = out[r[key]] || { conversations: 0, toPeople: 0, answered: 0, escalated: 0, involved: 0,
        resolved: 0, reopened: 0, unchanged: 0, edited: 0, rejected: 0 };
      g.conversations += r.conversations;
      g.toPeople += r.conversations_to_people;
      g.answered += r.answered_by_bot;
      for (var k in r.escalated) g.escalated += r.escalated[k];
      g.involved += r.bot_involved;
      g.resolved += r.bot_resolved;
      g.reopened += r.reopened;
      g.unchanged += r.drafts_unchanged;
      g.edited += r.drafts_edited;
      g.rejected += r.drafts_rejected;
    });
    return out;
  }

  function renderAnalytics(data) {
    var t = data.totals, charts = window.SupportCharts;
    var k = $("kpis");
    clear(k);
    var escalated = Object.keys(t.escalated).reduce(function (a, r) { return a + t.escalated[r]; }, 0);
    var reviewed = t.drafts_unchanged + t.drafts_edited + t.drafts_rejected, hours = data.window_hours;
    k.appendChild(kpi("Conversations", String(t.conversations), "conversations",
      t.conversations_to_people + " reached a person \u00b7 " + t.customer_turns + " customer messages",
      "Conversations whose first message falls in the period; the chart below counts the same ones."));
    k.appendChild(kpi("Answered by the bot", String(t.answered_by_bot), "messages",
      escalated + " messages escalated or drafted",
      "Customer messages the bot answered from the help centre (built-in replies such as greetings not counted)."));
    k.appendChild(kpi("Automation rate", pct(t.automation_rate), "of conversations",
      pct(t.involvement_rate) + " involvement \u00d7 " + pct(t.resolution_rate) + " resolution",
      "Share of all conversations the bot resolved: the share it answered in (involvement) times the share of " +
      "those it resolved (resolution)."));
    k.appendChild(kpi("Bot resolution", pct(t.resolution_rate), "of bot-answered conversations",
      t.bot_resolved + " resolved \u00b7 " + t.bot_resolved_confirmed + " confirmed by the customer",
      "Of the conversations the bot answered in, the share it resolved: the customer confirmed it, or did not " +
      "come back or need a person within " + hours + " hours."));
    k.appendChild(kpi("Reopen rate", pct(t.reopen_rate), "of bot-answered conversations",
      t.reopened + " came back for a person",
      "Of the conversations the bot answered in, the share where the customer came back and needed a person."));
    k.appendChild(kpi("First human reply", secs(t.first_human_reply_median_s), "median",
      "p90 " + secs(t.first_human_reply_p90_s),
      "Time from a handoff to the first reply from a person: the median, and the time 90% of handoffs beat."));
    k.appendChild(kpi("CSAT", t.csat_average == null ? "\u2013" : t.csat_average.toFixed(1), "of 5",
      t.csat_responses + " ratings", "Average customer rating, 1 to 5, once per conversation and handoff."));
    k.appendChild(kpi("Handoffs avoided", String(t.handoffs_avoided), "messages",
      t.asked_for_person_after_built_in + " conversations asked for a person anyway",
      "Greetings, thanks and off-topic messages answered with a built-in reply instead of a handoff."));
    k.appendChild(kpi("Drafts reviewed", String(reviewed), "drafts",
      t.drafts_unchanged + " unchanged \u00b7 " + t.drafts_edited + " edited \u00b7 " + t.drafts_rejected + " rejected",
      "Bot drafts an agent approved as they were, edited before sending, or rejected."));

    var byDay = group(data.rows, "day"), days = Object.keys(byDay).sort();
    charts.stacked($("chart-days"), days, [{ label: "Bot alone (no person asked for)", color: "#6366f1" },
      { label: "Reached a person", color: "#f59e0b" }],
      days.map(function (d) { return [byDay[d].conversations - byDay[d].toPeople, byDay[d].toPeople]; }),
      { title: "Conversations per day, by whether a person was asked for", unit: "conversations",
        short: function (d) { return d.slice(5); } });

    var byCat = group(data.rows, "category"), cats = Object.keys(byCat).sort();
    charts.horizontal($("chart-categories"), cats.map(categoryName), [{ label: "Automation (of all its conversations)", color: "#6366f1" },
      { label: "Resolution (of bot-answered ones)", color: "#10b981" },
      { label: "Reopen (of bot-answered ones)", color: "#ef4444" }],
      cats.map(function (c) {
        var g = byCat[c], inv = g.conversations ? g.involved / g.conversations : 0, res = g.involved ? g.resolved / g.involved : 0;
        return [inv * res, res, g.involved ? g.reopened / g.involved : 0];
      }), { percent: true, title: "Automation, resolution and reopen rate by category",
            caption: "Percentages of the category's conversations, as in the figures above." });

    var reasons = Object.keys(t.escalated).sort(function (a, b) { return t.escalated[b] - t.escalated[a]; });
    charts.horizontal($("chart-reasons"), reasons.map(function (r) { return REASONS[r] || r; }),
      [{ label: "Messages escalated or drafted", color: "#f59e0b" }], reasons.map(function (r) { return [t.escalated[r]]; }),
      { title: "Escalations by reason", emptyText: "No escalations in this period.", legend: true,
        caption: "Customer messages handed to a person, by why (a conversation may have more than one)." });

    var draftCats = cats.filter(function (c) { return byCat[c].unchanged + byCat[c].edited + byCat[c].rejected > 0; });
    charts.horizontal($("chart-drafts"), draftCats.map(categoryName), [{ label: "Approved unchanged", color: "#10b981" },
      { label: "Edited", color: "#6366f1" }, { label: "Rejected", color: "#ef4444" }],
      draftCats.map(function (c) { return [byCat[c].unchanged, byCat[c].edited, byCat[c].rejected]; }),
      { title: "Draft reviews", emptyText: "No drafts reviewed in this period.",
        caption: "Drafts per category, by what the reviewing agent did." });

    table($("rows"), ["Day", "Category", "Channel", "Phase", "Conversations", "Bot answers (messages)",
      "Escalated (messages)", "Drafts unchanged / edited / rejected", "First human reply, median", "p90",
      "CSAT (of 5)", "Automation", "Resolution", "Reopen"], data.rows.map(function (r) {
      var esc = Object.keys(r.escalated).map(function (k) { return (REASONS[k] || k) + " " + r.escalated[k]; }).join(", ");
      return [r.day, categoryName(r.category), r.channel, r.phase, r.conversations, r.answered_by_bot, esc || "\u2013",
        r.drafts_unchanged + " / " + r.drafts_edited + " / " + r.drafts_rejected, secs(r.first_human_reply_median_s),
        secs(r.first_human_reply_p90_s), r.csat_average == null ? "\u2013" : r.csat_average, pct(r.automation_rate),
        pct(r.resolution_rate), pct(r.reopen_rate)];
    }), "No conversations in this period yet.");

    table($("phase-report"), ["Category", "Phase", "Recommendation", "Proven confidence floor", "Reviews",
      "Evidence"], data.phase_report.map(function (e) {
      return [e.category, e.phase, { text: e.recommendation, cls: "rec " + e.recommendation.split(" ")[0] },
        ceilingFloor(e.ceiling), ceilingReviews(e.ceiling), e.evidence];
    }), "No categories yet.");
    var cl = data.ceiling;
    $("ceiling-status").textContent = "A proven floor keeps false answers (drafts rejected or substantially " +
      "edited, answers the customer said did not help) at or under " + pct(cl.alpha) + ", with " + pct(1 - cl.delta) +
      " confidence. " + (cl.applies ? "Each category answers alone only at or above its proven floor (and its own " +
      "threshold), as `supportbot report phases` last stored them."
        : "Not applied: set SUPPORTBOT_CEILING_APPLY=true to raise each category's threshold to its floor.");
    var c = data.confidence;
    $("confidence-status").textContent = c.calibrated
      ? "Confidence is calibrated on " + c.samples + " reviewed turns (" + c.accepted + " accepted): a turn's " +
        "confidence is the chance an agent would send its answer unchanged. The bot answers alone above " +
        c.min_confidence + "."
      : "Confidence is not calibrated yet: it ranks answers but is not a probability. After 20 or more reviewed " +
        "drafts, run `supportbot train confidence` and restart. The bot answers alone above " + c.min_confidence + ".";
  }

  function ceilingFloor(c) {  // the floor and what it proves, or why there is none yet
    if (c.floor == null) return "none yet";
    return c.floor.toFixed(2) + " \u00b7 answers " + pct(c.answered_share) + ", false \u2264 " +
      (c.upper_bound * 100).toFixed(1) + "%";
  }

  function ceilingReviews(c) {
    if (c.floor != null) return String(c.reviewed);
    return c.reviewed + (c.more_reviews_needed == null ? " \u00b7 too many false answers to prove a floor"
      : " \u00b7 about " + c.more_reviews_needed + " more needed");
  }

  function table(target, headers, rows, emptyText) {
    clear(target);
    if (!rows.length) { target.appendChild(el("p", { class: "empty" }, emptyText)); return; }
    var tbl = el("table"), head = el("tr");
    headers.forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
    tbl.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      r.forEach(function (cell) {
        if (cell instanceof Node) { var td = el("td"); td.appendChild(cell); tr.appendChild(td); }
        else if (cell && typeof cell === "object") tr.appendChild(el("td", { class: cell.cls }, cell.text));
        else tr.appendChild(el("td", { class: typeof cell === "number" ? "num" : "" }, String(cell)));
      });
      body.appendChild(tr);
    });
    tbl.appendChild(body);
    target.appendChild(tbl);
  }

  /* ---------- admin ---------- */

  function adminError(text, ok) {
    $("admin-error").textContent = text;
    $("admin-error").className = ok ? "ok" : "error";
    $("admin-error").hidden = !text;
  }

  function loadAdmin() {
    adminError("");
    return Promise.all([api("GET", "/api/agent/admin/agents"), api("GET", "/api/agent/admin/phases")])
      .then(function (results) { renderAgents(results[0]); renderPhases(results[1]); return loadCanned(); })
      .catch(function (error) { adminError(error.message); });
  }

  function profileForm(a) {  // what customers see of this agent, changed in place
    var form = el("form", { class: "profile", "aria-label": "Profile of " + a.username });
    var name = el("input", { value: a.display_name || "", maxlength: "64", placeholder: "no display name",
      "aria-label": "Display name of " + a.username });
    var avatar = el("input", { type: "url", value: a.avatar_url || "", maxlength: "500", placeholder: "avatar URL",
      "aria-label": "Avatar URL of " + a.username });
    form.appendChild(name);
    form.appendChild(avatar);
    form.appendChild(el("button", { type: "submit" }, "Save"));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("PUT", "/api/agent/admin/agents/" + encodeURIComponent(a.username) + "/profile",
          { display_name: name.value.trim(), avatar_url: avatar.value.trim() })
        .then(function () {
          var shown = name.value.trim() || "\u201ca member of our support team\u201d";
          adminError("Customers now see " + shown + ".", true);
          loadAgents();
        })
        .catch(function (error) { adminError(error.message); });
    });
    return form;
  }

  function renderAgents(agents) {
    table($("agents"), ["Username", "Shown to customers", "Role", ""], agents.map(function (a) {
      var remove = a.username === me.username ? el("span", { class: "meta" }, "you")
        : button("Remove", "danger", function () {
          api("POST", "/api/agent/admin/agents/" + encodeURIComponent(a.username) + "/remove")
            .then(function () { adminError(a.username + " removed.", true); loadAdmin(); loadAgents(); })
            .catch(function (error) { adminError(error.message); });
        }, { "aria-label": "Remove " + a.username });
      return [a.username, profileForm(a), a.role, remove];
    }), "No accounts.");
  }

  function renderPhases(phases) {
    table($("phases"), ["Category", "Team", "SLA", "Phase"], phases.map(function (p) {
      var select = el("select", { "aria-label": "Phase of " + p.category });
      Object.keys(PHASES).forEach(function (v) { select.appendChild(el("option", { value: v }, PHASES[v])); });
      select.value = p.phase;
      select.addEventListener("change", function () {
        api("POST", "/api/agent/admin/phases/" + encodeURIComponent(p.category), { phase: select.value })
          .then(function () { adminError(p.category + " is now in the " + select.value + " phase.", true); })
          .catch(function (error) { adminError(error.message); select.value = p.phase; });
      });
      return [p.category, p.queue, p.sla_seconds ? duration(p.sla_seconds) : "\u2013", select];
    }), "No categories.");
  }

  $("add-agent").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { username: $("new-username").value.trim(), display_name: $("new-display").value.trim(),
      avatar_url: $("new-avatar").value.trim(), password: $("new-password").value, role: $("new-role").value };
    api("POST", "/api/agent/admin/agents", body).then(function () {
      adminError(body.username + " can now sign in.", true);
      $("add-agent").reset();
      loadAdmin();
      loadAgents();
    }).catch(function (error) { adminError(error.message); });
  });

  /* ---------- live events: refetch what changed; reconnect with backoff + jitter ---------- */

  var socket = null, attempts = 0, reconnectTimer = null;

  function connect() {
    if (!me || socket) return;
    clearTimeout(reconnectTimer);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/api/agent/live");  // the session cookie authenticates
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
      var mine = currentId && (event.conversation_id === currentId ||
        (current && current.handoff && event.handoff_id === current.handoff.id));
      if (event.type === "typing") { if (mine && event.role === "customer") customerTyping(); return; }
      var queued = loadQueue();
      if (event.type === "handoff" && !alerted[event.handoff_id]) {  // a redelivered job announces it again
        alerted[event.handoff_id] = true;
        queued.then(function () { alertNewHandoff(event.handoff_id); });
      }
      if (list === "all") loadAll();
      if (mine) {
        if (event.type === "customer_message") $("typing").textContent = "";
        openConversation(currentId);
      }
    };
    ws.onclose = function (event) {
      if (socket === ws) socket = null;
      setLive(false);
      if (event.code === 4401) {
        api("GET", "/api/agent/session").then(function (s) {
          if (!s.signed_in) signedOut("Your session has ended. Please sign in again.");
        }).catch(function () {});
        return;
      }
      if (!me) return;
      var delay = Math.min(15000, 1000 * Math.pow(2, attempts++));
      reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }

  function reconnectNow() { if (me && !socket) { attempts = 0; connect(); } }
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) reconnectNow(); });

  function setLive(on) {
    $("live").textContent = on ? "Live" : (me ? "Reconnecting\u2026" : "Offline");
    $("live").className = on ? "pill live" : "pill";
  }

  api("GET", "/api/agent/session").then(function (s) { if (s.signed_in) start(s.account); else showLogin(""); })
    .catch(function () { showLogin(""); });
})();
