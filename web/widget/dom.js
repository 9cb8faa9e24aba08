/* The widget's elements, built once into a shadow root. Text goes in with textContent, never as HTML. */

import { config } from "./config.js";
import { css } from "./styles.js";

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
  if (text != null) node.textContent = text;
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

/** An inline SVG icon: drawn the same everywhere, where an emoji needs an emoji font the device may lack. */
export function icon(paths, className) {
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

const CHAT_ICON = ["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"];
const PAPERCLIP_ICON = ["M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19" +
  "a2 2 0 0 1-2.83-2.83l8.49-8.48"];
export const FILE_ICON = ["M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z", "M14 2v6h6"];

/** Every element other modules reach for, filled by build(). */
export const ui = {};

export function build() {
  const host = el("div", { id: "supportbot-widget" });
  const root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, css(config)));

  // No aria-label: the accessible name starts with the words on the button ("Chat with us"), as speech
  // control users say them.
  const launcher = el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog",
    "aria-expanded": "false", "aria-controls": "sb-panel" });
  launcher.appendChild(icon(CHAT_ICON));
  launcher.appendChild(el("span", {}, "Chat with us"));
  launcher.appendChild(el("span", { class: "sr-only" }, " (" + config.title + ")"));
  const badge = el("span", { class: "badge", hidden: "" }, "New");
  launcher.appendChild(badge);
  // A reply that arrives while the panel is closed is read out from here; the badge alone is visual.
  const announcer = el("div", { class: "sr-only", role: "status" });

  const panel = el("section", { class: "panel", id: "sb-panel", role: "dialog", "aria-label": config.title,
    hidden: "" });
  const header = el("header");
  const heading = el("div", { style: "flex:1" });
  heading.appendChild(el("h2", {}, config.title));
  heading.appendChild(el("p", {}, "Answers from our help centre, or a person from our team"));
  const closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "\u00d7");
  header.appendChild(heading);
  header.appendChild(closeButton);

  const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation",
    tabindex: "0" });
  const indicator = el("div", { class: "indicator", "aria-live": "polite", hidden: "" });
  const errorLine = el("p", { class: "error", role: "alert", hidden: "" });

  const form = el("form", { "aria-label": "Send a message" });
  const label = el("label", { for: "sb-input", class: "sr-only" }, "Your message");
  const input = el("textarea", { id: "sb-input", rows: "1", placeholder: "Type your question\u2026",
    autocomplete: "off" });
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

  Object.assign(ui, { host, root, launcher, badge, announcer, panel, closeButton, log, indicator, errorLine,
    form, input, attachButton, picker, tray, humanButton, connection });
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
}

function mount() { document.body.appendChild(ui.host); }
