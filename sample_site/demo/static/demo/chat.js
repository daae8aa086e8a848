"use strict";
// The chat page: a WebSocketBridge on /ws/chat/<room>/ (ChatConsumer in demo/chat.py).
// Frames are plain JSON: {"history": [...]} on connect, {"message": {...}} per line.
(function () {
  const root = document.getElementById("chat");
  const anonymous = root.dataset.anonymous === "1";
  const linesEl = document.getElementById("lines");
  const statusEl = document.getElementById("status");
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {
    lines: [], histories: 0, opened: 0, refused: false, status: "connecting",
  });
  const setStatus = (text) => { state.status = statusEl.textContent = text; };

  function lineItem(line) {
    const item = document.createElement("li");
    const who = document.createElement("strong");
    who.textContent = line.user;
    item.append(who, ": " + line.text);
    item.title = line.sent_at;
    return item;
  }

  const bridge = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500,
    maxReconnectionDelay: 5000,
    // An anonymous page's socket is refused at the handshake: stop after a few tries.
    maxRetries: anonymous ? 2 : Infinity,
  }));

  bridge.listen((frame) => {
    if (frame.history) {
      // Sent on every (re)connect: it replaces what the page had, so nothing said
      // while the socket was down is missing and nothing is shown twice.
      state.lines = frame.history.slice();
      state.histories += 1;
      linesEl.replaceChildren(...state.lines.map(lineItem));
    }
    if (frame.message) {
      state.lines.push(frame.message);
      linesEl.append(lineItem(frame.message));
    }
    if (frame.error) setStatus("error: " + frame.error);
  });
  bridge.on("open", (event, detail) => {
    state.opened += 1;
    setStatus(detail.reconnected ? "reconnected" : "connected");
  });
  bridge.on("close", (event, detail) => {
    if (anonymous && state.opened === 0) {
      state.refused = true;
      setStatus("refused by the server: log in to chat");
    } else {
      setStatus(detail.willReconnect ? "disconnected, retrying" : "closed");
    }
  });
  bridge.connect("/ws/chat/" + encodeURIComponent(root.dataset.room) + "/");

  document.getElementById("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("chat-text");
    if (input.value.trim()) bridge.send({text: input.value});
    input.value = "";
  });
})();
