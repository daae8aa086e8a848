// Type-checked by tests/test_js_types.py with `tsc -p tests/js`: the ES module's
// declarations (websocketbridge.d.mts) describe what the browser tests exercise.
import DefaultBridge, {
  WebSocketBridge,
  type StreamCloseEvent,
  type StreamHandle,
} from "../../generic_consumers/static/generic_consumers/js/websocketbridge.mjs";

const bridge: WebSocketBridge = new DefaultBridge({ ignorePings: true, maxRetries: 3 });
bridge.connect("/ws/").demultiplex("chat", (payload, stream: string) => {
  console.log(stream, payload);
});
bridge.listen((message) => console.log(message));
const chat: StreamHandle = bridge.stream("chat");
chat.send({ text: "hi" });
chat.onclose = (event: StreamCloseEvent) => {
  const code: number = event.code;
  const name: string = event.stream;
  console.log(code, name);
};
bridge.on("open", (event, detail) => console.log(event.type, detail.reconnected));
bridge.on("close", (event, detail) => console.log(event.code, detail.willReconnect));
bridge.on("ping", (event, detail) => console.log(event.data, detail.ping));
const queued: number = bridge.queued;
bridge.socket?.addEventListener("message", (event) => console.log(event));
bridge.socket?.close(1000, "", { keepClosed: true });
console.log(queued, WebSocketBridge.DEFAULTS.maxQueuedMessages);

// Mistakes the declarations must catch (tsc fails on an unused @ts-expect-error).
// @ts-expect-error: there is no "message" event on the bridge (it is on bridge.socket)
bridge.on("message", () => undefined);
// @ts-expect-error: a stream handle sends a payload
chat.send();
// @ts-expect-error: options are checked
new WebSocketBridge({ maxRetries: "3" });
// @ts-expect-error: a close event's code is a number
const wrong: string = ({} as StreamCloseEvent).code;
console.log(wrong);
