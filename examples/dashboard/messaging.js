// A minimal client of the Magic Button Messaging wire protocol over the browser's
// WebSocket: one JSON object per text frame.
//   {"type":"request","requestId":"…","requestType":"getOrderById","payload":{…},"context":{…}}
//   {"type":"response","requestId":"…","success":true,"data":{…}}
//   {"type":"response","requestId":"…","success":false,"error":{"code":"…","message":"…","status":404,"details":{…}}}
//   {"type":"event","event":"orderCreated","payload":{…},"context":{…}}
// Requests are correlated by requestId (many in flight, answered in any order); a failed
// request rejects with a RequestError carrying the wire error's code, status and details.
"use strict";

const REQUEST_TIMEOUT_MS = 10000;

/** A failed request: the wire error's code, message, status and details. */
class RequestError extends Error {
  constructor(error) {
    super(error.message || error.code || "request failed");
    this.code = error.code;
    this.status = error.status;
    this.details = error.details;
  }
}

class MessagingClient {
  constructor(url, source) {
    this.url = url;
    this.source = source;
    this.socket = null;
    this.pending = new Map();
    this.handlers = new Map();
    this.nextId = 1;
    this.onclose = () => {};
  }

  /** Opens the socket; resolves once it is open. */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      let opened = false;
      this.socket = socket;
      socket.onopen = () => {
        opened = true;
        resolve();
      };
      socket.onmessage = (message) => this.receive(message.data);
      socket.onclose = (event) => {
        this.failPending(new RequestError({ code: "DISCONNECTED", message: "connection closed" }));
        if (opened) {
          this.onclose(event);
        } else {
          reject(new Error(`cannot connect to ${this.url}`));
        }
      };
    });
  }

  /** Sends a request; resolves with `data` or rejects with the wire error. */
  request(requestType, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
    const requestId = `web-${this.nextId++}-${Date.now().toString(36)}`;
    const frame = {
      type: "request",
      requestId,
      requestType,
      payload: payload || {},
      context: {
        id: requestId,
        timestamp: Date.now(),
        source: this.source,
        deadlineMs: timeoutMs,
        metadata: { userAgent: navigator.userAgent },
      },
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new RequestError({ code: "TIMEOUT", message: `${requestType} timed out` }));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        this.settle(requestId, false, { code: "DISCONNECTED", message: "not connected" });
        return;
      }
      this.socket.send(JSON.stringify(frame));
    });
  }

  /** Calls `handler(payload, context)` for every event named `name`. */
  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (e) {
      console.warn("dropped a frame that is not JSON", text);
      return;
    }
    if (frame.type === "response") {
      this.settle(frame.requestId, frame.success, frame.success ? frame.data : frame.error);
    } else if (frame.type === "event") {
      for (const handler of this.handlers.get(frame.event) || []) {
        try {
          handler(frame.payload, frame.context || {});
        } catch (e) {
          console.error(`handler for ${frame.event} failed`, e);
        }
      }
    }
  }

  settle(requestId, success, value) {
    const waiting = this.pending.get(requestId);
    if (!waiting) return;
    this.pending.delete(requestId);
    clearTimeout(waiting.timer);
    if (success) waiting.resolve(value);
    else waiting.reject(new RequestError(value || {}));
  }

  failPending(error) {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
      this.pending.delete(id);
    }
  }
}

window.MessagingClient = MessagingClient;
window.RequestError = RequestError;
