// The console: pick or create an avatar and a session, watch it live, make it speak, set its
// emotion, trigger animations, read its event log, close the session and replay it to MP4.

import { api, credential } from "./api.js";
import { EventLog, SessionStream } from "./events.js";
import { LiveView } from "./live.js";
import { ReplayPanel } from "./replay.js";
import { Recent, busy, clockTime, relativeTime, showError } from "./ui.js";

const $ = (id) => document.getElementById(id);

const FALLBACK_CATALOG = {
  emotions: ["neutral", "happy", "sad", "surprised", "angry", "thoughtful"],
  animations: ["nod", "shake", "tilt", "look_around", "smile", "wink", "blink"],
};
const COMMON_LANGUAGES = ["en-us", "en-gb", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ja"];
const HEALTH_EVERY_MS = 10000;

const recentAvatars = new Recent("avatar-console.avatars");
const recentSessions = new Recent("avatar-console.sessions", 30);

const state = {
  avatarId: null,
  avatar: null, // the avatar's state as last seen
  session: null, // {session_id, avatar_id, status, created_at, expires_at, avatar_version_start}
  stream: null,
  speakingTimer: 0,
  speaking: false,
  avatarEventSeen: 0, // the newest avatar event applied from the stream (its version)
  snapshots: 0,
};

// ------------------------------------------------------------------------------ panels

const log = new EventLog({
  list: $("event-log"),
  empty: $("log-empty"),
  filters: { avatar: $("show-avatar"), session: $("show-session"), system: $("show-system") },
});

const live = new LiveView(
  {
    video: $("live-video"),
    replay: $("stage-replay"),
    state: $("live-state"),
    overlay: $("live-overlay"),
    message: $("live-message"),
    toggle: $("live-toggle"),
    mute: $("live-mute"),
    size: $("live-size"),
    fps: $("live-fps"),
    latency: $("live-latency"),
    level: $("audio-level"),
  },
  { onError: showError },
);

const replay = new ReplayPanel(
  {
    button: $("replay"),
    status: $("replay-status"),
    meter: $("replay-meter"),
    bar: $("replay-bar"),
    fill: $("replay-fill"),
    percent: $("replay-percent"),
    detail: $("replay-detail"),
    result: $("replay-result"),
    where: $("replay-where"),
    link: $("replay-link"),
  },
  {
    onError: showError,
    // a closed session's stage is free: the replay plays there
    onDone: (result) => live.showReplay(result.url),
  },
);

// ------------------------------------------------------------------------------ service

async function checkHealth() {
  const pill = $("service-status");
  const text = pill.querySelector(".pill-text");
  try {
    await api.health();
    pill.className = "pill pill-ok";
    text.textContent = state.version ? `Service online · v${state.version}` : "Service online";
  } catch {
    pill.className = "pill pill-bad";
    text.textContent = "Service unreachable";
  }
}

async function loadCatalog() {
  let catalog = FALLBACK_CATALOG;
  try {
    catalog = await api.catalog();
  } catch (e) {
    showError(e);
  }
  const emotions = $("emotions");
  emotions.replaceChildren(
    ...catalog.emotions.map((name) => chip(name, () => setEmotion(name), "emotion")),
  );
  const animations = $("animations");
  animations.replaceChildren(
    ...catalog.animations.map((name) => chip(name.replace("_", " "), () => animate(name), "animation", name)),
  );
}

function chip(label, onClick, kind, value = label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.textContent = label;
  button.dataset[kind] = value;
  if (kind === "emotion") button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", onClick);
  return button;
}

async function loadVoices() {
  let voices;
  try {
    voices = await api.voices();
  } catch (e) {
    showError(e);
    return;
  }
  const select = $("voice");
  const byLanguage = new Map(voices.voices.map((v) => [v.language, v]));
  const common = document.createElement("optgroup");
  common.label = "Common";
  for (const language of COMMON_LANGUAGES) {
    const v = byLanguage.get(language);
    if (v) common.append(new Option(`${v.name}`, language));
  }
  const all = document.createElement("optgroup");
  all.label = "All voices";
  for (const v of [...voices.voices].sort((a, b) => a.name.localeCompare(b.name))) {
    all.append(new Option(`${v.name} (${v.language})`, v.id));
  }
  select.append(common, all);
}

async function loadPresets() {
  try {
    const { presets } = await api.presets();
    const select = $("preset");
    for (const p of presets) select.append(new Option(p.name, p.preset_id));
  } catch (e) {
    showError(e);
  }
}

// ------------------------------------------------------------------------------ avatar

async function useAvatar(avatarId, presetId = "") {
  if (presetId) await api.customize(avatarId, presetId);
  const view = await api.state(avatarId);
  const changed = avatarId !== state.avatarId;
  if (avatarId !== state.avatarId) state.avatarEventSeen = 0;
  state.avatarId = avatarId;
  state.avatar = view.state;
  $("avatar-id").value = avatarId;
  $("preset").value = "";
  const items = recentAvatars.add(avatarId);
  $("recent-avatars").replaceChildren(...items.map((id) => new Option(id, id)));
  showAvatar(view.version);
  if (changed && state.session && state.session.avatar_id !== avatarId) await setSession(null);
  fillRecentSessions();
  refreshControls();
}

function showAvatar(version) {
  const a = state.avatar;
  if (!a) return;
  const tag = $("avatar-version");
  if (version !== undefined) {
    tag.textContent = `v${version}`;
    tag.hidden = false;
  }
  $("avatar-facts").hidden = false;
  const e = a.emotion || {};
  $("fact-emotion").textContent = e.emotion ? `${e.emotion} ${Number(e.intensity).toFixed(2)}` : "–";
  $("fact-voice").textContent = a.voice ? a.voice.voice_id : "default";
  $("fact-look").textContent = a.preset_id || "custom";
  $("fact-model").textContent = a.model_id || "classic";
  for (const button of $("emotions").children) {
    button.setAttribute("aria-pressed", String(button.dataset.emotion === e.emotion));
  }
}

/** Keep the avatar panel in step with the events that arrive. */
function applyAvatarEvent(event) {
  const a = state.avatar;
  if (!a) return;
  // an event already applied (a resync or a backfill brings it again) changes nothing twice:
  // an old SpeechStarted would otherwise start the speaking badge again after its interrupt
  if (event.version && event.version <= state.avatarEventSeen) return;
  state.avatarEventSeen = Math.max(state.avatarEventSeen, event.version || 0);
  const d = event.data || {};
  switch (event.type) {
    case "EmotionSet":
      a.emotion = { emotion: d.emotion, intensity: d.intensity, transition_ms: d.transition_ms };
      break;
    case "VoiceAttached":
      a.voice = d.voice;
      break;
    case "VoiceDetached":
      a.voice = null;
      break;
    case "Customized":
      a.preset_id = d.preset_id;
      break;
    case "ModelSelected":
      a.model_id = d.model_id;
      break;
    case "SpeechStarted": {
      const elapsed = Date.now() - Date.parse(event.recorded_at);
      markSpeaking(Math.max(0, d.duration_ms - Math.max(0, elapsed)));
      break;
    }
    case "SpeechInterrupted":
      markSpeaking(0);
      break;
    default:
      break;
  }
  showAvatar(event.version);
}

async function setEmotion(emotion) {
  if (!state.avatarId) return;
  const intensity = Number($("intensity").value);
  try {
    const view = await api.setEmotion(state.avatarId, emotion, intensity);
    state.avatar.emotion = { emotion, intensity, transition_ms: view.transition_ms };
    showAvatar(view.version);
  } catch (e) {
    showError(e);
  }
}

async function animate(name) {
  if (!state.avatarId) return;
  const button = $("animations").querySelector(`[data-animation="${name}"]`);
  button?.classList.add("flash");
  setTimeout(() => button?.classList.remove("flash"), 500);
  try {
    const view = await api.animate(state.avatarId, name);
    showAvatar(view.version);
  } catch (e) {
    showError(e);
  }
}

// ------------------------------------------------------------------------------ speech

async function speak(event) {
  event.preventDefault();
  if (!state.avatarId) return;
  const text = $("speak-text").value;
  const voice = $("voice").value || undefined;
  const result = await busy($("speak"), () => api.speak(state.avatarId, text, voice));
  // The stream may have brought this speech, and what came after it (an interrupt), before
  // this answer: then the stream's account stands.
  if (result && !(state.avatarEventSeen > result.version)) {
    markSpeaking(result.duration_ms);
    showAvatar(result.version);
  }
  refreshControls();
}

async function interrupt() {
  if (!state.avatarId) return;
  const result = await busy($("interrupt"), () => api.interrupt(state.avatarId));
  if (result) markSpeaking(0);
  refreshControls();
}

function markSpeaking(ms) {
  clearTimeout(state.speakingTimer);
  state.speaking = ms > 0;
  $("speaking").hidden = !state.speaking;
  if (state.speaking) {
    state.speakingTimer = setTimeout(() => markSpeaking(0), ms);
  }
  refreshControls();
}

// ------------------------------------------------------------------------------ sessions

async function startSession() {
  if (!state.avatarId) return;
  const view = await busy($("start-session"), () => api.openSession(state.avatarId));
  if (!view) return;
  recentSessions.add(
    { session_id: view.session_id, avatar_id: view.avatar_id, created_at: view.created_at },
    (a, b) => a.session_id === b.session_id,
  );
  await setSession(view);
}

async function closeSession() {
  const session = state.session;
  if (!session) return;
  const view = await busy($("close-session"), () => api.closeSession(session.session_id));
  if (view && state.session?.session_id === view.session_id) {
    sessionChanged(view);
  }
}

/** Show a session (a SessionView from the API), or none. */
async function setSession(view) {
  if (state.stream) {
    state.stream.close();
    state.stream = null;
  }
  state.session = view;
  state.snapshots = 0;
  log.clear();
  replay.setSession(view ? view.session_id : null);
  showSession();
  fillRecentSessions();
  refreshControls();
  if (!view) {
    await live.setSession(null);
    return;
  }
  const active = view.status === "active";
  const stream = new SessionStream(view.session_id, {
    onFrame: (frame) => onFrame(stream, frame),
    onState: (s, detail) => onStreamState(stream, s, detail),
  });
  state.stream = stream;
  stream.open();
  await live.setSession(view.session_id, { active });
}

function sessionChanged(view) {
  const was = state.session?.status;
  state.session = { ...state.session, ...view };
  recentSessions.update((x) => x.session_id === view.session_id, { status: view.status });
  showSession();
  fillRecentSessions();
  refreshControls();
  if (was === "active" && view.status !== "active") {
    live.setSession(view.session_id, { active: false });
  }
}

function showSession() {
  const s = state.session;
  const status = $("session-status");
  $("session-empty").hidden = Boolean(s);
  $("session-facts").hidden = !s;
  if (!s) {
    status.textContent = "none";
    status.className = "badge badge-muted";
    return;
  }
  status.textContent = s.status;
  status.className = `badge ${s.status === "active" ? "badge-ok" : "badge-muted"}`;
  $("session-id").textContent = s.session_id;
  $("session-started").textContent = clockTime(s.created_at);
  const ended = s.status !== "active";
  $("session-expires-label").textContent = ended ? (s.status === "expired" ? "Expired" : "Ended") : "Expires";
  $("session-expires").textContent = ended ? clockTime(s.ended_at) : relativeTime(s.expires_at);
}

function fillRecentSessions() {
  const select = $("recent-sessions");
  const mine = recentSessions.all().filter((x) => x.avatar_id === state.avatarId);
  const others = mine.filter((x) => x.session_id !== state.session?.session_id);
  $("recent-sessions-field").hidden = others.length === 0;
  select.replaceChildren(new Option(`${others.length} earlier session${others.length === 1 ? "" : "s"}`, ""));
  for (const x of others) {
    const label = `${x.session_id.slice(0, 12)}… · ${clockTime(x.created_at)}${x.status ? ` · ${x.status}` : ""}`;
    select.append(new Option(label, x.session_id));
  }
}

async function reopenSession(sessionId) {
  if (!sessionId) return;
  try {
    const view = await api.session(sessionId);
    recentSessions.update((x) => x.session_id === sessionId, { status: view.status });
    await setSession(view);
  } catch (e) {
    showError(e);
    fillRecentSessions();
  }
}

// ------------------------------------------------------------------------------ stream

function onStreamState(stream, s, detail) {
  if (stream !== state.stream && s !== "closed") return;
  const badge = $("stream-state");
  const labels = {
    connecting: ["connecting", "badge-warn"],
    open: ["live", "badge-ok"],
    reconnecting: ["reconnecting", "badge-warn"],
    ended: ["ended", "badge-muted"],
    missing: ["not found", "badge-bad"],
    closed: ["not connected", "badge-muted"],
  };
  if (stream === state.stream || !state.stream) {
    const [text, cls] = labels[s] || [s, "badge-muted"];
    badge.textContent = text;
    badge.className = `badge ${cls}`;
  }
  if (stream !== state.stream) return;
  if (s === "reconnecting" && detail) log.addNote("Disconnected", detail, null, { system: true });
  if (s === "ended" && state.session) {
    log.addNote("Stream closed", detail || "the session ended", null, { system: true });
    api.session(state.session.session_id).then(sessionChanged, showError);
  }
  if (s === "missing") log.addNote("Stream refused", detail, null, { system: true });
}

async function onFrame(stream, frame) {
  if (stream !== state.stream) return;
  switch (frame.type) {
    case "snapshot":
      await onSnapshot(frame);
      break;
    case "event":
      if (log.addEvent(frame.stream, frame.event)) {
        if (frame.stream === "avatar") applyAvatarEvent(frame.event);
        if (frame.stream === "session") onSessionEvent(frame.event);
      }
      break;
    case "heartbeat":
      $("stream-state").title = `last heartbeat ${new Date().toLocaleTimeString()}`;
      break;
    case "lagged":
      log.addNote("Lagged", `fell behind; the ${frame.stream} events from v${frame.from_version} follow`, frame, {
        system: true,
      });
      break;
    case "progress":
      replay.progressFrame(frame);
      if (frame.status === "done" || frame.status === "failed") {
        log.addNote(`Render ${frame.status}`, `${frame.kind} ${frame.job_id}`, frame, { system: true });
      }
      break;
    case "error":
      log.addNote("Error", `${frame.code}: ${frame.message}`, frame, { system: true });
      break;
    default:
      break;
  }
}

async function onSnapshot(frame) {
  const first = state.snapshots === 0;
  state.snapshots += 1;
  const session = frame.state;
  const avatar = frame.avatar;
  log.addNote(
    first ? "Connected" : "Reconnected",
    `session v${frame.version} · avatar v${avatar.version}`,
    null,
    { system: true },
  );
  if (avatar.avatar_id === state.avatarId) {
    state.avatar = avatar.state;
    showAvatar(avatar.version);
  }
  // what was recorded before the stream opened (or while it was down), from the event pages
  const sid = encodeURIComponent(frame.session_id);
  const aid = encodeURIComponent(avatar.avatar_id);
  try {
    await log.backfill("session", `/session/${sid}/events`, log.last.session, frame.version);
    const afterAvatar = Math.max(log.last.avatar, session.avatar_version_start || 0);
    await log.backfill("avatar", `/${aid}/events`, afterAvatar, avatar.version);
  } catch (e) {
    showError(e);
  }
  if (session.status && session.status !== state.session?.status) {
    sessionChanged({ session_id: frame.session_id, status: session.status });
  }
}

function onSessionEvent(event) {
  if (event.type === "SessionClosed" || event.type === "SessionExpired") {
    const status = event.type === "SessionClosed" ? "closed" : "expired";
    sessionChanged({ session_id: state.session.session_id, status, ended_at: event.recorded_at });
  }
}

// ------------------------------------------------------------------------------ controls

function refreshControls() {
  const hasAvatar = Boolean(state.avatarId);
  const active = state.session?.status === "active";
  $("speak").disabled = !hasAvatar;
  $("interrupt").disabled = !(hasAvatar && state.speaking);
  $("start-session").disabled = !hasAvatar;
  $("start-session").textContent = state.session ? "New session" : "Start session";
  $("close-session").disabled = !active;
  for (const button of document.querySelectorAll(".chip")) button.disabled = !hasAvatar;
}

function wire() {
  $("avatar-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("avatar-id").value.trim();
    if (!id) return;
    await busy($("use-avatar"), () => useAvatar(id, $("preset").value));
  });
  $("new-avatar").addEventListener("click", async () => {
    const id = `avatar-${Math.random().toString(16).slice(2, 8)}`;
    await busy($("new-avatar"), () => useAvatar(id, $("preset").value));
  });
  $("start-session").addEventListener("click", startSession);
  $("close-session").addEventListener("click", closeSession);
  $("recent-sessions").addEventListener("change", (e) => reopenSession(e.target.value));
  $("speak-form").addEventListener("submit", speak);
  $("speak-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("speak-form").requestSubmit();
  });
  $("interrupt").addEventListener("click", interrupt);
  $("intensity").addEventListener("input", (e) => {
    $("intensity-value").textContent = Number(e.target.value).toFixed(2);
  });
  $("log-clear").addEventListener("click", () => log.clear());
  window.addEventListener("beforeunload", () => {
    state.stream?.close();
    live.stop({ quiet: true });
  });
}

async function restore() {
  const [avatarId] = recentAvatars.all();
  $("recent-avatars").replaceChildren(...recentAvatars.all().map((id) => new Option(id, id)));
  if (!avatarId) {
    $("avatar-id").focus();
    return;
  }
  try {
    await useAvatar(avatarId);
  } catch (e) {
    showError(e);
    return;
  }
  const [last] = recentSessions.all().filter((x) => x.avatar_id === avatarId);
  if (last) await reopenSession(last.session_id);
}

/** The key-or-token field: kept in localStorage; a change reloads with it. */
function wireCredential() {
  const field = $("credential");
  field.value = credential.get();
  field.addEventListener("change", () => {
    credential.set(field.value);
    window.location.reload();
  });
}

async function main() {
  wireCredential();
  wire();
  refreshControls();
  api.version().then((v) => {
    state.version = v.version;
    checkHealth();
  }, () => undefined);
  checkHealth();
  setInterval(checkHealth, HEALTH_EVERY_MS);
  await Promise.all([loadCatalog(), loadVoices(), loadPresets()]);
  refreshControls();
  await restore();
  document.body.dataset.ready = "1";
}

main();
