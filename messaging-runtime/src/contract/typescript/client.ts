
// ---------------------------------------------------------------------------------------
// A small typed client for the WebSocket wire (one JSON envelope per text frame).

/** What the client needs of a WebSocket: the browser's, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: () => void): void;
}

/** A failed request: the server's wire error, or the client's own (`TIMEOUT`, `DISCONNECTED`, `VALIDATION_ERROR`, `INVALID_PAYLOAD`). */
export class ContractError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, status?: number, details?: unknown) {
    super(message);
    this.name = "ContractError";
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** Whether this is the contract's error `code`; narrows `details` to its fields. */
  is<C extends ErrorCode>(code: C): this is ContractError & { code: C; details: ErrorDetails[C] } {
    return this.code === code;
  }
}

/** Options of a client or of one request. */
export interface ClientOptions {
  /** How long a request waits for its answer, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** The context sent with every request (source, traceId, metadata, auth...). */
  context?: Record<string, unknown>;
  /** Called for an event whose payload does not match the contract (the event is not delivered). */
  onInvalidEvent?: (event: string, error: z.ZodError, payload: unknown) => void;
}

type Pending = { resolve: (data: unknown) => void; reject: (error: ContractError) => void; name: RequestName; timer: ReturnType<typeof setTimeout> };

/**
 * A typed client of this contract over an open WebSocket: `request` checks the payload
 * with the contract's zod schema, sends it, and checks the answer; `on` delivers checked
 * event payloads. It sends no version handshake (servers accept clients that send none).
 */
export class ContractClient {
  private readonly pending = new Map<string, Pending>();
  private readonly handlers = new Map<string, Set<(payload: never, context: unknown) => void>>();
  private readonly prefix = Math.random().toString(36).slice(2, 10);
  private seq = 0;
  private closed = false;

  constructor(private readonly socket: WebSocketLike, private readonly options: ClientOptions = {}) {
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => this.fail(new ContractError("DISCONNECTED", "the connection closed")));
  }

  /** Sends request `type` and resolves with its checked response, or rejects with a `ContractError`. */
  request<K extends RequestName>(type: K, payload: RequestOf<K>, options: Omit<ClientOptions, "onInvalidEvent"> = {}): Promise<ResponseOf<K>> {
    const checked = requests[type].requestSchema.safeParse(payload);
    if (!checked.success) {
      return Promise.reject(new ContractError("VALIDATION_ERROR", `invalid \`${type}\` request: ${checked.error.message}`, 400, checked.error.issues));
    }
    if (this.closed) return Promise.reject(new ContractError("DISCONNECTED", "the connection is closed"));
    const requestId = `${this.prefix}-${++this.seq}`;
    const context = options.context ?? this.options.context ?? {};
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      const ms = options.timeoutMs ?? this.options.timeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new ContractError("TIMEOUT", `no answer to \`${type}\` within ${ms} ms`, 408));
      }, ms);
      this.pending.set(requestId, { resolve: resolve as (data: unknown) => void, reject, name: type, timer });
      this.socket.send(JSON.stringify({ type: "request", requestId, requestType: type, payload: checked.data, context }));
    });
  }

  /** Calls `handler` with every checked `event` payload until the returned function is called. */
  on<K extends EventName>(event: K, handler: (payload: EventOf<K>, context: unknown) => void): () => void {
    const set = this.handlers.get(event) ?? new Set();
    set.add(handler as (payload: never, context: unknown) => void);
    this.handlers.set(event, set);
    return () => set.delete(handler as (payload: never, context: unknown) => void);
  }

  /** Closes the socket; pending requests reject with `DISCONNECTED`. */
  close(): void {
    this.socket.close();
    this.fail(new ContractError("DISCONNECTED", "the client was closed"));
  }

  private fail(error: ContractError): void {
    this.closed = true;
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      this.pending.delete(id);
      call.reject(error);
    }
  }

  private receive(data: unknown): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return; // Not JSON: not a frame of this protocol.
    }
    if (frame.type === "response" && typeof frame.requestId === "string") this.answer(frame);
    if (frame.type === "event" && typeof frame.event === "string") this.deliver(frame.event, frame.payload, frame.context);
  }

  private answer(frame: Record<string, unknown>): void {
    const call = this.pending.get(frame.requestId as string);
    if (call === undefined) return; // Timed out already.
    this.pending.delete(frame.requestId as string);
    clearTimeout(call.timer);
    if (frame.success === true) {
      const checked = requests[call.name].responseSchema.safeParse(frame.data);
      if (checked.success) call.resolve(checked.data);
      else call.reject(new ContractError("INVALID_PAYLOAD", `the \`${call.name}\` response does not match the contract: ${checked.error.message}`, undefined, frame.data));
      return;
    }
    const wire = (frame.error ?? {}) as { code?: unknown; message?: unknown; status?: unknown; details?: unknown };
    const code = typeof wire.code === "string" ? wire.code : "INTERNAL_ERROR";
    let details = wire.details;
    if (code in errorDetails) {
      const checked = errorDetails[code as ErrorCode].safeParse(details);
      if (checked.success) details = checked.data;
    }
    call.reject(new ContractError(code, typeof wire.message === "string" ? wire.message : code, typeof wire.status === "number" ? wire.status : undefined, details));
  }

  private deliver(event: string, payload: unknown, context: unknown): void {
    const set = this.handlers.get(event);
    if (set === undefined || !(event in events)) return;
    const checked = events[event as EventName].safeParse(payload);
    if (!checked.success) {
      (this.options.onInvalidEvent ?? ((e, error) => console.error(`invalid \`${e}\` event: ${error.message}`)))(event, checked.error, payload);
      return;
    }
    for (const handler of set) handler(checked.data as never, context);
  }
}
