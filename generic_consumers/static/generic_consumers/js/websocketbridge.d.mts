// Type declarations of the ES module websocketbridge.mjs: the same class and types as
// websocketbridge.js (see websocketbridge.d.ts), as named exports and the default.
import { WebSocketBridge } from "./websocketbridge.js";

export * from "./websocketbridge.js";
export default WebSocketBridge;
