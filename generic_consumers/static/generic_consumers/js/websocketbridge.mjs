/*
 * ES module entry point of WebSocketBridge:
 *
 *   import { WebSocketBridge } from "/static/generic_consumers/js/websocketbridge.mjs";
 *
 * It evaluates websocketbridge.js (which also defines the global
 * channels.WebSocketBridge) and exports that class, so both ways share one copy.
 */
import "./websocketbridge.js";

const WebSocketBridge = globalThis.channels.WebSocketBridge;

export { WebSocketBridge };
export default WebSocketBridge;
