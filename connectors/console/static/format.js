/* Words and numbers as agents read them: reasons, owners, phases, durations, times and percentages. */

export const REASONS = {
  low_confidence: "Low confidence", no_answer: "No answer found", requested: "Asked for a human",
  gated: "Category handled by people", out_of_scope: "Out of scope", draft_review: "Draft to review",
  error: "Bot error", frustrated: "Customer frustrated", action_failed: "Action failed",
};
export const OWNERS = { bot: "Bot is answering", pending_human: "Waiting for an agent", human: "Agent is answering" };
export const PHASES = { categorize: "Categorize only (people answer)", draft: "Draft (agent approves)",
  full: "Full (bot answers)" };

export function duration(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return minutes + " min";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}
export function since(ts) { return Date.now() / 1000 - ts; }
export function ago(ts) { const d = duration(since(ts)); return d === "under a minute" ? "just now" : d + " ago"; }
export function clock(ts) { return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
export function pct(v) { return v == null ? "\u2013" : Math.round(v * 100) + "%"; }
export function secs(v) {
  return v == null ? "\u2013" : duration(v) === "under a minute" ? Math.round(v) + " s" : duration(v);
}

/** The categorizer's label for "none of the categories" reads as what it means. */
export function categoryName(name) { return name === "oos" || name === "unknown" ? "out of scope" : name; }
