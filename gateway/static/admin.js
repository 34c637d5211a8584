// easgate admin page: live updates over Server-Sent Events and quarantine countdowns.
// Every value from the server is written with textContent, never as HTML.
(() => {
  "use strict";
  const body = document.body;
  const clock = { now: Date.parse(body.dataset.clockNow || ""), mode: body.dataset.clockMode, at: Date.now() };

  // The gateway clock's current time: frozen in manual mode, running in real mode.
  const gatewayNow = () => clock.mode === "real" ? clock.now + (Date.now() - clock.at) : clock.now;

  // As gateway/admin/render.py describe_span: hours up to two days, then days.
  const span = (ms) => {
    if (!(ms > 0)) return "—";
    const total = Math.floor(ms / 60000);
    const hours = Math.floor(total / 60), minutes = total % 60;
    if (hours >= 48) return `${Math.floor(hours / 24)} d ${hours % 24} h`;
    if (hours) return `${hours} h ${minutes} min`;
    return `${Math.max(minutes, 1)} min`;
  };
  const when = (iso) => {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d)) return "—";
    return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  };

  const tickCountdowns = () => {
    const now = gatewayNow();
    document.querySelectorAll("[data-until]").forEach((el) => {
      const until = Date.parse(el.dataset.until || "");
      el.textContent = isNaN(until) ? "—" : span(until - now);
    });
  };

  const setText = (root, field, value) => {
    root.querySelectorAll(`[data-field="${field}"]`).forEach((el) => { el.textContent = value; });
  };

  const matchesFilter = (table, device) => {
    const user = (table.dataset.filterUser || "").toLowerCase();
    const state = table.dataset.filterState || "";
    const tenant = (table.dataset.tenant || "").toLowerCase();
    const address = (device.user || "").toLowerCase();
    if (tenant && !address.endsWith("@" + tenant)) return false;
    if (user && address !== user) return false;
    return !state || device.state === state;
  };

  const fill = (root, device) => {
    setText(root, "user", device.user);
    setText(root, "app", device.app);
    setText(root, "user_agent", device.user_agent);
    setText(root, "protocol_version", device.protocol_version);
    setText(root, "state", device.state);
    setText(root, "reason", device.reason);
    setText(root, "choice", device.choice || "—");
    setText(root, "last_seen", when(device.last_seen));
    root.querySelectorAll('[data-field="state"]').forEach((el) => { el.className = "state " + device.state; });
    root.querySelectorAll('[data-field="time_left"]').forEach((el) => { el.dataset.until = device.quarantine_until || ""; });
    if (root.dataset) root.dataset.state = device.state;
  };

  const newRow = (device) => {
    const template = document.getElementById("device-row-template");
    if (!template) return null;
    const row = template.content.querySelector("tr").cloneNode(true);
    row.dataset.deviceId = String(device.id);
    row.querySelector('a[data-link="device"]').href = `/admin/devices/${device.id}`;
    row.querySelectorAll("form").forEach((form) => { form.action = `/admin/devices/${device.id}/action`; });
    return row;
  };

  const onDevice = (device) => {
    const selector = `[data-device-id="${CSS.escape(String(device.id))}"]`;
    let roots = Array.from(document.querySelectorAll(selector));
    const table = document.querySelector("table.devices");
    if (table && !table.querySelector(`tbody ${selector}`) && matchesFilter(table, device)) {
      const row = newRow(device);
      if (row) {
        const rows = table.querySelector("tbody");
        rows.querySelectorAll("tr.empty").forEach((tr) => tr.remove());
        rows.appendChild(row);
        roots.push(row);
      }
    }
    roots.forEach((root) => {
      const before = root.dataset.state;
      fill(root, device);
      if (root.tagName === "TR") {
        root.hidden = table ? !matchesFilter(table, device) : false;
        if (before !== device.state) { root.classList.remove("flash-row"); void root.offsetWidth; root.classList.add("flash-row"); }
      }
    });
    tickCountdowns();
  };

  const onClock = (data) => {
    clock.now = Date.parse(data.now); clock.mode = data.mode; clock.at = Date.now();
    document.querySelectorAll('[data-clock-field="now"]').forEach((el) => { el.textContent = when(data.now); });
    document.querySelectorAll('[data-clock-field="mode"]').forEach((el) => { el.textContent = data.mode; });
    tickCountdowns();
  };

  const onTenant = (data) => {
    document.querySelectorAll(`[data-tenant-mode="${CSS.escape(data.domain)}"]`).forEach((el) => { el.textContent = data.mode; });
  };

  // Radio options only mean something while the check box is ticked.
  const enabled = document.getElementById("access-enabled");
  if (enabled) {
    const sync = () => document.querySelectorAll('#access-options input[type="radio"]').forEach((r) => { r.disabled = !enabled.checked; });
    enabled.addEventListener("change", sync);
    sync();
  }

  // Clock buttons post in the background: the page stays, and the live feed shows the
  // clock and the devices moving. Without script they are ordinary forms.
  const showFlash = (kind, text) => {
    let flash = document.querySelector("p.flash");
    if (!flash) {
      flash = document.createElement("p");
      document.querySelector("main.page").prepend(flash);
    }
    flash.className = `flash ${kind}`;
    flash.setAttribute("role", "status");
    flash.textContent = text;
  };
  document.querySelectorAll("form[data-background]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      try {
        const answer = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
        if (answer.ok) { showFlash("ok", form.dataset.background); return; }
        const page = new DOMParser().parseFromString(await answer.text(), "text/html");
        const reason = page.querySelector(".flash.error, .error");
        showFlash("error", reason ? reason.textContent : `Refused (HTTP ${answer.status}).`);
      } catch (e) {
        showFlash("error", "The gateway did not answer.");
      }
    });
  });

  const connect = () => {
    if (!body.dataset.live || !window.EventSource) return;
    const source = new EventSource(body.dataset.live);
    const handle = (fn) => (message) => { try { fn(JSON.parse(message.data)); } catch (e) { console.error(e); } };
    source.addEventListener("device", handle(onDevice));
    source.addEventListener("clock", handle(onClock));
    source.addEventListener("tenant", handle(onTenant));
    source.addEventListener("open", () => { body.dataset.liveState = "open"; });
    source.addEventListener("error", () => { body.dataset.liveState = "reconnecting"; });
  };

  connect();
  tickCountdowns();
  setInterval(tickCountdowns, 15000);
})();
