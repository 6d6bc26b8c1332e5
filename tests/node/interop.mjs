// Interop checks against a Rust server: the TypeScript client generated from the Rust
// contract (`ContractClient` of `OrderServiceContract::typescript()`, compiled to JS in
// GENERATED_DIR) makes the typed requests and receives the events; a raw client written
// against the TypeScript Magic Button Messaging WebSocket adapter's wire protocol
// (client.mjs) sends what the generated client cannot: unknown request types, payloads of
// the wrong shape, malformed frames. Neither sends the version handshake.
//
//   GENERATED_DIR=<dir> node interop.mjs <ws-url> [suite...]   suites: orders (default), dashboard
//   (the dashboard suite also needs ORDERS_URL: the order service the dashboard follows;
//   GENERATED_DIR holds order-service.js and dashboard-service.js)
//
// Prints one line per check ("ok - ..." or "not ok - ...") and exits with status 0 only if
// every check passed; 1 on a failed check, 2 on bad arguments. Every wait is bounded, and
// the whole run is cut off after RUN_TIMEOUT_MS.
//
// To point it at another server, add a suite: a list of `[name, async (client, state) => {}]`
// checks in SUITES below (or in a module of its own, imported here). Checks of one suite run
// in order on one connection and share `state`.

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { DEFAULT_TIMEOUT_MS, MessagingClient } from "./client.mjs";

const RUN_TIMEOUT_MS = 30_000;

/** A context as a TypeScript client sends it. */
const CONTEXT = { source: "node-interop", traceId: "trace-node-interop", metadata: { client: "node" } };

/** Asserts that `promise` rejects with the adapter's error shape and these fields. */
async function rejectsWith(promise, { code, status, message }) {
  let error;
  try {
    const data = await promise;
    assert.fail(`expected error ${code}, got data ${JSON.stringify(data)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    error = e;
  }
  assert.equal(error.code, code, `error code (${JSON.stringify(error.frame ?? error.message)})`);
  assert.equal(error.status, status, "error status");
  assert.equal(typeof error.message, "string", "error message");
  if (message !== undefined) assert.equal(error.message, message, "error message");
  return error;
}

/** The generated module of contract `name` (e.g. "order-service"). */
async function generated(name) {
  const dir = process.env.GENERATED_DIR;
  assert.ok(dir, "GENERATED_DIR names the directory of the compiled generated TypeScript");
  return import(pathToFileURL(resolve(dir, `${name}.js`)).href);
}

/** The generated client of contract `name` on a new connection to `url`. */
async function typedClient(url, name) {
  const { ContractClient } = await generated(name);
  const socket = new WebSocket(url);
  await new Promise((opened, failed) => {
    const timer = setTimeout(() => failed(new Error(`could not connect to ${url} in time`)), DEFAULT_TIMEOUT_MS);
    socket.once("open", () => { clearTimeout(timer); opened(); });
    socket.once("error", (e) => { clearTimeout(timer); failed(e); });
  });
  return new ContractClient(socket, { timeoutMs: DEFAULT_TIMEOUT_MS, context: CONTEXT });
}

/** The first `event` the generated client delivers whose payload satisfies `matches`. */
function nextEvent(client, event, matches = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no matching ${event} event in time`)); }, DEFAULT_TIMEOUT_MS);
    const off = client.on(event, (payload, context) => {
      if (!matches(payload)) return;
      clearTimeout(timer);
      off();
      resolve({ payload, context });
    });
  });
}

/** Sends raw text carrying `requestId` and checks the answer is a BAD_MESSAGE response. */
async function answersBadMessage(client, text, requestId) {
  const response = await client.sendRaw(text, { requestId });
  assert.equal(response.type, "response");
  assert.equal(response.requestId, requestId);
  assert.equal(response.success, false);
  assert.equal(response.error.code, "BAD_MESSAGE");
  assert.equal(response.error.status, 400);
  return response;
}

const ORDER_CHECKS = [
  ["getOrderById for an unknown id answers the typed error ORDER_NOT_FOUND", async ({ typed }) => {
    const error = await rejectsWith(typed.request("getOrderById", { orderId: "order-missing" }), {
      code: "ORDER_NOT_FOUND",
      status: 404,
      message: "Order with ID order-missing not found",
    });
    assert.deepEqual(error.details, { orderId: "order-missing" }, "error details");
    assert.ok(error.is("ORDER_NOT_FOUND"), "the generated error narrows to the contract's code");
  }],
  ["createOrder answers the order and orderCreated reaches this client", async ({ typed }, state) => {
    const customerId = `c-node-${process.pid}`;
    const created = nextEvent(typed, "orderCreated", (p) => p.customerId === customerId);
    const order = await typed.request("createOrder", {
      customerId,
      items: [{ productId: "p-keyboard", quantity: 1 }, { productId: "p-cable", quantity: 2 }],
      shippingAddress: {
        name: "Node Client", street: "1 Event Loop", city: "Libuv", state: "V8",
        postalCode: "12345", country: "JS",
      },
    });
    assert.equal(typeof order.id, "string");
    assert.equal(order.status, "pending");
    assert.equal(order.items.length, 2);
    assert.ok(Math.abs(order.totalAmount - (89.99 + 2 * 9.99)) < 1e-9, `totalAmount ${order.totalAmount}`);
    const event = await created;
    assert.equal(event.payload.orderId, order.id);
    assert.equal(event.payload.totalAmount, order.totalAmount);
    assert.equal(typeof event.context, "object");
    state.order = order;
  }],
  ["getOrderById answers the created order", async ({ typed }, state) => {
    assert.ok(state.order, "needs the order of the previous check");
    const order = await typed.request("getOrderById", { orderId: state.order.id });
    assert.deepEqual(order, state.order);
  }],
  ["updateOrderStatus answers the order and orderStatusChanged reaches this client", async ({ typed }, state) => {
    assert.ok(state.order, "needs the order of an earlier check");
    const orderId = state.order.id;
    const changed = nextEvent(typed, "orderStatusChanged", (p) => p.orderId === orderId);
    const order = await typed.request("updateOrderStatus", { orderId, status: "processing" });
    assert.equal(order.status, "processing");
    const { payload } = await changed;
    assert.equal(payload.previousStatus, "pending");
    assert.equal(payload.newStatus, "processing");
  }],
  ["an invalid status transition answers INVALID_ORDER_STATUS_TRANSITION", async ({ typed }, state) => {
    assert.ok(state.order, "needs the order of an earlier check");
    const request = { orderId: state.order.id, status: "delivered" };
    const error = await rejectsWith(typed.request("updateOrderStatus", request), {
      code: "INVALID_ORDER_STATUS_TRANSITION",
      status: 400,
    });
    assert.match(error.message, /processing/);
    assert.deepEqual(error.details, { currentStatus: "processing", requestedStatus: "delivered" });
  }],
  ["the generated client refuses a payload that breaks the contract before sending it", async ({ typed }) => {
    await rejectsWith(typed.request("getOrderById", { orderId: 42 }), { code: "VALIDATION_ERROR", status: 400 });
  }],
  ["a payload of the wrong shape answers INVALID_PAYLOAD", async ({ raw: client }) => {
    const error = await rejectsWith(client.request("getOrderById", { orderId: 42 }, CONTEXT), {
      code: "INVALID_PAYLOAD",
      status: 400,
    });
    assert.ok(error.details !== undefined && error.details !== null, "INVALID_PAYLOAD has details");
  }],
  ["an unknown requestType answers UNKNOWN_REQUEST_TYPE", async ({ raw: client }) => {
    await rejectsWith(client.request("launchRocket", {}, CONTEXT), { code: "UNKNOWN_REQUEST_TYPE", status: 404 });
  }],
  ["a malformed request frame answers BAD_MESSAGE under its requestId", async ({ raw: client }) => {
    await answersBadMessage(client, JSON.stringify({ type: "request", requestId: "bad-1", requestType: 42 }), "bad-1");
    await answersBadMessage(client, JSON.stringify({ type: "greeting", requestId: "bad-2" }), "bad-2");
    await answersBadMessage(client, JSON.stringify({ type: "request", requestId: "bad-3", requestType: "getOrderById", context: "x" }), "bad-3");
  }],
  ["a frame with no readable requestId answers BAD_MESSAGE under null; the connection stays up", async ({ raw: client }) => {
    await answersBadMessage(client, "this is not JSON {", null);
    await answersBadMessage(client, "[1, 2, 3]", null);
    await answersBadMessage(client, JSON.stringify({ type: "request", requestId: null, requestType: "getOrderById" }), null);
    await rejectsWith(client.request("getOrderById", { orderId: "still-there" }, CONTEXT), {
      code: "ORDER_NOT_FOUND",
      status: 404,
    });
  }],
];

/**
 * The live dashboard: its own requests, and the order events it forwards. An order is placed
 * through a second client on the order service named by the ORDERS_URL environment variable.
 */
const DASHBOARD_CHECKS = [
  ["getDashboardStats answers figures computed from the orders seen", async ({ typed }, state) => {
    const stats = await typed.request("getDashboardStats", {});
    for (const field of ["totalOrders", "pendingOrders", "totalRevenue", "averageOrderValue"]) {
      assert.equal(typeof stats[field], "number", `stats.${field}`);
    }
    state.before = stats;
  }],
  ["getOrderById for an unknown id answers the typed error ORDER_NOT_FOUND", async ({ typed }) => {
    await rejectsWith(typed.request("getOrderById", { orderId: "order-missing" }), {
      code: "ORDER_NOT_FOUND",
      status: 404,
    });
  }],
  ["an order placed on the order service reaches the dashboard's clients live", async ({ typed }, state) => {
    const ordersUrl = process.env.ORDERS_URL;
    assert.ok(ordersUrl, "ORDERS_URL names the order service the dashboard follows");
    const orders = await typedClient(ordersUrl, "order-service");
    try {
      const customerId = `c-dash-${process.pid}`;
      const created = nextEvent(typed, "orderCreated", (p) => p.customerId === customerId);
      const order = await orders.request("createOrder", {
        customerId,
        items: [{ productId: "p-mouse", quantity: 1 }],
        shippingAddress: { name: "N", street: "S", city: "C", state: "ST", postalCode: "P", country: "CO" },
      });
      const event = await created;
      assert.equal(event.payload.orderId, order.id);
      state.orderId = order.id;
    } finally {
      orders.close();
    }
  }],
  ["the dashboard answers the new order and counts it", async ({ typed }, state) => {
    assert.ok(state.orderId, "needs the order of the previous check");
    const view = await typed.request("getOrderById", { orderId: state.orderId });
    assert.equal(view.id, state.orderId, JSON.stringify(view));
    const stats = await typed.request("getDashboardStats", {});
    assert.equal(stats.totalOrders, state.before.totalOrders + 1, "one more order counted");
    const recent = await typed.request("getRecentOrders", { limit: 5 });
    assert.ok(recent.some((o) => o.id === state.orderId), "listed");
  }],
];

/** The suites by name. */
const SUITES = { orders: ORDER_CHECKS, dashboard: DASHBOARD_CHECKS };

/** The contract each suite's server serves. */
const CONTRACTS = { orders: "order-service", dashboard: "dashboard-service" };

async function runSuite(url, name, checks) {
  const client = await MessagingClient.connect(url);
  const typed = await typedClient(url, CONTRACTS[name]);
  const state = {};
  let failed = 0;
  try {
    for (const [check, run] of checks) {
      try {
        await run({ raw: client, typed }, state);
        console.log(`ok - ${name}: ${check}`);
      } catch (error) {
        failed += 1;
        console.log(`not ok - ${name}: ${check}\n  ${String(error.stack ?? error).replaceAll("\n", "\n  ")}`);
      }
    }
  } finally {
    typed.close();
    await client.close();
  }
  return failed;
}

async function main(argv) {
  const [url, ...names] = argv;
  const suites = names.length > 0 ? names : ["orders"];
  const unknown = suites.filter((name) => !(name in SUITES));
  if (!url || !/^wss?:\/\//.test(url) || unknown.length > 0) {
    console.error(`usage: node interop.mjs <ws://host:port/path> [${Object.keys(SUITES).join("|")}...]`);
    if (unknown.length > 0) console.error(`unknown suite: ${unknown.join(", ")}`);
    return 2;
  }
  let failed = 0;
  let total = 0;
  for (const name of suites) {
    total += SUITES[name].length;
    failed += await runSuite(url, name, SUITES[name]);
  }
  console.log(`${total - failed} of ${total} checks passed against ${url}`);
  return failed === 0 ? 0 : 1;
}

const cutoff = setTimeout(() => {
  console.log(`not ok - the run did not finish within ${RUN_TIMEOUT_MS} ms`);
  process.exit(1);
}, RUN_TIMEOUT_MS);
cutoff.unref();

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.log(`not ok - ${error.stack ?? error}`);
    process.exit(1);
  },
);
