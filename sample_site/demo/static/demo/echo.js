"use strict";
// The echo page: a WebSocketBridge on /ws/echo/ (EchoConsumer in demo/echo.py), and a
// second one on /ws/echo/bulk/, the same consumer behind another middleware stack.
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {
    received: [], status: "connecting", closes: [],
    bulk: {received: [], status: "connecting"},
  });
  const setStatus = (text) => { state.status = status.textContent = text; };

  function echoBridge(path, onFrame, onStatus) {
    const bridge = new channels.WebSocketBridge({
      minReconnectionDelay: 500, maxReconnectionDelay: 5000,
    });
    bridge.listen(onFrame);
    bridge.on("open", (event, detail) => onStatus(detail.reconnected ? "reconnected" : "connected"));
    bridge.on("close", (event, detail) => {
      // 4008 / 4009: closed by the rate limiter / the size guard (1008 / 1009 on
      // servers other than Daphne, which only sends 1000 and 3000-4999).
      if (event.code !== 1000) state.closes.push({path: path, code: event.code});
      log.textContent += `${path} closed by the server with ${event.code}\n`;
      onStatus(detail.willReconnect ? "disconnected, retrying" : "closed");
    });
    bridge.connect(path);
    return bridge;
  }

  const bridge = (window.bridge = echoBridge("/ws/echo/", (message) => {
    state.received.push(message);
    log.textContent += "received " + JSON.stringify(message).slice(0, 200) + "\n";
  }, setStatus));
  const bulk = (window.bulkBridge = echoBridge("/ws/echo/bulk/", (message) => {
    state.bulk.received.push(message);
  }, (text) => {
    state.bulk.status = document.getElementById("bulk-status").textContent = text;
  }));

  document.getElementById("echo-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // Queued by the bridge while disconnected, sent when the socket is back.
    bridge.send({text: document.getElementById("echo-text").value});
  });

  // The middleware demo: 60 frames at once, or one frame of 32 KiB, on either socket.
  const target = () => (document.getElementById("limits-socket").value === "bulk" ? bulk : bridge);
  document.getElementById("flood").addEventListener("click", () => {
    const socket = target();
    for (let n = 1; n <= 60; n++) socket.send({flood: n});
  });
  document.getElementById("big").addEventListener("click", () => {
    target().send({big: "x".repeat(32 * 1024)});
  });
})();
