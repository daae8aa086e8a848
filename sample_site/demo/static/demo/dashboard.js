"use strict";
// The dashboard: one WebSocketBridge on /ws/dashboard/ (Dashboard in demo/dashboard.py)
// carrying several streams, each frame {"stream": name, "payload": {...}}.
(function () {
  const anonymous = document.getElementById("dashboard").dataset.anonymous === "1";
  const $ = (id) => document.getElementById(id);
  // What the page knows, also read by the browser tests.
  const state = (window.demo = {
    online: [], stats: null, statsAnswers: 0, lines: [], live: [], bound: [],
    streamCloses: [], inLobby: true,
    opened: 0, refused: false, status: "connecting",
  });
  const setStatus = (text) => { state.status = $("status").textContent = text; };

  const bridge = (window.bridge = new channels.WebSocketBridge({
    minReconnectionDelay: 500,
    maxReconnectionDelay: 5000,
    maxRetries: anonymous ? 2 : Infinity,
  }));

  // presence: pushed by the server to every dashboard when someone comes or goes.
  bridge.demultiplex("presence", (payload) => {
    state.online = payload.online;
    $("presence").replaceChildren(...payload.online.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }));
    askForStats(); // the counts changed too
  });

  // stats: a question on the stream, answered by the routed consumer on demo.stats.
  let asked = 0;
  function askForStats() {
    bridge.stream("stats").send({id: ++asked});
  }
  bridge.demultiplex("stats", (payload) => {
    state.stats = payload;
    state.statsAnswers += 1;
    $("stats").replaceChildren(...Object.entries(payload).flatMap(([key, value]) => {
      const term = document.createElement("dt");
      const definition = document.createElement("dd");
      term.textContent = key;
      definition.textContent = value;
      return [term, definition];
    }));
  });
  $("stats-refresh").addEventListener("click", askForStats);

  // chat: the lobby, run for this socket by the ChatStream consumer.
  function lineItem(line) {
    const item = document.createElement("li");
    const who = document.createElement("strong");
    who.textContent = line.user;
    item.append(who, ": " + line.text);
    return item;
  }
  bridge.demultiplex("chat", (payload) => {
    if (payload.history) {
      state.lines = payload.history.slice();
      $("lines").replaceChildren(...state.lines.map(lineItem));
    }
    if (payload.message) {
      state.lines.push(payload.message);
      state.live.push(payload.message.text);
      $("lines").append(lineItem(payload.message));
    }
  });
  // "Leave the lobby": the server closes the chat stream alone ({"stream": "chat",
  // "close": true}); the bridge calls this stream's onclose, the other streams and
  // the socket go on. Sending on the stream again ({"join": true}) brings it back.
  bridge.stream("chat").onclose = (event) => {
    state.streamCloses.push(event);
    state.inLobby = false;
    $("chat-left").hidden = false;
    $("chat-left-code").textContent = event.code;
    $("chat-leave").hidden = true;
  };
  $("chat-leave").addEventListener("click", () => bridge.stream("chat").send({leave: true}));
  $("chat-join").addEventListener("click", () => {
    bridge.stream("chat").send({join: true});
    state.inLobby = true;
    $("chat-left").hidden = true;
    $("chat-leave").hidden = false;
  });

  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("chat-text");
    if (input.value.trim()) bridge.stream("chat").send({text: input.value});
    input.value = "";
  });

  // messages: the bound model (LobbyMessageBinding in demo/bindings.py). Each frame is
  // {"action": "create" | "update" | "delete", "pk", "data"}, or an "error" answer
  // to a refused request. "delete" buttons ask the binding to delete a line.
  bridge.demultiplex("messages", (payload) => {
    state.bound.push(payload);
    const item = document.createElement("li");
    if (payload.error) {
      item.textContent = `refused: ${payload.action} #${payload.pk}: ${payload.error}`;
    } else {
      item.textContent = `${payload.action} #${payload.pk} ${JSON.stringify(payload.data)} `;
      if (payload.action === "create") {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "delete";
        remove.addEventListener("click", () => {
          bridge.stream("messages").send({action: "delete", pk: payload.pk});
        });
        item.append(remove);
      }
    }
    $("bound").append(item);
  });


  bridge.on("open", (event, detail) => {
    state.opened += 1;
    setStatus(detail.reconnected ? "reconnected" : "connected");
    askForStats();
  });
  bridge.on("close", (event, detail) => {
    if (anonymous && state.opened === 0) {
      state.refused = true;
      setStatus("refused by the server: log in to see the dashboard");
    } else {
      setStatus(detail.willReconnect ? "disconnected, retrying" : "closed");
    }
  });
  bridge.connect("/ws/dashboard/");
})();
