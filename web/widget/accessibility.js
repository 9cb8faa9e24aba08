/* Opening and closing the panel the way keyboard and screen reader users expect: focus moves in and back
 * to the launcher, Escape closes, and at phone width the full-screen panel is a modal that keeps the focus. */

import { ui } from "./dom.js";
import { scrollDown, showGreeting } from "./render.js";
import { rememberOpen, state } from "./state.js";
import { connect, refresh } from "./transport.js";

// At phone width the panel covers the page: it is then a modal dialog, and Tab stays inside it.
const phone = window.matchMedia ? window.matchMedia("(max-width:480px)") : { matches: false };

export function open(options) {
  ui.panel.hidden = false;
  ui.panel.setAttribute("aria-modal", String(!!phone.matches));
  ui.launcher.hidden = true;
  ui.launcher.setAttribute("aria-expanded", "true");
  ui.badge.hidden = true;
  ui.announcer.textContent = "";
  rememberOpen(true);
  showGreeting();
  if (!state.started && state.session) { state.started = true; refresh().then(connect); }
  scrollDown();
  if (!options || options.focus !== false) ui.input.focus();
}

export function close() {
  ui.panel.hidden = true;
  ui.launcher.hidden = false;
  ui.launcher.setAttribute("aria-expanded", "false");
  rememberOpen(false);
  ui.launcher.focus();
}

function focusable() {
  return Array.prototype.filter.call(ui.panel.querySelectorAll("button, a[href], textarea, [tabindex='0']"),
    (n) => !n.disabled && n.getClientRects().length > 0);
}

export function wirePanel() {
  // Focus that lands on the page under a full-screen panel (a click, a screen reader's jump) comes back.
  document.addEventListener("focusin", (event) => {
    if (!ui.panel.hidden && phone.matches && event.target !== ui.host) {
      const items = focusable();
      if (items[0]) items[0].focus();
    }
  });
  ui.launcher.addEventListener("click", () => open());
  ui.closeButton.addEventListener("click", close);
  ui.panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    if (event.key !== "Tab" || !phone.matches) return;
    const items = focusable(), first = items[0], last = items[items.length - 1];
    const current = ui.root.activeElement;
    if (event.shiftKey && current === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && current === last) { event.preventDefault(); first.focus(); }
  });
}
