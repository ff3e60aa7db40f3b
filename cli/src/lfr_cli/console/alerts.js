// The live alert queue: the list from REST, then Server-Sent Events; decisions by the people entitled.

import { api, el, imageUrl, session, when } from "./api.js";

const MEDIA_ROLES = new Set(["operator", "engagement_officer"]);
const QUEUE_STATUSES = {
  operator: ["pending", "in_review"],
  engagement_officer: ["engaged"],
};
const DEFAULT_QUEUE = ["pending", "in_review", "engaged"];
const DISMISS_REASONS = [
  ["not_the_person", "Not the person"],
  ["poor_image", "Poor image"],
  ["duplicate", "Duplicate"],
  ["other", "Other (say why)"],
];
const OUTCOMES = [
  ["confirmed_match", "Confirmed match"],
  ["not_the_person", "Not the person (false alert)"],
  ["not_located", "Not located"],
];
const ACTIONS = [
  ["none", "None"],
  ["arrest", "Arrest"],
  ["safeguarding", "Safeguarding"],
  ["words_of_advice", "Words of advice"],
  ["other", "Other (describe)"],
];
const STATUS_TEXT = {
  pending: "Awaiting review",
  in_review: "In review",
  dismissed: "Dismissed",
  engaged: "Engagement officer dispatched",
  outcome_recorded: "Outcome recorded",
  not_reviewed: "Not reviewed in time",
  suppressed: "Suppressed",
};

const alerts = new Map(); // alert_id -> view
const objectUrls = new Map(); // alert_id -> [blob URLs]
let source = null;

function queueStatuses(role) {
  return QUEUE_STATUSES[role] || DEFAULT_QUEUE;
}

function select(id, label, options) {
  return [
    el("label", { for: id }, label),
    el("select", { id, name: id.split("-")[0] }, options.map(([value, text]) => el("option", { value }, text))),
  ];
}

function facts(view) {
  const rows = [
    ["Status", STATUS_TEXT[view.status] || view.status],
    ["Score", `${view.score.toFixed(3)} (threshold ${view.threshold.toFixed(2)})`],
    ["Camera", view.camera_id],
    ["Captured", when(view.captured_at)],
    ["Deployment", view.deployment_id],
    ["Watchlist entry", view.entry_id],
    ["Track", view.track_id],
  ];
  if (view.outcome) rows.push(["Outcome", view.outcome.replaceAll("_", " ")]);
  return rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]);
}

function history(view) {
  return view.history.map((step) =>
    el("li", {}, `${when(step.at)} ${step.event_type} by ${step.actor} (${step.role})` +
      (step.reason ? `: ${step.reason}` : "") + (step.outcome ? `: ${step.outcome}` : "") +
      (step.decision_seconds !== undefined ? ` after ${step.decision_seconds}s` : "")),
  );
}

async function decide(view, verb, body) {
  const card = document.querySelector(`[data-alert-id="${view.alert_id}"]`);
  const error = card && card.querySelector(".error");
  try {
    upsert(await api(`/api/v1/alerts/${view.alert_id}/${verb}`, { method: "POST", body }));
  } catch (problem) {
    if (error) error.textContent = problem.message;
  }
}

function operatorActions(view) {
  if (view.status === "pending") {
    return [el("button", { type: "button", onclick: () => decide(view, "review") }, "Review")];
  }
  if (view.status !== "in_review") return [];
  const id = view.alert_id.slice(0, 8);
  const dismissForm = el(
    "form",
    {
      "aria-label": "Dismiss",
      onsubmit: (event) => {
        event.preventDefault();
        const form = new FormData(event.target);
        decide(view, "dismiss", { reason: form.get("reason"), note: form.get("note") || "" });
      },
    },
    ...select(`reason-${id}`, "Dismissal reason", DISMISS_REASONS),
    el("label", { for: `note-${id}` }, "Note"),
    el("input", { id: `note-${id}`, name: "note", maxlength: "2000" }),
    el("button", { type: "submit", class: "secondary" }, "Dismiss"),
  );
  const engage = el("button", { type: "button", class: "danger", onclick: () => decide(view, "engage", { note: "" }) },
    "Engage: dispatch an officer");
  return [engage, dismissForm];
}

function officerActions(view) {
  if (view.status !== "engaged") return [];
  const id = view.alert_id.slice(0, 8);
  return [
    el(
      "form",
      {
        "aria-label": "Record outcome",
        onsubmit: (event) => {
          event.preventDefault();
          const form = new FormData(event.target);
          decide(view, "outcome", {
            outcome: form.get("outcome"),
            action: form.get("action"),
            action_detail: form.get("detail") || "",
          });
        },
      },
      ...select(`outcome-${id}`, "Outcome", OUTCOMES),
      ...select(`action-${id}`, "Action taken", ACTIONS),
      el("label", { for: `detail-${id}` }, "Action detail"),
      el("input", { id: `detail-${id}`, name: "detail", maxlength: "2000" }),
      el("button", { type: "submit" }, "Record outcome"),
    ),
  ];
}

async function showImage(figure, alertId, path, label) {
  const image = figure.querySelector("img");
  try {
    const url = await imageUrl(`/api/v1/alerts/${alertId}/${path}`);
    (objectUrls.get(alertId) || objectUrls.set(alertId, []).get(alertId)).push(url);
    image.src = url;
  } catch (problem) {
    const note = el("div", { class: "unavailable", role: "img", "aria-label": `${label} unavailable`, title: problem.message },
      `${label} unavailable`, el("small", {}, problem.code === "watchlist_media_unavailable"
        ? "not yet received from the watchlists service" : problem.message.slice(0, 80)));
    image.replaceWith(note);
  }
}

function render(view) {
  const role = session.get().role;
  const card = document.getElementById("alert-card").content.firstElementChild.cloneNode(true);
  card.dataset.alertId = view.alert_id;
  card.dataset.status = view.status;
  card.setAttribute("aria-label", `Alert on ${view.camera_id} at ${when(view.captured_at)}, score ${view.score.toFixed(2)}`);
  card.querySelector(".facts").append(...facts(view));
  card.querySelector(".history").append(...history(view));
  const [live, reference] = card.querySelectorAll("figure");
  if (MEDIA_ROLES.has(role)) {
    showImage(live, view.alert_id, "crop", "Live crop");
    showImage(reference, view.alert_id, "watchlist-image", "Watchlist image");
  } else {
    card.querySelector(".faces").replaceChildren(el("p", { class: "hint" }, "Images are not shown to your role."));
  }
  const actions = role === "operator" ? operatorActions(view) : role === "engagement_officer" ? officerActions(view) : [];
  card.querySelector(".actions").append(...actions, el("p", { class: "error", role: "alert" }));
  return card;
}

function upsert(view) {
  const previous = alerts.get(view.alert_id);
  if (previous && previous.version > view.version) return;
  if (view.status === "suppressed") return; // counted, never shown as an alert
  alerts.set(view.alert_id, view);
  const existing = document.querySelector(`[data-alert-id="${view.alert_id}"]`);
  if (existing && previous && previous.version === view.version) return;
  for (const url of objectUrls.get(view.alert_id) || []) URL.revokeObjectURL(url);
  objectUrls.delete(view.alert_id);
  if (existing) existing.remove();
  const inQueue = queueStatuses(session.get().role).includes(view.status);
  const list = document.getElementById(inQueue ? "alert-queue" : "alert-recent");
  list.prepend(render(view));
  if (inQueue && !previous) {
    document.getElementById("alert-announcer").textContent =
      `New alert on camera ${view.camera_id}, score ${view.score.toFixed(2)}`;
  }
}

export async function startAlerts() {
  stopAlerts();
  const listing = await api("/api/v1/alerts", { query: { limit: 50 } });
  for (const view of listing.alerts.reverse()) upsert(view);
  const { token } = session.get();
  // EventSource cannot send an Authorization header: this endpoint alone accepts ?access_token=.
  const url = `/api/v1/alerts/stream?after=${listing.position}&access_token=${encodeURIComponent(token)}`;
  source = new EventSource(url);
  const state = document.getElementById("stream-state");
  source.onopen = () => {
    state.textContent = "live";
    state.classList.add("on");
  };
  source.onerror = () => {
    state.textContent = "reconnecting";
    state.classList.remove("on");
  };
  source.addEventListener("alert", (event) => upsert(JSON.parse(event.data).alert));
}

export function stopAlerts() {
  if (source) source.close();
  source = null;
  alerts.clear();
  for (const urls of objectUrls.values()) urls.forEach((url) => URL.revokeObjectURL(url));
  objectUrls.clear();
  document.getElementById("alert-queue").replaceChildren();
  document.getElementById("alert-recent").replaceChildren();
}
