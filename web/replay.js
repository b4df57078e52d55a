// Replay a session to MP4: POST /session/{id}/replay starts a render job; its progress comes
// over the job's WebSocket (or, when that cannot be opened, by polling GET /jobs/{id}).

import { api, socketProtocols, withToken } from "./api.js";

const POLL_MS = 500;

export class ReplayPanel {
  constructor(els, { onError, onDone }) {
    this.els = els; // {button, status, meter, bar, fill, percent, detail, result, where, link}
    this.onError = onError;
    this.onDone = onDone;
    this.sessionId = null;
    this.jobId = null;
    this.ws = null;
    this.pollTimer = null;
    els.button.addEventListener("click", () => this.start());
  }

  setSession(sessionId) {
    if (sessionId === this.sessionId) return;
    this.stopFollowing();
    this.sessionId = sessionId;
    this.jobId = null;
    this.terminal = false;
    this.els.button.disabled = !sessionId;
    this.els.button.textContent = "Render replay";
    this.els.meter.hidden = true;
    this.els.detail.hidden = true;
    this.els.result.hidden = true;
    this.setStatus("idle", "badge-muted");
  }

  async start() {
    if (!this.sessionId) return;
    const sessionId = this.sessionId;
    this.stopFollowing();
    this.terminal = false;
    this.els.button.disabled = true;
    this.els.button.classList.add("busy");
    this.els.result.hidden = true;
    this.els.meter.hidden = false;
    this.els.meter.className = "progress";
    this.show({ status: "queued", progress: 0 });
    let job;
    try {
      job = await api.replay(sessionId);
    } catch (e) {
      this.fail(e.message);
      this.onError(e);
      return;
    }
    if (sessionId !== this.sessionId) return;
    this.jobId = job.job_id;
    this.show(job);
    this.follow(job);
  }

  follow(job) {
    const url = new URL(job.stream, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let finished = false;
    const ws = new WebSocket(url.href, socketProtocols());
    this.ws = ws;
    ws.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.job_id !== this.jobId) return;
      this.show(frame);
      if (frame.status === "done" || frame.status === "failed") finished = true;
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!finished) this.poll(job.job_id); // the stream went away early: ask instead
    };
  }

  poll(jobId) {
    const tick = async () => {
      if (jobId !== this.jobId) return;
      try {
        const job = await api.job(jobId);
        this.show(job);
        if (job.status === "done" || job.status === "failed") return;
      } catch (e) {
        this.onError(e);
      }
      this.pollTimer = setTimeout(tick, POLL_MS);
    };
    tick();
  }

  /** A progress frame of the session's stream (the same job seen from there). */
  progressFrame(frame) {
    if (frame.job_id === this.jobId) this.show(frame);
  }

  show(job) {
    if (this.terminal) return; // a late progress frame after the end
    const progress = job.status === "done" ? 1 : Math.max(0, Math.min(1, job.progress || 0));
    const percent = Math.floor(progress * 100);
    this.els.fill.style.width = `${percent}%`;
    this.els.bar.setAttribute("aria-valuenow", String(percent));
    this.els.percent.textContent = `${percent}%`;
    if (job.status === "done") {
      this.finish(job.result);
    } else if (job.status === "failed") {
      const error = job.error || {};
      this.fail(error.message || "the render failed");
    } else {
      const frames = job.frames_total
        ? `${job.frames_done || 0} of ${job.frames_total} frames`
        : "waiting for a renderer";
      this.els.detail.textContent = `Rendering: ${frames}.`;
      this.els.detail.hidden = false;
      this.setStatus(job.status === "queued" ? "queued" : "rendering", "badge-warn");
    }
  }

  finish(result) {
    this.terminal = true;
    this.stopFollowing();
    this.els.meter.className = "progress done";
    this.els.button.classList.remove("busy");
    this.els.button.disabled = false;
    this.els.button.textContent = "Render again";
    this.setStatus("done", "badge-ok");
    const mb = (result.size / 1e6).toFixed(result.size > 1e7 ? 0 : 1);
    this.els.detail.textContent =
      `${result.width}×${result.height}, ${result.duration_s.toFixed(1)} s, ` +
      `${result.frames} frames${result.has_audio ? ", with speech" : ""}; ` +
      `rendered in ${result.render_s.toFixed(1)} s.`;
    this.els.detail.hidden = false;
    this.els.link.href = withToken(result.url);
    this.els.link.download = `${this.sessionId}.mp4`;
    this.els.link.textContent = `Download MP4 · ${mb} MB`;
    this.els.result.hidden = false;
    this.els.where.hidden = !this.onDone?.(result);
  }

  fail(message) {
    this.terminal = true;
    this.stopFollowing();
    this.els.meter.className = "progress failed";
    this.els.button.classList.remove("busy");
    this.els.button.disabled = !this.sessionId;
    this.els.button.textContent = "Try again";
    this.els.detail.textContent = `The replay failed: ${message}`;
    this.els.detail.hidden = false;
    this.setStatus("failed", "badge-bad");
  }

  stopFollowing() {
    clearTimeout(this.pollTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
  }

  setStatus(text, cls) {
    this.els.status.textContent = text;
    this.els.status.className = `badge ${cls}`;
  }
}
