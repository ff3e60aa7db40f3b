// The oversight view of the audit ledger: who decided what, in which role, when. No images, ever.

import { api, el, when } from "./api.js";

function row(item) {
  const entry = item.entry || item;
  const metadata = entry.metadata || {};
  const data = entry.data || {};
  const summary = ["reason", "outcome", "action", "end_reason", "threshold", "decision_seconds"]
    .filter((key) => data[key] !== undefined && typeof data[key] !== "object")
    .map((key) => `${key.replaceAll("_", " ")}: ${data[key]}`)
    .join("; ");
  return el("tr", {},
    el("td", {}, String(item.sequence ?? "")),
    el("td", {}, when(entry.occurred_at)),
    el("td", {}, entry.event_type || ""),
    el("td", {}, metadata.actor || entry.actor || ""),
    el("td", {}, metadata.role || entry.role || ""),
    el("td", {}, data.deployment_id || ""),
    el("td", {}, entry.source_service || ""),
    el("td", {}, summary));
}

export async function showAudit(filters = {}) {
  const target = document.getElementById("audit");
  try {
    const page = await api("/api/v1/audit/entries", { query: { limit: 200, ...filters } });
    const entries = (page.entries || []).slice().reverse();
    target.replaceChildren(
      el("p", { class: "hint" }, `${entries.length} entries shown of ${page.tree_size ?? "?"} in the ledger.`),
      el("table", { "aria-label": "Audit entries" },
        el("thead", {}, el("tr", {}, ...["#", "When", "Event", "Actor", "Role", "Deployment", "Service", "Details"]
          .map((name) => el("th", { scope: "col" }, name)))),
        el("tbody", {}, entries.map(row))),
    );
  } catch (problem) {
    target.replaceChildren(el("p", { class: "error" }, `audit: ${problem.message}`));
  }
}
