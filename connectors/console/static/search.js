/* Searching conversations on the server, a page at a time, further back on request. */

import { api } from "./api.js";
import { $, clear } from "./dom.js";
import { conversationItem, showList } from "./queue.js";
import { state } from "./state.js";

function searchPage(q, cursor) {
  const query = "?q=" + encodeURIComponent(q) + "&cursor=" + cursor;
  return api("GET", "/api/agent/search" + query).then((page) => {
    const searching = state.searching;
    if (!searching || searching.q !== q) return;
    const ul = $("search-results");
    if (!cursor) clear(ul);
    page.results.forEach((c) => {
      if (ul.querySelector("[data-conversation='" + c.id + "']")) return;  // shifted by newer conversations
      ul.appendChild(conversationItem(c, c.match ? c.match.text : (c.customer || c.id)));
    });
    searching.next = page.next;
    const count = ul.children.length;
    $("search-title").textContent = count ? count + (count === 1 ? " conversation" : " conversations") +
      " with \u201c" + q + "\u201d" + (page.next != null ? " so far" : "") : "Nothing found for \u201c" + q + "\u201d" +
      (page.next != null ? " yet" : "");
    $("search-more").hidden = page.next == null;
  }).catch((error) => { $("search-title").textContent = error.message; });
}

function endSearch() {
  state.searching = null;
  $("search").value = "";
  $("search-panel").hidden = true;
  showList(state.list);
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = $("search").value.trim();
  if (!q) { endSearch(); return; }
  state.searching = { q, next: null };
  $("search-panel").hidden = false;
  $("queue-panel").hidden = $("all-panel").hidden = true;
  $("search-title").textContent = "Searching\u2026";
  searchPage(q, 0);
});
$("search-more").addEventListener("click", () => {
  const searching = state.searching;
  if (searching && searching.next != null) searchPage(searching.q, searching.next);
});
$("search-clear").addEventListener("click", endSearch);
