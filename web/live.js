// The live view: the page shown follows GET /api/v1/events (server-sent events), or polls
// where that is refused; one set of timers, stopped whenever another page is drawn.
import { api } from "./api.js";

const FALLBACK_REFRESH_MS = 3000;
let liveEvents = null;  // the EventSource of the page shown
let refreshTimer = null;  // polling, only where the live view is refused
let costTimer = null;  // moves the running sessions' costs on, on the sessions page
let signedOut = () => {};  // what to do when the login is gone (app.js: the sign-in page)

export function onSignedOut(handler) { signedOut = handler; }

// The login is gone: show the sign-in page.
export function signOutNow() { signedOut(); }

// Runs `tick` every second until the next page is drawn.
export function everySecond(tick) { costTimer = setInterval(tick, 1000); }

// Calls handlers[name](document) for each event as the server sends it (at the start, then on
// every change). The browser reconnects by itself after a drop; when it gives up (signed out,
// or too many tabs open), the page checks the login and falls back to polling.
export function watchLive(handlers) {
  stopLive();
  const events = new EventSource("/api/v1/events");
  for (const [name, handler] of Object.entries(handlers))
    events.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  events.onerror = async () => {
    if (events.readyState !== EventSource.CLOSED || liveEvents !== events) return;
    stopLive();
    try {
      await api("GET", "/api/v1/me");
      refreshTimer = setInterval(() => pollLive(handlers), FALLBACK_REFRESH_MS);
    } catch (failure) {
      if (failure.status === 401) signedOut();
    }
  };
  liveEvents = events;
}

async function pollLive(handlers) {
  try {
    const [pool, sessions, nodes] = await Promise.all([api("GET", "/api/v1/pool"), api("GET", "/api/v1/sessions"),
      handlers.nodes ? api("GET", "/api/v1/nodes") : null]);
    handlers.pool?.(pool);
    handlers.sessions?.(sessions);
    if (nodes) handlers.nodes(nodes);
  } catch (failure) {
    if (failure.status === 401) signedOut();
  }
}

export function stopLive() {
  liveEvents?.close();
  liveEvents = null;
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  if (costTimer) clearInterval(costTimer);
  costTimer = null;
}
