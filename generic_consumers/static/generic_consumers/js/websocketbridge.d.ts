// Type declarations of websocketbridge.js: the CommonJS exports and the global
// `channels.WebSocketBridge` a classic <script> defines. The ES module's are in
// websocketbridge.d.mts (the same types).

/** Options of `new WebSocketBridge(options)`; every one is optional. */
export interface WebSocketBridgeOptions {
  /** Milliseconds before the first reconnection attempt (the backoff's base). */
  minReconnectionDelay?: number;
  /** Cap of the exponential backoff, in milliseconds. */
  maxReconnectionDelay?: number;
  /** Backoff multiplier per failed attempt. */
  reconnectionDelayGrowFactor?: number;
  /** Milliseconds an attempt may stay CONNECTING before it is dropped and retried. */
  connectionTimeout?: number;
  /** Reconnection attempts in a row before giving up. */
  maxRetries?: number;
  /** Sends kept while disconnected; beyond it the oldest are dropped. */
  maxQueuedMessages?: number;
  /** Return false to stay closed after this close. Default: always reconnect. */
  shouldReconnect?: ((event: CloseEvent) => boolean) | null;
  /** Keep the server's keepalive pings from every listener but "ping" (default true). */
  ignorePings?: boolean;
}

/** What `bridge.stream(name).onclose` receives when the server closes that stream. */
export interface StreamCloseEvent {
  stream: string;
  /** 1000 when the server sent `"close": true`, else its code (3000-4999). */
  code: number;
}

/** The handle of one stream: the same object for every `bridge.stream(name)` call. */
export interface StreamHandle {
  readonly name: string;
  /** Send `{"stream": name, "payload": payload}` (queued while disconnected). */
  send(payload: unknown): void;
  /** Called when the server closes this stream alone; the socket stays open. */
  onclose: ((this: StreamHandle, event: StreamCloseEvent) => void) | null;
}

export type StreamCallback = (this: WebSocketBridge, payload: any, stream: string) => void;
export type ListenCallback = (this: WebSocketBridge, message: any, stream: null) => void;

/** The `detail` argument of each bridge event listener. */
export interface BridgeEventDetails {
  open: { reconnected: boolean };
  reconnect: Record<string, never>;
  close: { willReconnect: boolean; delay: number | null };
  error: Record<string, never>;
  ping: { ping: unknown };
}

/** The native event each bridge event listener receives first. */
export interface BridgeEventTypes {
  open: Event;
  reconnect: Event;
  close: CloseEvent;
  error: Event;
  ping: MessageEvent;
}

export type BridgeEvent = keyof BridgeEventDetails;
export type BridgeListener<K extends BridgeEvent> = (
  this: WebSocketBridge,
  event: BridgeEventTypes[K],
  detail: BridgeEventDetails[K],
) => void;

/** `bridge.socket`: one object for the bridge's whole life, like 1.x's socket. */
export declare class ReconnectingSocket {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  readonly readyState: number;
  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  binaryType: BinaryType;
  onopen: ((this: ReconnectingSocket, event: Event) => void) | null;
  onmessage: ((this: ReconnectingSocket, event: MessageEvent) => void) | null;
  onclose: ((this: ReconnectingSocket, event: CloseEvent) => void) | null;
  onerror: ((this: ReconnectingSocket, event: Event) => void) | null;
  addEventListener(
    type: "open" | "message" | "close" | "error",
    listener: (this: ReconnectingSocket, event: any) => void,
  ): void;
  removeEventListener(
    type: "open" | "message" | "close" | "error",
    listener: (this: ReconnectingSocket, event: any) => void,
  ): void;
  /** Send raw data now when open, else queue it. */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void;
  /** Close; without keepClosed the bridge connects again (after `delay` ms). */
  close(
    code?: number,
    reason?: string,
    options?: { keepClosed?: boolean; fastClose?: boolean; delay?: number },
  ): void;
}

/** A reconnecting WebSocket client speaking `{"stream": ..., "payload": ...}`. */
export declare class WebSocketBridge {
  constructor(options?: WebSocketBridgeOptions);
  static readonly DEFAULTS: Readonly<Required<WebSocketBridgeOptions>>;
  static readonly ReconnectingSocket: typeof ReconnectingSocket;
  options: Required<WebSocketBridgeOptions>;
  /** Set by connect(); the same object across reconnections. */
  socket: ReconnectingSocket | null;
  streams: Record<string, StreamCallback>;
  default_cb: ListenCallback | null;
  url: string | null;
  protocols: string | string[] | undefined;
  /** The number of sends waiting for a socket to open. */
  readonly queued: number;
  /** Open the socket: an absolute ws:/wss:/http:/https: URL, a path, or the page. */
  connect(url?: string, protocols?: string | string[], options?: WebSocketBridgeOptions): this;
  /** Callback for frames that have no "stream" key. */
  listen(cb?: ListenCallback | null): this;
  /** Callback for the frames of one stream (replaces an earlier one). */
  demultiplex(stream: string, cb: StreamCallback): this;
  /** Send `obj` as JSON now, or queue it until a socket is open. */
  send(obj: unknown): void;
  stream(name: string): StreamHandle;
  /** Close for good: no reconnection until connect() is called again. */
  close(code?: number, reason?: string): void;
  on<K extends BridgeEvent>(type: K, cb: BridgeListener<K>): this;
  off<K extends BridgeEvent>(type: K, cb: BridgeListener<K>): this;
  addEventListener<K extends BridgeEvent>(type: K, cb: BridgeListener<K>): this;
  removeEventListener<K extends BridgeEvent>(type: K, cb: BridgeListener<K>): this;
}

declare global {
  /** Defined by websocketbridge.js (also when loaded as websocketbridge.mjs). */
  var channels: { WebSocketBridge: typeof WebSocketBridge };
}
