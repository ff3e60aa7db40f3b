// Deployment status (live/halted, cameras' health, faces processed, alerts), the Silver Commander's halt
// button, and the authorising officer's Form 1 view. Each source is optional: what a service does not
// answer is shown as unavailable rather than hiding the rest.

import { api, el, session, when } from "./api.js";

const HALT_ROLES = new Set(["silver_commander", "authorising_officer"]);

function listOf(payload, key) {
  if (Array.isArray(payload)) return payload;
  if (payload && Array.isArray(payload[key])) return payload[key];
  if (payload && Array.isArray(payload.items)) return payload.items;
  return [];
}

async function optional(path, query) {
  try {
    return { value: await api(path, { query }) };
  } catch (problem) {
    return { error: problem.message };
  }
}

export function deploymentId(deployment) {
  return deployment.deployment_id || deployment.id;
}

function title(deployment) {
  const place = deployment.form && deployment.form.location && deployment.form.location.name;
  return place ? `${place} (${deploymentId(deployment)})` : deployment.name || deploymentId(deployment);
}

function statusOf(deployment, inference) {
  const raw = (deployment.status || deployment.state || "").toLowerCase();
  if (inference && inference.processing) return "live";
  if (raw.includes("halt")) return "halted";
  return raw || (inference ? inference.state : "unknown");
}

function cameraRows(cameras, id) {
  const mine = cameras.filter((camera) => camera.deployment_id === id);
  if (!mine.length) return el("p", { class: "hint" }, "No cameras attached.");
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, el("th", {}, "Camera"), el("th", {}, "Health"), el("th", {}, "Last error"))),
    el("tbody", {}, mine.map((camera) =>
      el("tr", {}, el("td", {}, camera.name || camera.id),
        el("td", {}, camera.connected ? "connected" : "not connected"),
        el("td", {}, camera.last_error_code || "")))),
  );
}

async function halt(id, reasonInput, error) {
  error.textContent = "";
  try {
    await api(`/api/v1/deployments/${id}/halt`, { method: "POST", body: { reason: reasonInput.value } });
    await showDeployments();
  } catch (problem) {
    error.textContent = problem.message;
  }
}

function deploymentCard(deployment, cameras, inference, counts, inferenceAnswered) {
  const id = deploymentId(deployment);
  const status = statusOf(deployment, inference);
  const alerts = counts || {};
  const card = el(
    "article",
    { class: "card", "aria-label": `Deployment ${id}` },
    el("h3", {}, `${title(deployment)} `, el("span", { class: `badge ${status}` }, status)),
    el("dl", { class: "facts" },
      el("dt", {}, "Deployment"), el("dd", {}, id),
      el("dt", {}, "Faces processed"), el("dd", {}, inference ? String(inference.faces_processed) : inferenceAnswered ? "0" : "unavailable"),
      el("dt", {}, "Alerts"), el("dd", {}, String(alerts.alerts ?? 0)),
      el("dt", {}, "True alerts (confirmed)"), el("dd", {}, String(alerts.confirmed_match ?? 0)),
      el("dt", {}, "False alerts (not the person)"), el("dd", {}, String((alerts.not_the_person ?? 0))),
      el("dt", {}, "Suppressed repeats"), el("dd", {}, String(alerts.suppressed ?? 0)),
    ),
    cameraRows(cameras, id),
  );
  if (HALT_ROLES.has(session.get().role) && status === "live") {
    const reason = el("input", { id: `halt-reason-${id}`, required: true, maxlength: "500" });
    const error = el("p", { class: "error", role: "alert" });
    card.append(el("form", { class: "inline", onsubmit: (event) => { event.preventDefault(); halt(id, reason, error); } },
      el("label", { for: reason.id }, "Reason for halting"), reason,
      el("button", { type: "submit", class: "danger" }, "Halt deployment now")), error);
  }
  return card;
}

export async function showDeployments() {
  const target = document.getElementById("deployments");
  const [deployments, cameras, inference, counts] = await Promise.all([
    optional("/api/v1/deployments"),
    optional("/api/v1/cameras"),
    optional("/api/v1/inference/status"),
    optional("/api/v1/alerts/counts"),
  ]);
  const notes = [];
  for (const [name, result] of [["deployments", deployments], ["cameras", cameras], ["inference", inference], ["alerts", counts]]) {
    if (result.error) notes.push(el("p", { class: "hint" }, `${name}: ${result.error}`));
  }
  const inferenceRows = new Map(listOf(inference.value, "deployments").map((row) => [row.deployment_id, row]));
  const countRows = (counts.value && counts.value.deployments) || {};
  const list = listOf(deployments.value, "deployments");
  const known = new Set(list.map(deploymentId));
  for (const id of [...inferenceRows.keys(), ...Object.keys(countRows)]) {
    if (!known.has(id)) { list.push({ deployment_id: id }); known.add(id); }
  }
  const cards = list.map((deployment) => deploymentCard(deployment, listOf(cameras.value, "cameras"),
    inferenceRows.get(deploymentId(deployment)), countRows[deploymentId(deployment)], !inference.error));
  target.replaceChildren(...notes, ...(cards.length ? cards : [el("p", {}, "No deployments yet.")]));
}

function decisionForm(id, reload) {
  const notes = el("textarea", { id: "ao-notes", rows: "2", maxlength: "4000" });
  const error = el("p", { class: "error", role: "alert" });
  const act = async (verb, body) => {
    error.textContent = "";
    try {
      await api(`/api/v1/deployments/${id}/${verb}`, { method: "POST", body });
      await reload();
    } catch (problem) {
      error.textContent = problem.message;
    }
  };
  return el("form", { class: "card", onsubmit: (event) => event.preventDefault() },
    el("label", { for: "ao-notes" }, "Your written reasons (necessity and proportionality)"), notes,
    el("button", { type: "button", onclick: () => act("authorise", { notes: notes.value }) }, "Authorise in writing"),
    " ",
    el("button", { type: "button", class: "danger", onclick: () => act("refuse", { reason: notes.value || "refused" }) },
      "Refuse"),
    error);
}

function describe(value) {
  if (value === null || value === undefined) return el("span", { class: "hint" }, "not recorded");
  if (Array.isArray(value)) return el("ul", {}, value.map((item) => el("li", {}, describe(item))));
  if (typeof value === "object") {
    return el("dl", { class: "facts" }, Object.entries(value).flatMap(([key, item]) =>
      [el("dt", {}, key.replaceAll("_", " ")), el("dd", {}, describe(item))]));
  }
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return when(value);
  return String(value);
}

export async function showForm1() {
  const picker = document.getElementById("form1-deployment");
  const target = document.getElementById("form1");
  const listing = await optional("/api/v1/deployments");
  if (listing.error) {
    target.replaceChildren(el("p", { class: "error" }, `deployments: ${listing.error}`));
    return;
  }
  const list = listOf(listing.value, "deployments");
  picker.replaceChildren(...list.map((d) => el("option", { value: deploymentId(d) }, `${title(d)}: ${d.status || ""}`)));
  const load = async () => {
    if (!picker.value) {
      target.replaceChildren(el("p", {}, "No deployments yet."));
      return;
    }
    const id = picker.value;
    const [detail, rate] = await Promise.all([
      optional(`/api/v1/deployments/${id}`),
      optional(`/api/v1/deployments/${id}/expected-false-alert-rate`),
    ]);
    if (detail.error) {
      target.replaceChildren(el("p", { class: "error" }, detail.error));
      return;
    }
    const parts = [el("h3", {}, `Status: ${detail.value.status || "unknown"}`)];
    if (rate.value) {
      const r = rate.value;
      parts.push(el("p", { class: r.within_direction ? "" : "error" },
        `Expected false alerts: ${Number(r.expected_false_alerts_per_1000).toFixed(3)} per 1,000 faces at threshold ` +
        `${r.threshold} with ${r.watchlist_size} watchlist entries (direction: at most ${r.max_false_alerts_per_1000}).`));
    } else if (rate.error) {
      parts.push(el("p", { class: "hint" }, `Expected false alert rate unavailable: ${rate.error}`));
    }
    if (session.get().role === "authorising_officer" && detail.value.status === "submitted") {
      parts.push(decisionForm(id, load));
    }
    parts.push(describe(detail.value.form || detail.value));
    if (detail.value.assessments) {
      parts.push(el("h3", {}, "Community impact assessments"), describe(detail.value.assessments));
    }
    target.replaceChildren(...parts);
  };
  picker.onchange = load;
  await load();
}
