"use strict";
// The live clock: a WebSocketBridge on /ws/clock/ (ClockConsumer in demo/clock.py).
// Frames: {"tick", "run", "interval", "now"} from the socket's background task,
// {"started": run, "interval"} and {"stopped": true} answering the buttons.
(function () {
  const $ = (id) => document.getElementById(id);
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {
    status: "connecting", ticks: [], started: [], stopped: 0,
    pings: 0, lastPing: null, pingFrames: 0, errors: [],
  });
  const setStatus = (text) => { state.status = $("status").textContent = text; };
  const log = (text) => {
    const item = document.createElement("li");
    item.textContent = text;
    $("clock-log").prepend(item);
  };

  const bridge = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500, maxReconnectionDelay: 5000,
  }));
  bridge.listen((frame) => {
    if ("ping" in frame) state.pingFrames += 1; // never: the bridge keeps pings apart
    if (frame.tick !== undefined) {
      state.ticks.push(frame);
      $("clock").textContent = new Date(frame.now).toLocaleTimeString();
      $("tick").textContent = `tick ${frame.tick} of run ${frame.run}, every ${frame.interval} s`;
    } else if (frame.started) {
      state.started.push(frame);
      $("running").textContent = `running, every ${frame.interval} s`;
      log(`ticker ${frame.started} started, every ${frame.interval} s`);
    } else if (frame.stopped) {
      state.stopped += 1;
      $("running").textContent = "stopped";
      log("ticker stopped");
    } else if (frame.error) {
      state.errors.push(frame.error);
      log("error: " + frame.error);
    }
  });
  // Keepalive pings reach only "ping" listeners (not listen() above).
  bridge.on("ping", (event, detail) => {
    state.pings += 1;
    state.lastPing = detail.ping;
    $("pings").textContent = `${state.pings} (last at ${detail.ping})`;
  });
  bridge.on("open", (event, detail) => setStatus(detail.reconnected ? "reconnected" : "connected"));
  bridge.on("close", (event, detail) =>
    setStatus(detail.willReconnect ? "disconnected, retrying" : "closed"));
  bridge.connect("/ws/clock/");

  $("clock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    bridge.send({interval: Number($("clock-interval").value)});
  });
  $("clock-stop").addEventListener("click", () => bridge.send({stop: true}));
})();
