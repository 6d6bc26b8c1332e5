// The client side of the TypeScript Magic Button Messaging WebSocket adapter (the guide's
// `WebSocketTransport`, advanced-usage-examples.md), in plain JavaScript on npm's `ws`.
// It speaks exactly that adapter's frames, one JSON object per text frame:
//
//   {type:"request", requestId, requestType, payload, context}
//   {type:"response", requestId, success:true, data}
//   {type:"response", requestId, success:false, error:{code, message, status, details}}
//   {type:"event", event, payload, context}
//
// Like the adapter, a failed request rejects with an Error carrying `code` and `details`
// (and `status`, which the Rust servers add).

import { randomUUID } from "node:crypto";
import WebSocket from "ws";

/** The default bound on every wait, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 5000;

export class MessagingClient {
  /** Opens a connection to `url`; rejects if it is not open within `timeoutMs`. */
  static connect(url, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`could not connect to ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("open", () => {
        clearTimeout(timer);
        resolve(new MessagingClient(socket));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`could not connect to ${url}: ${error.message}`));
      });
    });
  }

  constructor(socket) {
    this.socket = socket;
    /** Requests waiting for their response, by requestId. */
    this.pending = new Map();
    /** Event handlers, by event name. */
    this.handlers = new Map();
    /** Frames the server sent that were neither a pending response nor an event. */
    this.unmatched = [];
    this.closed = new Promise((resolve) => socket.once("close", (code, reason) => {
      const why = new Error(`connection closed (${code} ${reason})`);
      for (const { reject } of this.pending.values()) reject(why);
      this.pending.clear();
      resolve({ code, reason: reason.toString() });
    }));
    socket.on("message", (data, isBinary) => this.onMessage(data, isBinary));
  }

  onMessage(data, isBinary) {
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch (error) {
      this.unmatched.push({ invalid: data.toString(), isBinary, error: error.message });
      return;
    }
    if (message.type === "response" && this.pending.has(message.requestId)) {
      const waiter = this.pending.get(message.requestId);
      this.pending.delete(message.requestId);
      waiter.resolve(message);
    } else if (message.type === "event") {
      for (const handler of this.handlers.get(message.event) ?? []) {
        handler(message.payload, message.context ?? {}, message);
      }
    } else {
      this.unmatched.push(message);
    }
  }

  /**
   * Sends a request and resolves with the whole response frame, whatever it says.
   * `requestId` defaults to a fresh UUID, as the adapter does.
   */
  requestFrame(requestType, payload, context = {}, options = {}) {
    const { requestId = randomUUID(), timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    const frame = { type: "request", requestId, requestType, payload, context };
    return this.sendRaw(JSON.stringify(frame), { requestId, timeoutMs });
  }

  /** Sends a request: resolves with `data`, or rejects with the adapter's Error shape. */
  async request(requestType, payload, context = {}, options = {}) {
    const response = await this.requestFrame(requestType, payload, context, options);
    if (response.success === true) return response.data;
    const error = new Error(response.error?.message ?? "response without error message");
    error.code = response.error?.code;
    error.status = response.error?.status;
    error.details = response.error?.details;
    error.frame = response;
    throw error;
  }

  /**
   * Sends any text as one frame. With a `requestId`, resolves with the response frame that
   * carries it; without one, resolves once the text is sent.
   */
  sendRaw(text, { requestId, timeoutMs = DEFAULT_TIMEOUT_MS, binary = false } = {}) {
    if (requestId === undefined) {
      return new Promise((resolve, reject) =>
        this.socket.send(text, { binary }, (e) => (e ? reject(e) : resolve())));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`no response to request ${JSON.stringify(requestId)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (f) => (value) => {
        clearTimeout(timer);
        f(value);
      };
      this.pending.set(requestId, { resolve: settle(resolve), reject: settle(reject) });
      this.socket.send(text, { binary }, (e) => e && settle(reject)(e));
    });
  }

  /** Sends an event to the server, as the adapter's client-side `emit` does. */
  emit(event, payload, context = {}) {
    return this.sendRaw(JSON.stringify({ type: "event", event, payload, context }));
  }

  /** Calls `handler(payload, context, frame)` for every `event`; returns the unsubscriber. */
  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.handlers.get(event)?.delete(handler);
  }

  /**
   * Resolves with the first `event` whose payload satisfies `matches`, as
   * `{payload, context, frame}`. Listening starts at once, so call it before the request
   * that causes the event.
   */
  nextEvent(event, matches = () => true, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no matching ${event} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(event, (payload, context, frame) => {
        if (!matches(payload)) return;
        clearTimeout(timer);
        off();
        resolve({ payload, context, frame });
      });
    });
  }

  /** Closes the connection; resolves when it is closed, at most `timeoutMs` later. */
  async close({ timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    this.socket.close();
    const timer = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([this.closed, timer]);
    this.socket.terminate();
  }
}
