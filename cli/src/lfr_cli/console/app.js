// The console shell: sign-in, the views each role may use, and switching between them.

import { ROLE_NAMES, devSignIn, session } from "./api.js";
import { startAlerts, stopAlerts } from "./alerts.js";
import { showAudit } from "./audit.js";
import { showDeployments, showForm1 } from "./deployments.js";

const VIEWS = {
  alerts: { label: "Alerts", show: startAlerts },
  deployments: { label: "Deployments", show: showDeployments },
  form1: { label: "Form 1", show: showForm1 },
  audit: { label: "Audit", show: () => showAudit() },
};

// Which views each role sees (the services enforce the same rules on every request).
const ROLE_VIEWS = {
  operator: ["alerts", "deployments"],
  engagement_officer: ["alerts"],
  silver_commander: ["deployments", "alerts"],
  authorising_officer: ["form1", "deployments", "alerts", "audit"],
  watchlist_manager: ["deployments"],
  oversight: ["audit", "alerts", "deployments"],
  admin: ["deployments", "audit"],
};

const $ = (id) => document.getElementById(id);

async function open(name) {
  for (const key of Object.keys(VIEWS)) {
    $(`view-${key}`).hidden = key !== name;
    const tab = $(`tab-${key}`);
    if (tab) tab.setAttribute("aria-selected", String(key === name));
  }
  if (name !== "alerts") stopAlerts();
  try {
    await VIEWS[name].show();
  } catch (problem) {
    $(`view-${name}`).append(Object.assign(document.createElement("p"), { className: "error", textContent: problem.message }));
  }
}

function signedIn(current) {
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  $("who").textContent = `${current.name} · ${ROLE_NAMES[current.role] || current.role}`;
  const views = ROLE_VIEWS[current.role] || [];
  const tabs = $("tabs");
  tabs.replaceChildren(...views.map((name) => {
    const button = document.createElement("button");
    button.type = "button";
    button.id = `tab-${name}`;
    button.textContent = VIEWS[name].label;
    button.addEventListener("click", () => open(name));
    return button;
  }));
  tabs.hidden = false;
  if (views.length) open(views[0]);
}

function signedOut() {
  stopAlerts();
  session.clear();
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("tabs").hidden = true;
  $("who").textContent = "";
  for (const key of Object.keys(VIEWS)) $(`view-${key}`).hidden = true;
}

function start() {
  $("dev-sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    try {
      signedIn(session.set(await devSignIn($("user").value.trim(), $("role").value)));
    } catch (problem) {
      $("sign-in-error").textContent = problem.message;
    }
  });
  $("token-sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      signedIn(session.set($("token").value.trim()));
    } catch (problem) {
      $("sign-in-error").textContent = problem.message;
    }
  });
  $("sign-out").addEventListener("click", signedOut);
  $("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    showAudit({ deployment_id: form.get("deployment_id"), event_type: form.get("event_type") });
  });
  const current = session.get();
  if (current) signedIn(current);
}

start();
