// The REST API client (docs/api.md): JSON in and out; cookie writes carry the CSRF token
// the login (or GET /api/v1/me after a reload) handed out.

let csrfToken = sessionStorage.getItem("gpupool.csrf") || "";

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { "Content-Type": "application/json", ...extraHeaders };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.message || response.statusText);
  return data;
}

// A fresh Idempotency-Key: a request resent with it (a double click, a retry) acts once.
export function newIdempotencyKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

// Keeps the token the login or GET /api/v1/me answered; none after signing out.
export function setCsrfToken(token) {
  csrfToken = token || "";
  if (token) sessionStorage.setItem("gpupool.csrf", token);
  else sessionStorage.removeItem("gpupool.csrf");
}
