// The status page: polls /api/system-status and draws one row per service.
//
// Reasons and values come from outside services, so every piece of data reaches
// the page through textContent or setAttribute, never through innerHTML.
(function () {
  "use strict";

  const ENDPOINT = "api/system-status";
  // Says what this statusd is, e.g. that it is a demo; it holds no status data.
  const HEALTH = "healthz";
  const POLL_MS = 5000;
  // Shorter than the poll interval, so that a stalled request never stacks up.
  const FETCH_TIMEOUT_MS = 4000;
  const KEY_STORAGE = "statusd.apiKey";

  const SERVICE_NAMES = {
    instaGraphApi: "Instagram Graph API",
    webhooksConfig: "Webhooks",
    sqlDatabase: "SQL database",
    groqCloud: "Groq Cloud",
    pinecone: "Pinecone",
    scheduler: "Scheduler",
    automation: "Automation",
    geminiApi: "Gemini API",
    llumaAi: "Lluma AI",
  };

  const FIELD_LABELS = {
    latency: "Latency",
    rateLimitRemaining: "Rate limit remaining",
    activeHooks: "Active hooks",
    lastEvent: "Last event",
    activeConnections: "Active connections",
    model: "Model",
    index: "Index",
    totalVectors: "Total vectors",
    jobsQueued: "Jobs queued",
    nextRun: "Next run",
    lastTriggered: "Last triggered",
    successRate: "Success rate",
    quotaUsedToday: "Quota used today",
    modelVersion: "Model version",
  };

  // Keys of a service that get their own column instead of a measurement line.
  const OWN_COLUMNS = new Set(["status", "checkedAt", "reason"]);

  // How bad each status is (as in shared.model.SEVERITY); overall is the worst.
  const SEVERITY = { operational: 0, unknown: 1, degraded: 2, down: 3 };
  const ICONS = { operational: "✓", unknown: "?", degraded: "!", down: "✕" };

  const page = {};
  const rows = new Map();
  const state = { document: null, clockOffsetMs: 0, refreshedAt: null, timer: 0 };
  let memoryKey = null;

  function start() {
    for (const id of [
      "banner",
      "notice",
      "refreshed",
      "key-form",
      "key-input",
      "key-message",
      "status-region",
      "overall",
      "service-rows",
    ]) {
      page[id] = document.getElementById(id);
    }
    page["key-form"].addEventListener("submit", useEnteredKey);
    setInterval(updateAges, 1000);
    showNotice();
    poll();
  }

  // A notice the server wants every reader to see (the demo says it is one).
  async function showNotice() {
    try {
      const response = await fetch(HEALTH, { cache: "no-store" });
      const body = response.ok ? await response.json() : {};
      if (typeof body.notice === "string" && body.notice) {
        setText(page.notice, body.notice);
        page.notice.hidden = false;
      }
    } catch (error) {
      // No notice is the usual case; the status itself reports trouble.
    }
  }

  // Polling ---------------------------------------------------------------------

  async function poll() {
    clearTimeout(state.timer);
    try {
      await refresh();
    } finally {
      state.timer = setTimeout(poll, POLL_MS);
    }
  }

  async function refresh() {
    let response;
    try {
      response = await fetchStatus();
    } catch (error) {
      showTrouble("The status API is unreachable (" + describeError(error) + ").");
      return;
    }

    if (response.status === 401) {
      showKeyPrompt(await errorDetail(response));
      return;
    }
    if (response.status === 503) {
      const detail = await errorDetail(response);
      showTrouble("The status store is unreachable (HTTP 503: " + detail + ").");
      return;
    }
    if (!response.ok) {
      const detail = await errorDetail(response);
      showTrouble("The status API answered HTTP " + response.status + " (" + detail + ").");
      return;
    }

    let body;
    try {
      body = await response.json();
    } catch (error) {
      showTrouble("The status API sent an answer that is not JSON.");
      return;
    }
    showDocument(body);
  }

  async function fetchStatus() {
    const headers = { Accept: "application/json" };
    const key = storedKey();
    if (key) {
      headers["X-API-Key"] = key;
    }
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      return await fetch(ENDPOINT, {
        headers: headers,
        cache: "no-store",
        credentials: "same-origin",
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timeout);
    }
  }

  async function errorDetail(response) {
    try {
      const body = await response.json();
      return String(body.detail || body.error || response.statusText);
    } catch (error) {
      return response.statusText || "no detail";
    }
  }

  function describeError(error) {
    if (error && error.name === "AbortError") {
      return "no answer within " + FETCH_TIMEOUT_MS / 1000 + " s";
    }
    return String((error && error.message) || error);
  }

  // States of the page --------------------------------------------------------------

  function showDocument(body) {
    // Ages are measured on the server's clock: the reader's clock may be off.
    const serverNow = Date.parse(body.timestamp);
    state.clockOffsetMs = Number.isNaN(serverNow) ? 0 : Date.now() - serverNow;
    state.document = body;
    state.refreshedAt = new Date();

    page["key-form"].hidden = true;
    setBanner(null);
    page["status-region"].classList.remove("stale");
    drawServices(servicesOf(body));
    setText(page.refreshed, "Last refreshed at " + clockTime(state.refreshedAt));
  }

  function showTrouble(message) {
    const since = state.refreshedAt
      ? " The data below is from " + clockTime(state.refreshedAt) + " and may be out of date."
      : " No data to show yet.";
    setBanner(message + " Retrying every " + POLL_MS / 1000 + " seconds." + since);
    page["key-form"].hidden = true;
    page["status-region"].classList.add("stale");
    setText(page.refreshed, "Could not refresh at " + clockTime(new Date()) + "; retrying");
  }

  function showKeyPrompt(detail) {
    const message = storedKey()
      ? "The API key was refused (" + detail + "). Enter the right X-API-Key."
      : "The status API needs a key (" + detail + "). Enter your X-API-Key to see it.";
    setText(page["key-message"], message);
    setBanner(null);
    page["key-form"].hidden = false;
    page["status-region"].classList.add("stale");
    setText(page.refreshed, "Waiting for an API key");
  }

  function setBanner(message) {
    page.banner.hidden = message === null;
    // Rewriting the same words would make screen readers announce them again.
    setText(page.banner, message || "");
  }

  function useEnteredKey(event) {
    event.preventDefault();
    storeKey(page["key-input"].value.trim());
    page["key-input"].value = "";
    page["key-form"].hidden = true;
    poll();
  }

  // The services table --------------------------------------------------------------

  function servicesOf(body) {
    const services = [];
    for (const [key, entry] of Object.entries(body || {})) {
      if (entry && typeof entry === "object" && !Array.isArray(entry) && "status" in entry) {
        services.push([key, entry]);
      }
    }
    return services;
  }

  function drawServices(services) {
    const tbody = page["service-rows"];
    const seen = new Set();
    let worst = "operational";

    services.forEach(([key, entry], position) => {
      seen.add(key);
      const status = statusOf(entry);
      if (SEVERITY[status] > SEVERITY[worst]) {
        worst = status;
      }
      const row = upToDateRow(key, entry);
      // Move a row only when it is out of place: a moved node is announced again.
      if (tbody.children[position] !== row) {
        tbody.insertBefore(row, tbody.children[position] || null);
      }
    });

    for (const [key, known] of rows) {
      if (!seen.has(key)) {
        known.row.remove();
        rows.delete(key);
      }
    }
    for (const leftover of tbody.querySelectorAll("tr.placeholder")) {
      leftover.remove();
    }
    if (services.length === 0) {
      worst = "unknown";
      tbody.appendChild(placeholderRow("The API lists no services."));
    }
    drawBadge(page.overall, worst, worst);
    document.title = "System status: " + worst;
    updateAges();
  }

  function upToDateRow(key, entry) {
    const signature = JSON.stringify(entry, (name, value) =>
      name === "checkedAt" ? undefined : value
    );
    const known = rows.get(key);
    if (known && known.signature === signature) {
      known.checkedAt = entry.checkedAt;
      return known.row;
    }
    const built = buildRow(key, entry);
    if (known) {
      known.row.replaceWith(built.row);
    }
    rows.set(key, { signature: signature, checkedAt: entry.checkedAt, ...built });
    return built.row;
  }

  function buildRow(key, entry) {
    const status = statusOf(entry);
    const row = make("tr", { "data-service": key, "data-status": status });

    const name = make("th", { scope: "row" }, SERVICE_NAMES[key] || key);
    if (SERVICE_NAMES[key]) {
      name.title = key;
    }
    row.appendChild(name);

    const badgeCell = make("td", { class: "status-cell" });
    const word = typeof entry.status === "string" ? entry.status : "unknown";
    badgeCell.appendChild(drawBadge(make("span"), status, word));
    row.appendChild(badgeCell);

    row.appendChild(fieldsCell(entry));
    row.appendChild(reasonCell(entry.reason));

    // Ages change every second; announcing each tick would drown everything else.
    const ageCell = make("td", { class: "age", "aria-live": "off" });
    row.appendChild(ageCell);
    return { row: row, ageCell: ageCell };
  }

  function fieldsCell(entry) {
    const cell = make("td", { class: "fields-cell" });
    const list = make("dl", { class: "fields" });
    for (const [name, value] of Object.entries(entry)) {
      if (OWN_COLUMNS.has(name)) {
        continue;
      }
      const item = make("div", { class: "field", "data-field": name });
      item.appendChild(make("dt", {}, FIELD_LABELS[name] || name));
      const shown = showValue(value);
      item.appendChild(make("dd", shown.missing ? { class: "missing" } : {}, shown.text));
      list.appendChild(item);
    }
    cell.appendChild(list.children.length ? list : make("span", { class: "missing" }, "—"));
    return cell;
  }

  function reasonCell(reason) {
    if (reason === null || reason === undefined || reason === "") {
      return make("td", { class: "reason missing" }, "—");
    }
    return make("td", { class: "reason" }, String(reason));
  }

  function placeholderRow(text) {
    const row = make("tr", { class: "placeholder" });
    row.appendChild(make("td", { colspan: "5" }, text));
    return row;
  }

  function drawBadge(badge, status, word) {
    badge.className = "badge badge-" + status;
    badge.setAttribute("data-status", status);
    const icon = make("span", { class: "badge-icon", "aria-hidden": "true" }, ICONS[status]);
    const label = make("span", { class: "badge-word" }, word);
    badge.replaceChildren(icon, label);
    return badge;
  }

  function statusOf(entry) {
    return Object.prototype.hasOwnProperty.call(SEVERITY, entry.status)
      ? entry.status
      : "unknown";
  }

  function showValue(value) {
    if (value === null || value === undefined) {
      return { text: "N/A", missing: true };
    }
    if (typeof value === "object") {
      return { text: JSON.stringify(value), missing: false };
    }
    const text = String(value);
    return { text: text, missing: text === "N/A" };
  }

  // Ages ----------------------------------------------------------------------------

  function updateAges() {
    const serverNow = Date.now() - state.clockOffsetMs;
    for (const known of rows.values()) {
      const checked = Date.parse(known.checkedAt);
      if (Number.isNaN(checked)) {
        setText(known.ageCell, "not checked");
        known.ageCell.removeAttribute("title");
        continue;
      }
      setText(known.ageCell, "checked " + ago((serverNow - checked) / 1000));
      known.ageCell.title = known.checkedAt;
    }
  }

  function ago(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (whole >= size) {
        return Math.floor(whole / size) + unit + " ago";
      }
    }
    return whole + "s ago";
  }

  // Small helpers -------------------------------------------------------------------

  function make(tag, attributes, text) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      element.setAttribute(name, value);
    }
    if (text !== undefined) {
      element.textContent = text;
    }
    return element;
  }

  function setText(element, text) {
    if (element.textContent !== text) {
      element.textContent = text;
    }
  }

  function clockTime(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // The key lives in sessionStorage only; a browser that refuses storage keeps it
  // in memory for this page's life.
  function storedKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || memoryKey;
    } catch (error) {
      return memoryKey;
    }
  }

  function storeKey(key) {
    memoryKey = key || null;
    try {
      if (key) {
        window.sessionStorage.setItem(KEY_STORAGE, key);
      } else {
        window.sessionStorage.removeItem(KEY_STORAGE);
      }
    } catch (error) {
      // Storage refused (private mode, policy): the in-memory copy serves.
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
