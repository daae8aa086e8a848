"use strict";
// The sessions page: two WebSocketBridges on the sockets of demo/visits.py.
(function () {
  const statusEl = document.getElementById("status");
  const log = document.getElementById("log");
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {whoami: null, counter: [], status: "connecting"});
  const setStatus = (text) => { state.status = statusEl.textContent = text; };

  // Answers once, on connect, from the HTTP session of this page's cookie.
  const whoami = new channels.WebSocketBridge({maxRetries: 0});
  whoami.listen((frame) => {
    state.whoami = frame;
    document.getElementById("whoami").textContent =
      `you are ${frame.whoami}, and you have opened this page ${frame.page_views} time(s)`;
    whoami.close();
  });
  whoami.connect("/ws/session/whoami/");

  const counter = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500, maxReconnectionDelay: 5000,
  }));
  counter.listen((frame) => {
    state.counter.push(frame);
    log.textContent += "received " + JSON.stringify(frame) + "\n";
  });
  counter.on("open", (event, detail) => setStatus(detail.reconnected ? "reconnected" : "connected"));
  counter.on("close", (event, detail) =>
    setStatus(detail.willReconnect ? "disconnected, retrying" : "closed"));
  counter.connect("/ws/session/counter/");

  document.getElementById("counter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    counter.send({frame: state.counter.length});
  });
})();
