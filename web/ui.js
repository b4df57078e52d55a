// Small pieces of the page: error banners, busy buttons, remembered ids.

const BANNER_MS = 15000;
const MAX_BANNERS = 3;

/** Show an error (an ApiError or any Error) as a banner a person can read. */
export function showError(error, { region = document.getElementById("errors") } = {}) {
  const banner = document.createElement("div");
  banner.className = "banner";
  banner.setAttribute("role", "alert");
  banner.dataset.code = error.code || "error";
  if (error.status !== undefined) banner.dataset.status = String(error.status);

  const icon = document.createElement("div");
  icon.className = "banner-icon";
  icon.textContent = "!";

  const body = document.createElement("div");
  const title = document.createElement("div");
  title.className = "banner-title";
  title.textContent = error.title || "Something went wrong";
  if (error.code) {
    const code = document.createElement("code");
    code.textContent = error.code;
    title.append(code);
  }
  const message = document.createElement("div");
  message.className = "banner-message";
  message.textContent = sentence(error.message || String(error));
  body.append(title, message);

  const problems = error.problems || [];
  if (problems.length > 1) {
    const list = document.createElement("ul");
    list.className = "banner-problems";
    for (const p of problems) {
      const li = document.createElement("li");
      li.textContent = p;
      list.append(li);
    }
    body.append(list);
  }
  if (error.method && error.path) {
    const where = document.createElement("div");
    where.className = "banner-where";
    where.textContent = `${error.method} ${error.path}`;
    body.append(where);
  }

  const close = document.createElement("button");
  close.type = "button";
  close.className = "banner-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => banner.remove());

  banner.append(icon, body, close);
  region.prepend(banner);
  while (region.children.length > MAX_BANNERS) region.lastElementChild.remove();
  setTimeout(() => banner.remove(), BANNER_MS);
  return banner;
}

/** "text is empty" -> "Text is empty." */
function sentence(text) {
  const t = String(text).trim();
  if (!t) return t;
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** Run ``work`` with ``button`` showing a spinner and disabled; errors go to a banner. */
export async function busy(button, work) {
  const wasDisabled = button.disabled;
  button.disabled = true;
  button.classList.add("busy");
  try {
    return await work();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    button.classList.remove("busy");
    button.disabled = wasDisabled;
  }
}

/** A short list in localStorage, newest first. */
export class Recent {
  constructor(key, limit = 12) {
    this.key = key;
    this.limit = limit;
  }

  all() {
    try {
      const items = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  add(item, same = (a, b) => a === b) {
    const items = [item, ...this.all().filter((x) => !same(x, item))].slice(0, this.limit);
    localStorage.setItem(this.key, JSON.stringify(items));
    return items;
  }

  update(match, change) {
    const items = this.all().map((x) => (match(x) ? { ...x, ...change } : x));
    localStorage.setItem(this.key, JSON.stringify(items));
  }
}

export function relativeTime(iso) {
  if (!iso) return "–";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 60) return format.format(Math.round(seconds), "second");
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

export function clockTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "–";
}
