/* A model's answer as it is written. Each sentence arrives only once the server has checked it against the
 * help centre's pages, and joins a provisional bubble; the stored reply takes the bubble's place. A sentence
 * that fails the check takes the whole answer back: the bubble gives way to a plain line that says so. */

import { el, ui } from "./dom.js";
import { bubble, scrollDown, showIndicator } from "./render.js";

const streams = {};  // the question's id -> {node, next}: the provisional bubble and the next sentence's index

export function streamSentence(event) {
  let stream = streams[event.stream];
  if (!stream) {
    const node = bubble({ role: "bot", text: "", citations: [] });
    node.classList.add("streaming");
    node.setAttribute("aria-busy", "true");  // read out once, as the stored reply, not sentence by sentence
    ui.log.appendChild(node);
    stream = streams[event.stream] = { node, next: 0 };
  }
  if (event.index !== stream.next) return;  // sent again after a reconnect: already shown
  const text = stream.node.querySelector(".text");
  text.textContent += (stream.next ? " " : "") + String(event.text);
  stream.next += 1;
  showIndicator("");
  scrollDown();
}

export function streamWithdrawn(event) {
  const stream = streams[event.stream];
  if (!stream) return;  // nothing was shown
  delete streams[event.stream];
  stream.node.replaceWith(el("div", { class: "msg system withdrawn", role: "status" }, String(event.text)));
  scrollDown();
}

/** The stored reply arrived: the provisional bubbles go. True when there was one, so the reply, read already
 * as it was written, is not revealed a second time. */
export function settleStreams() {
  let streamed = false;
  for (const id in streams) {
    streams[id].node.remove();
    delete streams[id];
    streamed = true;
  }
  return streamed;
}
