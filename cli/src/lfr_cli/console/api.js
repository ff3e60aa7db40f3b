// The console's one door to the platform: the signed-in session and JSON calls through the gateway.

const SESSION_KEY = "lfr.console.session";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function decodeToken(token) {
  const payload = token.split(".")[1];
  if (!payload) throw new Error("this does not look like a bearer token (header.payload.signature)");
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(json);
}

export const session = {
  // sessionStorage: the token dies with the tab, and is never written to disk by the console.
  get() {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const stored = JSON.parse(raw);
    if (stored.exp && stored.exp * 1000 < Date.now()) {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return stored;
  },
  set(token) {
    const claims = decodeToken(token);
    const value = { token, user: claims.sub, name: claims.name || claims.sub, role: claims.role, exp: claims.exp };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
    return value;
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
};

async function failure(response) {
  let code = "error";
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code;
      message = body.error.message;
    }
  } catch (_) {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, code, message);
}

export async function api(path, { method = "GET", body, query } = {}) {
  const current = session.get();
  const headers = { Accept: "application/json" };
  if (current) headers.Authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    if ([...params].length) url += `?${params}`;
  }
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// Images need the Authorization header, so they are fetched and shown from a blob: URL (never cached).
export async function imageUrl(path) {
  const current = session.get();
  const response = await fetch(path, { headers: { Authorization: `Bearer ${current.token}` }, cache: "no-store" });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

export async function devSignIn(user, role) {
  const response = await fetch("/auth/dev-token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user, role }),
  });
  if (response.status === 404) {
    throw new ApiError(404, "not_available", "this gateway does not issue development tokens; paste a token instead");
  }
  if (!response.ok) throw await failure(response);
  return (await response.json()).token;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function when(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString(undefined, { hour12: false });
}

export const ROLE_NAMES = {
  operator: "LFR operator",
  engagement_officer: "Engagement officer",
  silver_commander: "Silver commander",
  authorising_officer: "Authorising officer",
  watchlist_manager: "Watchlist manager",
  oversight: "Oversight",
  admin: "Admin",
};
