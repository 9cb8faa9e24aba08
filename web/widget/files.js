/* Files picked for the next message: checked against the embed's size limit, shown in a tray until sent. */

import { MAX_FILES, config } from "./config.js";
import { el, ui } from "./dom.js";
import { isPreviewed, localPreview, showError, sizeText } from "./render.js";
import { state } from "./state.js";

export function showTray() {
  const tray = ui.tray;
  while (tray.firstChild) tray.removeChild(tray.firstChild);
  tray.hidden = !state.chosen.length;
  state.chosen.forEach((file, index) => {
    const chip = el("div", { class: "chip" });
    chip.appendChild(localPreview(file));
    if (isPreviewed(file)) chip.appendChild(el("span", {}, file.name));
    const remove = el("button", { type: "button", "aria-label": "Remove " + file.name }, "\u00d7");
    remove.addEventListener("click", () => { state.chosen.splice(index, 1); showTray(); ui.input.focus(); });
    chip.appendChild(remove);
    tray.appendChild(chip);
  });
}

export function choose(files) {
  showError("");
  Array.prototype.forEach.call(files, (file) => {
    if (file.size > config.maxFileBytes) {
      showError("\u201c" + file.name + "\u201d is larger than " + sizeText(config.maxFileBytes) + " and can't be sent.");
    } else if (!file.size) {
      showError("\u201c" + file.name + "\u201d is empty.");
    } else if (state.chosen.length >= MAX_FILES) {
      showError("At most " + MAX_FILES + " files in one message.");
    } else {
      state.chosen.push(file);
    }
  });
  showTray();
}
