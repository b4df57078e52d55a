// The session's WebSocket (snapshot, event, heartbeat, lagged, progress frames) and the event
// log that shows it. A dropped connection is reopened; the events recorded meanwhile are read
// from the event pages, so the log has no gap.

import { request, socketProtocols, socketUrl } from "./api.js";

const RECONNECT_MS = [500, 1000, 2000, 5000];
const HISTORY_LIMIT = 300;

/** A session stream: calls onFrame(frame) for every frame and onState(state, detail). */
export class SessionStream {
  constructor(sessionId, { onFrame, onState }) {
    this.sessionId = sessionId;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.timer = null;
  }

  open() {
    this.stopped = false;
    this.onState(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(
      socketUrl(`/session/${encodeURIComponent(this.sessionId)}/stream`),
      socketProtocols(),
    );
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onState("open");
    };
    ws.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (event.code === 1000) {
        this.onState("ended", event.reason || "session ended");
      } else if (event.code === 4404) {
        this.onState("missing", "the service does not know this session");
      } else {
        const wait = RECONNECT_MS[Math.min(this.attempt, RECONNECT_MS.length - 1)];
        this.attempt += 1;
        this.onState("reconnecting", `connection lost (${event.code}); retrying`);
        this.timer = setTimeout(() => this.open(), wait);
      }
    };
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
    this.onState("closed");
  }
}

// ------------------------------------------------------------------------------ summaries

const fmtNumber = (x, digits = 2) => (typeof x === "number" ? x.toFixed(digits) : String(x));
const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const quote = (text, max = 60) => `“${text.length > max ? text.slice(0, max - 1) + "…" : text}”`;

/** One line saying what an event did. */
export function summarize(type, d) {
  switch (type) {
    case "AvatarCreated":
      return `avatar ${d.avatar_id} created`;
    case "Customized":
      return d.preset_id ? `look: ${d.preset_id}` : "traits changed";
    case "ModelSelected":
      return `model ${d.model_id}`;
    case "VoiceAttached":
      return `voice ${d.voice?.voice_id ?? ""}`;
    case "VoiceDetached":
      return "back to the default voice";
    case "EmotionSet":
      return `${d.emotion} · ${fmtNumber(d.intensity)}`;
    case "StatePatched":
      return Object.entries(d.patch || {})
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
        .join(", ");
    case "AnimationTriggered":
      return `${d.name} · ${fmtMs(d.duration_ms)}${d.loop ? " · loop" : ""}`;
    case "SpeechStarted":
      return `${quote(d.text)} · ${d.voice_id} · ${fmtMs(d.duration_ms)}`;
    case "SpeechInterrupted":
      return `stopped at ${fmtMs(d.at_ms)}`;
    case "SnapshotTaken":
      return `${d.width}×${d.height} picture stored`;
    case "SessionStarted":
      return `with ${d.avatar_id} · ttl ${d.ttl_seconds} s`;
    case "MarkerAdded":
      return d.label;
    case "TranscriptLine":
      return `${d.speaker}: ${quote(d.text)}`;
    case "SessionClosed":
      return d.reason ? `closed (${d.reason})` : "closed";
    case "SessionExpired":
      return "expired";
    default:
      return "";
  }
}

const clock = (iso) => {
  const date = iso ? new Date(iso) : new Date();
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};

// ------------------------------------------------------------------------------ the log

/** The event log panel: entries newest first, deduplicated by stream and version. */
export class EventLog {
  constructor({ list, empty, filters }) {
    this.list = list;
    this.empty = empty;
    this.filters = filters; // {avatar, session, system}: checkboxes
    this.seen = new Set();
    this.last = { avatar: 0, session: 0 };
    this.latest = 0; // the newest ordering key so far (ms)
    for (const box of Object.values(filters)) box.addEventListener("change", () => this.refilter());
  }

  clear() {
    this.list.replaceChildren();
    this.seen.clear();
    this.last = { avatar: 0, session: 0 };
    this.latest = 0;
    this.updateEmpty();
  }

  /** A persisted event (an ``event`` frame's event, or one from an event page). */
  addEvent(stream, event, { fresh = true } = {}) {
    const key = `${stream}:${event.version}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.last[stream] = Math.max(this.last[stream] || 0, event.version);
    const item = this.entry({
      kind: stream,
      version: `v${event.version}`,
      type: event.type,
      summary: summarize(event.type, event.data || {}),
      time: clock(event.recorded_at),
      detail: event,
      fresh,
    });
    item.dataset.type = event.type;
    item.dataset.version = String(event.version);
    this.insert(item, Date.parse(event.recorded_at) || Date.now());
    return true;
  }

  /** Something that is not a persisted event: snapshot, heartbeat, lagged, progress, notes. */
  addNote(type, summary, detail = null, { system = false } = {}) {
    const item = this.entry({
      kind: system ? "system" : "session",
      version: "",
      type,
      summary,
      time: clock(),
      detail,
      fresh: true,
      note: true,
    });
    item.classList.add("entry-system");
    item.dataset.type = type;
    if (system) item.dataset.system = "1";
    // after everything shown so far, whatever the two clocks say
    this.insert(item, Math.max(Date.now(), this.latest));
  }

  entry({ kind, version, type, summary, time, detail, fresh, note = false }) {
    const li = document.createElement("li");
    li.className = "entry" + (fresh ? " fresh" : "");
    li.dataset.stream = kind;
    const details = document.createElement("details");
    const head = document.createElement("summary");
    const v = span("entry-version", version);
    const s = span(`entry-stream stream-${kind}`, note ? (kind === "system" ? "info" : kind) : kind);
    const main = span("entry-main", "");
    main.append(span("entry-type", type), span("entry-summary", summary));
    head.append(v, s, main, span("entry-time", time));
    details.append(head);
    if (detail) {
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(detail, null, 2);
      details.append(pre);
    }
    li.append(details);
    return li;
  }

  /** Newest first, by recording time (a backfilled page may arrive after live events). */
  insert(item, at) {
    item.dataset.at = String(at);
    this.latest = Math.max(this.latest, at);
    let before = null;
    for (const other of this.list.children) {
      if (Number(other.dataset.at) <= at) {
        before = other;
        break;
      }
    }
    this.list.insertBefore(item, before);
    while (this.list.children.length > 2000) this.list.lastElementChild.remove();
    this.apply(item);
    this.updateEmpty();
  }

  apply(item) {
    const stream = item.dataset.stream;
    const show = item.dataset.system
      ? this.filters.system.checked
      : stream === "avatar"
        ? this.filters.avatar.checked
        : this.filters.session.checked;
    item.hidden = !show;
  }

  refilter() {
    for (const item of this.list.children) this.apply(item);
    this.updateEmpty();
  }

  updateEmpty() {
    this.empty.hidden = [...this.list.children].some((item) => !item.hidden);
  }

  /** Events of a stream after ``after`` up to ``upTo`` (inclusive), from the event pages. */
  async backfill(stream, path, after, upTo) {
    let from = Math.max(after + 1, upTo - HISTORY_LIMIT + 1, 1);
    while (from <= upTo) {
      const page = await request("GET", `${path}?from_version=${from}&limit=1000`);
      for (const event of page.events) {
        if (event.version <= upTo) this.addEvent(stream, event, { fresh: false });
      }
      if (page.next_from_version === null || page.next_from_version > upTo) break;
      from = page.next_from_version;
    }
  }
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

