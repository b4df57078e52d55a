// The session's live video over WebRTC.
//
// The browser makes the offer (receive-only: one video and one audio transceiver), waits until
// its ICE candidates are gathered (the service answers once, no trickle), posts it to
// POST /session/{id}/live and applies the answer. DELETE /session/{id}/live ends it.

import { api, withToken } from "./api.js";

const ICE_GATHER_TIMEOUT_MS = 3000;

/** Resolves when the connection has gathered its candidates (or after a timeout). */
export function iceGathered(pc, timeoutMs = ICE_GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * Connect to a session's live stream. Returns {pc, stream}; the stream gets the remote video
 * and audio tracks as they arrive.
 */
export async function connectLive(sessionId, { onConnectionState } = {}) {
  const pc = new RTCPeerConnection({ iceServers: [] }); // loopback / LAN: host candidates
  const stream = new MediaStream();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addEventListener("track", (event) => stream.addTrack(event.track));
  if (onConnectionState) {
    pc.addEventListener("connectionstatechange", () => onConnectionState(pc.connectionState));
  }
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    const answer = await api.liveOffer(sessionId, pc.localDescription);
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
  } catch (e) {
    pc.close();
    throw e;
  }
  return { pc, stream };
}

/** The live panel: a <video>, its state badge and overlay, size, frame rate, audio level. */
export class LiveView {
  constructor(els, { onError }) {
    // {video, replay, state, overlay, message, toggle, mute, size, fps, latency, level}
    this.els = els;
    this.onError = onError;
    this.sessionId = null;
    this.pc = null;
    this.generation = 0;
    this.frames = [];
    this.audio = null;
    this.timings = {};
    els.toggle.addEventListener("click", () => (this.pc ? this.stop() : this.start()));
    els.mute.addEventListener("click", () => this.setMuted(!els.video.muted));
    els.video.addEventListener("resize", () => this.showSize());
    this.setState("offline");
  }

  /** The session to show (null: none); closes what was open. */
  async setSession(sessionId, { active = false, autostart = true } = {}) {
    if (sessionId !== this.sessionId) this.hideReplay();
    if (sessionId !== this.sessionId || !active) await this.stop({ quiet: true });
    this.sessionId = sessionId;
    this.active = active;
    this.els.toggle.disabled = !(sessionId && active);
    if (!sessionId) {
      this.message("Pick an avatar and start a session to see it live.");
    } else if (!active) {
      this.message("<strong>Session closed</strong>Its video can still be rebuilt: Render replay.");
    } else if (autostart) {
      await this.start();
    } else {
      this.message("Press <em>Go live</em> to watch the session.");
    }
  }

  /** A closed session's replay on the stage (returns whether it is shown). */
  showReplay(url) {
    if (this.pc || this.active) return false;
    const replay = this.els.replay;
    replay.src = withToken(url);
    replay.hidden = false;
    this.hideOverlay();
    this.setState("replay");
    return true;
  }

  hideReplay() {
    const replay = this.els.replay;
    if (replay.hidden) return;
    replay.pause();
    replay.removeAttribute("src");
    replay.load();
    replay.hidden = true;
  }

  async start() {
    if (!this.sessionId || this.pc) return;
    this.hideReplay();
    const generation = ++this.generation;
    const sessionId = this.sessionId;
    this.setState("connecting");
    this.message("<strong>Connecting…</strong>Negotiating the live stream.");
    this.els.toggle.disabled = true;
    this.timings = { offerAt: performance.now() };
    delete this.els.video.dataset.offerToFirstFrameMs;
    delete this.els.video.dataset.offerToAnswerMs;
    let live;
    try {
      live = await connectLive(sessionId, {
        onConnectionState: (state) => generation === this.generation && this.connectionState(state),
      });
    } catch (e) {
      if (generation !== this.generation) return;
      this.setState("unavailable");
      const missing = e.status === 404 && e.code === "not_found";
      this.message(
        missing
          ? "<strong>No live video here</strong>This service has no live route (POST …/live)."
          : `<strong>Live video failed</strong>${escapeHtml(e.message)}`,
      );
      this.els.toggle.disabled = !this.active;
      this.els.toggle.textContent = "Retry";
      if (!missing) this.onError(e);
      return;
    }
    if (generation !== this.generation) {
      live.pc.close();
      return;
    }
    this.timings.answerAt = performance.now();
    this.els.video.dataset.offerToAnswerMs = String(
      Math.round(this.timings.answerAt - this.timings.offerAt),
    );
    this.pc = live.pc;
    this.els.toggle.disabled = false;
    this.els.toggle.textContent = "Stop";
    this.els.mute.disabled = false;
    const video = this.els.video;
    video.srcObject = live.stream;
    this.watchFrames(generation);
    this.watchAudio(live.stream);
    try {
      await video.play();
    } catch {
      // autoplay with sound refused until the page is interacted with: start muted
      video.muted = true;
      this.setMuted(true);
      await video.play().catch(() => undefined);
    }
  }

  async stop({ quiet = false } = {}) {
    this.generation += 1;
    const pc = this.pc;
    const sessionId = this.sessionId;
    this.pc = null;
    this.stopAudio();
    this.els.video.srcObject = null;
    delete this.els.video.dataset.offerToFirstFrameMs;
    delete this.els.video.dataset.offerToAnswerMs;
    this.els.mute.disabled = true;
    this.els.toggle.textContent = "Go live";
    this.els.toggle.disabled = !(this.sessionId && this.active);
    this.els.size.textContent = "not connected";
    this.els.fps.textContent = "";
    this.els.latency.textContent = "";
    if (!quiet) this.message("Live video stopped. Press <em>Go live</em> to watch again.");
    if (!pc) {
      this.setState("offline");
      return;
    }
    // "offline" once the service has ended its stream (DELETE answers when it has), so that
    // what the badge says is what GET .../live says
    const generation = this.generation;
    this.setState("stopping");
    this.els.toggle.disabled = true;
    pc.close();
    try {
      await api.liveEnd(sessionId);
    } catch {
      // the session may be closed already, which ends its stream too
    }
    if (generation !== this.generation) return;
    this.setState("offline");
    this.els.toggle.disabled = !(this.sessionId && this.active);
  }

  connectionState(state) {
    if (state === "connected") {
      this.setState("live");
    } else if (state === "failed" || state === "disconnected") {
      this.setState("interrupted");
      this.message("<strong>Connection lost</strong>Press <em>Retry</em> to reconnect.");
      this.els.toggle.textContent = "Retry";
      if (state === "failed") {
        this.pc?.close();
        this.pc = null;
      }
    }
  }

  watchFrames(generation) {
    const video = this.els.video;
    this.frames = [];
    const onFrame = (now, meta) => {
      if (generation !== this.generation) return;
      if (this.timings.firstFrameAt === undefined) {
        this.timings.firstFrameAt = performance.now();
        const ms = Math.round(this.timings.firstFrameAt - this.timings.offerAt);
        video.dataset.offerToFirstFrameMs = String(ms);
        this.els.latency.textContent = `first frame in ${ms} ms`;
        this.hideOverlay();
        this.setState("live");
        this.showSize();
      }
      this.frames.push(now);
      while (this.frames.length && now - this.frames[0] > 1000) this.frames.shift();
      this.els.fps.textContent = `${this.frames.length} fps`;
      video.dataset.framesPresented = String(meta.presentedFrames);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  watchAudio(stream) {
    this.stopAudio();
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    const context = new Context();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    const hook = () => {
      if (stream.getAudioTracks().length && !this.audio.source) {
        this.audio.source = context.createMediaStreamSource(stream);
        this.audio.source.connect(analyser);
      }
    };
    this.audio = { context, analyser, source: null, raf: 0 };
    stream.addEventListener("addtrack", hook);
    hook();
    const samples = new Float32Array(analyser.fftSize);
    const draw = () => {
      if (!this.audio) return;
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const x of samples) sum += x * x;
      const rms = Math.sqrt(sum / samples.length);
      const level = Math.min(1, rms * 6);
      this.els.level.style.width = `${Math.round(level * 100)}%`;
      this.audio.raf = requestAnimationFrame(draw);
    };
    context.resume().catch(() => undefined);
    draw();
  }

  stopAudio() {
    if (!this.audio) return;
    cancelAnimationFrame(this.audio.raf);
    this.audio.context.close().catch(() => undefined);
    this.audio = null;
    this.els.level.style.width = "0";
  }

  setMuted(muted) {
    this.els.video.muted = muted;
    this.els.mute.textContent = muted ? "Unmute" : "Mute";
    this.els.mute.setAttribute("aria-pressed", String(muted));
    if (!muted) this.audio?.context.resume().catch(() => undefined);
  }

  showSize() {
    const { videoWidth: w, videoHeight: h } = this.els.video;
    this.els.size.textContent = w ? `${w}×${h}` : "waiting for video";
  }

  setState(state) {
    const badge = this.els.state;
    badge.textContent = state;
    badge.className =
      "badge " +
      ({
        live: "badge-live",
        connecting: "badge-warn",
        stopping: "badge-warn",
        interrupted: "badge-bad",
        replay: "badge-accent",
      }[state] ||
        "badge-muted");
    this.els.video.dataset.state = state;
  }

  message(html) {
    this.els.message.innerHTML = html;
    this.els.overlay.classList.remove("gone");
  }

  hideOverlay() {
    this.els.overlay.classList.add("gone");
  }
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}
