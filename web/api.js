// The service's HTTP API as the console uses it. Every failure becomes an ApiError carrying
// the service's JSON error body ({code, message, detail}) or a readable network message.

export const API = "/api/v1/avatars";

export class ApiError extends Error {
  constructor({ status, code, message, detail = null, method = "", path = "" }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.method = method;
    this.path = path;
  }

  /** "Conflict (409)", "No answer from the service"... */
  get title() {
    if (this.status === 0) return "No answer from the service";
    const label = STATUS_TITLES[this.status] || "Request failed";
    return `${label} (${this.status})`;
  }

  /** Validation problems as sentences: ["text: String should have at least 1 character"]. */
  get problems() {
    if (!Array.isArray(this.detail)) return [];
    return this.detail
      .filter((p) => p && typeof p === "object" && p.msg)
      .map((p) => {
        const where = (p.loc || []).filter((x) => !["body", "query", "path"].includes(x));
        return where.length ? `${where.join(".")}: ${p.msg}` : p.msg;
      });
  }
}

const STATUS_TITLES = {
  400: "Bad request",
  401: "Not signed in",
  403: "Not allowed",
  404: "Not found",
  405: "Not supported",
  409: "Conflict",
  413: "Too large",
  415: "Unsupported media type",
  422: "Invalid input",
  429: "Too many requests",
  500: "Server error",
  501: "Not implemented",
  502: "Bad gateway",
  503: "Service unavailable",
  504: "Timed out",
};

/** The API key or scoped token the console sends (none: a service without keys), kept in
 * localStorage. A token (avt_...) also goes on media URLs, which cannot carry headers. */
export const credential = {
  get: () => localStorage.getItem("avatar.credential") || "",
  set: (value) => localStorage.setItem("avatar.credential", value.trim()),
};

/** WebSocket subprotocols carrying the credential (browsers cannot set headers there). */
export function socketProtocols() {
  const cred = credential.get();
  return cred ? ["avatar.v1", `token.${cred}`] : [];
}

/** ``url`` with ``?token=`` when the credential is a token (for <video src>, links). */
export function withToken(url) {
  const cred = credential.get();
  if (!cred.startsWith("avt_")) return url;
  const u = new URL(url, window.location.href);
  u.searchParams.set("token", cred);
  return u.href;
}

/** One JSON request to the API; resolves to the parsed body, rejects with an ApiError. */
export async function request(method, path, { body, headers = {}, prefix = API } = {}) {
  const init = { method, headers: { accept: "application/json", ...headers } };
  const cred = credential.get();
  if (cred) init.headers.authorization = `Bearer ${cred}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(prefix + path, init);
  } catch (e) {
    throw new ApiError({
      status: 0,
      code: "network_error",
      message: `The request did not reach the service (${e.message}). Is it still running?`,
      method,
      path,
    });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    if (data && typeof data === "object" && typeof data.message === "string") {
      throw new ApiError({
        status: response.status,
        code: data.code || "error",
        message: data.message,
        detail: data.detail,
        method,
        path,
      });
    }
    const snippet = typeof data === "string" ? data.trim().slice(0, 240) : "";
    throw new ApiError({
      status: response.status,
      code: `http_${response.status}`,
      message: snippet || response.statusText || "The service refused the request.",
      method,
      path,
    });
  }
  return data;
}

const seg = encodeURIComponent;

/** A ws:// or wss:// URL of an API path on this origin. */
export function socketUrl(path) {
  const url = new URL(API + path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

export const api = {
  health: () => request("GET", "/health", { prefix: "" }),
  version: () => request("GET", "/version"),
  catalog: () => request("GET", "/emotions/catalog"),
  voices: () => request("GET", "/voices"),
  presets: () => request("GET", "/presets"),

  // avatars (created on first use)
  state: (avatarId) => request("GET", `/${seg(avatarId)}/state`),
  voiceStatus: (avatarId) => request("GET", `/${seg(avatarId)}/voice/status`),
  customize: (avatarId, presetId) =>
    request("POST", "/customize", { body: { avatar_id: avatarId, preset_id: presetId } }),
  setEmotion: (avatarId, emotion, intensity) =>
    request("POST", "/emotions", { body: { avatar_id: avatarId, emotion, intensity } }),
  animate: (avatarId, name) => request("POST", `/${seg(avatarId)}/animations`, { body: { name } }),
  speak: (avatarId, text, voice) =>
    request("POST", `/${seg(avatarId)}/speak`, { body: voice ? { text, voice } : { text } }),
  interrupt: (avatarId) => request("POST", `/${seg(avatarId)}/speak/interrupt`),

  // sessions
  openSession: (avatarId) =>
    request("POST", "/session", { body: { avatar_id: avatarId, metadata: { from: "console" } } }),
  session: (sessionId) => request("GET", `/session/${seg(sessionId)}`),
  closeSession: (sessionId) => request("DELETE", `/session/${seg(sessionId)}`),
  sessionEvents: (sessionId, fromVersion = 1) =>
    request("GET", `/session/${seg(sessionId)}/events?from_version=${fromVersion}&limit=1000`),

  // live video (WebRTC): the browser's offer in, the service's answer out
  liveOffer: (sessionId, offer) =>
    request("POST", `/session/${seg(sessionId)}/live`, {
      body: { sdp: offer.sdp, type: offer.type },
    }),
  liveStatus: (sessionId) => request("GET", `/session/${seg(sessionId)}/live`),
  liveEnd: (sessionId) => request("DELETE", `/session/${seg(sessionId)}/live`),

  // replay to video (a render job)
  replay: (sessionId) =>
    request("POST", `/session/${seg(sessionId)}/replay`, { body: { format: "mp4" } }),
  job: (jobId) => request("GET", `/jobs/${seg(jobId)}`),
};
