/* A desktop notification and a chime for a new handoff, each switched on by the agent in this browser. */

import { $ } from "./dom.js";
import { REASONS } from "./format.js";
import { choose } from "./queue.js";
import { show } from "./session.js";
import { state } from "./state.js";

const SOUND_KEY = "supportbot:console:sound";
let audio = null;

export function showAlertSettings() {
  const supported = "Notification" in window;
  const on = supported && Notification.permission === "granted";
  $("notify").hidden = !supported;
  $("notify").setAttribute("aria-pressed", String(on));
  const permission = supported ? Notification.permission : "denied";
  $("notify").textContent = on ? "Desktop alerts on" : permission === "denied"
    ? "Desktop alerts blocked by the browser" : "Turn on desktop alerts";
  $("notify").disabled = permission !== "default";
  $("sound").checked = localStorage.getItem(SOUND_KEY) === "1";
}

function chime() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  audio = audio || new Context();
  [[660, 0], [880, 0.16]].forEach(([frequency, delay]) => {
    const osc = audio.createOscillator(), gain = audio.createGain(), at = audio.currentTime + delay;
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.15, at);
    gain.gain.exponentialRampToValueAtTime(0.001, at + 0.15);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.16);
  });
}

export function alertNewHandoff(handoffId) {
  const h = state.handoffs.filter((x) => x.id === handoffId)[0];
  if (!h) return;
  if (localStorage.getItem(SOUND_KEY) === "1") chime();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const note = new Notification("Waiting for a person: " + h.category, {
    body: (h.latest ? h.latest.text : h.question) || REASONS[h.reason] || "", tag: h.id });
  note.onclick = () => { window.focus(); show("inbox"); choose(h.conversation_id); note.close(); };
}

$("notify").addEventListener("click", () => {
  Promise.resolve(Notification.requestPermission()).then(showAlertSettings, showAlertSettings);
});
$("sound").addEventListener("change", () => {
  if ($("sound").checked) { localStorage.setItem(SOUND_KEY, "1"); chime(); }  // a sample, and unlocks audio
  else localStorage.removeItem(SOUND_KEY);
});
