"use strict";
// The notifications page: a WebSocketBridge on /ws/notify/ (demo/notifications.py).
// Frames: {"notice": {...}} from the group; {"job", "state", ...} for thumbnail jobs.
(function () {
  const statusEl = document.getElementById("status");
  const noticesEl = document.getElementById("notices");
  const jobsEl = document.getElementById("jobs");
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {notices: [], jobs: {}, states: {}, status: "connecting"});
  const setStatus = (text) => { state.status = statusEl.textContent = text; };

  const bridge = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500, maxReconnectionDelay: 5000,
  }));

  function showJob(frame) {
    let item = document.getElementById("job-" + frame.job);
    if (!item) {
      item = document.createElement("li");
      item.id = "job-" + frame.job;
      item.className = "job";
      jobsEl.append(item);
    }
    const text = document.createElement("span");
    text.className = "job-state";
    text.textContent = frame.state + (frame.steps ? ` ${frame.step}/${frame.steps}` : "") +
      (frame.state === "done" ? ` (rendered by process ${frame.worker_pid})` : "");
    item.replaceChildren(text);
    if (frame.state === "rendering") {
      const cancel = document.createElement("button");
      cancel.textContent = "Cancel";
      cancel.className = "cancel";
      cancel.addEventListener("click", () => bridge.send({cancel: frame.job}));
      item.append(" ", cancel);
    }
    if (frame.svg) {
      const image = document.createElement("img");
      image.alt = "thumbnail";
      image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(frame.svg);
      item.append(" ", image);
    }
  }

  bridge.listen((frame) => {
    if (frame.notice) {
      state.notices.push(frame.notice);
      const item = document.createElement("li");
      const who = document.createElement("strong");
      who.textContent = frame.notice.sender;
      item.append(who, ": " + frame.notice.text);
      noticesEl.append(item);
    }
    if (frame.job) {
      state.jobs[frame.job] = frame;
      (state.states[frame.job] = state.states[frame.job] || []).push(frame.state);
      state.lastJob = frame.job;
      showJob(frame);
    }
    if (frame.error) setStatus("error: " + frame.error);
  });
  bridge.on("open", (event, detail) => setStatus(detail.reconnected ? "reconnected" : "connected"));
  bridge.on("close", (event, detail) =>
    setStatus(detail.willReconnect ? "disconnected, retrying" : "closed"));
  bridge.connect("/ws/notify/");

  const form = document.getElementById("notify-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // An ordinary POST to a Django view; the notice comes back over the socket.
    const response = await fetch(form.action, {method: "POST", body: new FormData(form)});
    state.posted = response.status;
    document.getElementById("notify-text").value = "";
  });
  document.getElementById("thumbnail-form").addEventListener("submit", (event) => {
    event.preventDefault();
    bridge.send({
      thumbnail: document.getElementById("thumbnail-label").value,
      steps: Number(document.getElementById("thumbnail-steps").value),
    });
  });
})();
