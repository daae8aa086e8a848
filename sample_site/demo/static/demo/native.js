"use strict";
// The native page: a WebSocketBridge on /ws/native/notify/, served by a native
// Channels 4 consumer (demo/native.py) mounted beside the 1.x routing.
(function () {
  const $ = (id) => document.getElementById(id);
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {notices: [], errors: [], status: "connecting"});
  const setStatus = (text) => { state.status = $("status").textContent = text; };

  const bridge = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500, maxReconnectionDelay: 5000,
  }));
  bridge.listen((frame) => {
    if (frame.error) {
      state.errors.push(frame.error);
      return;
    }
    state.notices.push(frame.notice);
    const item = document.createElement("li");
    const who = document.createElement("strong");
    who.textContent = frame.notice.sender;
    item.append(who, ": " + frame.notice.text);
    $("notices").append(item);
  });
  bridge.on("open", (event, detail) => setStatus(detail.reconnected ? "reconnected" : "connected"));
  bridge.on("close", (event, detail) =>
    setStatus(detail.willReconnect ? "disconnected, retrying" : "closed"));
  bridge.connect("/ws/native/notify/");

  $("native-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("native-text");
    if (input.value.trim()) bridge.send({text: input.value});
    input.value = "";
  });
})();
