"use strict";
// The echo page: a WebSocketBridge on /ws/echo/ (EchoConsumer in demo/echo.py).
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const state = (window.demo = {received: [], status: "connecting"});
  const setStatus = (text) => { state.status = status.textContent = text; };

  const bridge = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500, maxReconnectionDelay: 5000,
  }));
  bridge.listen((message) => {
    state.received.push(message);
    log.textContent += "received " + JSON.stringify(message) + "\n";
  });
  bridge.on("open", (event, detail) => setStatus(detail.reconnected ? "reconnected" : "connected"));
  bridge.on("close", (event, detail) =>
    setStatus(detail.willReconnect ? "disconnected, retrying" : "closed"));
  bridge.connect("/ws/echo/");

  document.getElementById("echo-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // Queued by the bridge while disconnected, sent when the socket is back.
    bridge.send({text: document.getElementById("echo-text").value});
  });
})();
