/* Analytics: the period's figures (each with its definition), charts by day, category, reason and draft
 * review, the table behind them, and the phase recommendations with each category's proven floor. */

import { api } from "./api.js";
import { horizontal, stacked } from "./charts.js";
import { $, clear, el, table } from "./dom.js";
import { REASONS, categoryName, pct, secs } from "./format.js";

export function loadAnalytics() {
  let days = $("days").value, windowHours = $("window").value || 72;
  let query = "?days=" + encodeURIComponent(days) + "&window_hours=" + encodeURIComponent(windowHours);
  $("csv").href = "/api/agent/analytics.csv" + query;
  return api("GET", "/api/agent/analytics" + query).then(renderAnalytics).catch(() => {});
}

/* A figure with its unit beside the value, a detail line, and its definition on hover (and for screen readers). */
function kpi(label, value, unit, hint, definition) {
  let box = el("div", { class: "kpi", title: definition });
  box.appendChild(el("div", { class: "label" }, label));
  let shown = el("div", { class: "value" }, value);
  if (unit) shown.appendChild(el("span", { class: "unit" }, " " + unit));
  box.appendChild(shown);
  if (hint) box.appendChild(el("div", { class: "hint" }, hint));
  box.appendChild(el("div", { class: "sr-only" }, definition));
  return box;
}

function group(rows, key) {
  let out = {};
  rows.forEach((r) => {
    let g = out[r[key]] = out[r[key]] || { conversations: 0, toPeople: 0, answered: 0, escalated: 0, involved: 0,
      resolved: 0, reopened: 0, unchanged: 0, edited: 0, rejected: 0 };
    g.conversations += r.conversations;
    g.toPeople += r.conversations_to_people;
    g.answered += r.answered_by_bot;
    for (let k in r.escalated) g.escalated += r.escalated[k];
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
  let t = data.totals;
  let k = $("kpis");
  clear(k);
  let escalated = Object.keys(t.escalated).reduce((a, r) => { return a + t.escalated[r]; }, 0);
  let reviewed = t.drafts_unchanged + t.drafts_edited + t.drafts_rejected, hours = data.window_hours;
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
  if (data.model_budget) k.appendChild(modelKpi(t, data.model_budget));

  let byDay = group(data.rows, "day"), days = Object.keys(byDay).sort();
  stacked($("chart-days"), days, [{ label: "Bot alone (no person asked for)", color: "#6366f1" },
    { label: "Reached a person", color: "#f59e0b" }],
    days.map((d) => { return [byDay[d].conversations - byDay[d].toPeople, byDay[d].toPeople]; }),
    { title: "Conversations per day, by whether a person was asked for", unit: "conversations",
      short: (d) => { return d.slice(5); } });

  let byCat = group(data.rows, "category"), cats = Object.keys(byCat).sort();
  horizontal($("chart-categories"), cats.map(categoryName), [{ label: "Automation (of all its conversations)", color: "#6366f1" },
    { label: "Resolution (of bot-answered ones)", color: "#10b981" },
    { label: "Reopen (of bot-answered ones)", color: "#ef4444" }],
    cats.map((c) => {
      let g = byCat[c], inv = g.conversations ? g.involved / g.conversations : 0, res = g.involved ? g.resolved / g.involved : 0;
      return [inv * res, res, g.involved ? g.reopened / g.involved : 0];
    }), { percent: true, title: "Automation, resolution and reopen rate by category",
          caption: "Percentages of the category's conversations, as in the figures above." });

  let reasons = Object.keys(t.escalated).sort((a, b) => { return t.escalated[b] - t.escalated[a]; });
  horizontal($("chart-reasons"), reasons.map((r) => { return REASONS[r] || r; }),
    [{ label: "Messages escalated or drafted", color: "#f59e0b" }], reasons.map((r) => { return [t.escalated[r]]; }),
    { title: "Escalations by reason", emptyText: "No escalations in this period.", legend: true,
      caption: "Customer messages handed to a person, by why (a conversation may have more than one)." });

  let draftCats = cats.filter((c) => { return byCat[c].unchanged + byCat[c].edited + byCat[c].rejected > 0; });
  horizontal($("chart-drafts"), draftCats.map(categoryName), [{ label: "Approved unchanged", color: "#10b981" },
    { label: "Edited", color: "#6366f1" }, { label: "Rejected", color: "#ef4444" }],
    draftCats.map((c) => { return [byCat[c].unchanged, byCat[c].edited, byCat[c].rejected]; }),
    { title: "Draft reviews", emptyText: "No drafts reviewed in this period.",
      caption: "Drafts per category, by what the reviewing agent did." });

  table($("rows"), ["Day", "Category", "Channel", "Phase", "Conversations", "Bot answers (messages)",
    "Escalated (messages)", "Drafts unchanged / edited / rejected", "First human reply, median", "p90",
    "CSAT (of 5)", "Automation", "Resolution", "Reopen"], data.rows.map((r) => {
    let esc = Object.keys(r.escalated).map((k) => { return (REASONS[k] || k) + " " + r.escalated[k]; }).join(", ");
    return [r.day, categoryName(r.category), r.channel, r.phase, r.conversations, r.answered_by_bot, esc || "\u2013",
      r.drafts_unchanged + " / " + r.drafts_edited + " / " + r.drafts_rejected, secs(r.first_human_reply_median_s),
      secs(r.first_human_reply_p90_s), r.csat_average == null ? "\u2013" : r.csat_average, pct(r.automation_rate),
      pct(r.resolution_rate), pct(r.reopen_rate)];
  }), "No conversations in this period yet.");

  table($("phase-report"), ["Category", "Phase", "Recommendation", "Proven confidence floor", "Reviews",
    "Evidence"], data.phase_report.map((e) => {
    return [e.category, e.phase, { text: e.recommendation, cls: "rec " + e.recommendation.split(" ")[0] },
      ceilingFloor(e.ceiling), ceilingReviews(e.ceiling), e.evidence];
  }), "No categories yet.");
  let cl = data.ceiling;
  $("ceiling-status").textContent = "A proven floor keeps false answers (drafts rejected or substantially " +
    "edited, answers the customer said did not help) at or under " + pct(cl.alpha) + ", with " + pct(1 - cl.delta) +
    " confidence. " + (cl.applies ? "Each category answers alone only at or above its proven floor (and its own " +
    "threshold), as `supportbot report phases` last stored them."
      : "Not applied: set SUPPORTBOT_CEILING_APPLY=true to raise each category's threshold to its floor.");
  let c = data.confidence;
  $("confidence-status").textContent = c.calibrated
    ? "Confidence is calibrated on " + c.samples + " reviewed turns (" + c.accepted + " accepted): a turn's " +
      "confidence is the chance an agent would send its answer unchanged. The bot answers alone above " +
      c.min_confidence + "."
    : "Confidence is not calibrated yet: it ranks answers but is not a probability. After 20 or more reviewed " +
      "drafts, run `supportbot train confidence` and restart. The bot answers alone above " + c.min_confidence + ".";
}

/* What language models cost in the period, and whether this month's budget is spent (then they only draft). */
function modelKpi(t, budget) {
  let month = budget.monthly_budget == null ? budget.spent.toFixed(2) + " this month, no budget"
    : budget.spent.toFixed(2) + " of " + budget.monthly_budget.toFixed(2) + " this month";
  let box = kpi("Language models", t.model_cost.toFixed(2), "cost",
    t.model_turns + " answers written · " + (t.model_input_tokens + t.model_output_tokens) + " tokens · " +
    month, "What model calls cost in the period at the configured prices, the answers models wrote, and the " +
    "tokens they read and wrote.");
  if (budget.drafts_only) {
    box.appendChild(el("div", { class: "hint", role: "status" },
      "Monthly budget spent: models write drafts for agents only until the month ends."));
  }
  return box;
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

$("analytics-form").addEventListener("submit", (event) => { event.preventDefault(); loadAnalytics(); });
