// The classic script's global, as a page using <script src="websocketbridge.js"> sees it.
/// <reference path="../../generic_consumers/static/generic_consumers/js/websocketbridge.d.ts" />

const classic = new channels.WebSocketBridge();
classic.connect();
classic.stream("news").onclose = function (event) {
  console.log(this.name, event.code);
};
export {};
