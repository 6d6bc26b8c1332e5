// Interop checks: a client written against the TypeScript Magic Button Messaging WebSocket
// adapter's wire protocol (see client.mjs), run against a Rust server.
//
//   node interop.mjs <ws-url> [suite...]        suites: orders (the default), dashboard
//   (the dashboard suite also needs ORDERS_URL: the order service the dashboard follows)
//
// Prints one line per check ("ok - ..." or "not ok - ...") and exits with status 0 only if
// every check passed; 1 on a failed check, 2 on bad arguments. Every wait is bounded, and
// the whole run is cut off after RUN_TIMEOUT_MS.
//
// To point it at another server, add a suite: a list of `[name, async (client, state) => {}]`
// checks in SUITES below (or in a module of its own, imported here). Checks of one suite run
// in order on one connection and share `state`.

import assert from "node:assert/strict";
import { MessagingClient } from "./client.mjs";

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
  ["getOrderById for an unknown id answers the typed error ORDER_NOT_FOUND", async (client) => {
    const error = await rejectsWith(client.request("getOrderById", { orderId: "order-missing" }, CONTEXT), {
      code: "ORDER_NOT_FOUND",
      status: 404,
      message: "Order with ID order-missing not found",
    });
    assert.deepEqual(error.details, { orderId: "order-missing" }, "error details");
  }],
  ["createOrder answers the order and orderCreated reaches this client", async (client, state) => {
    const customerId = `c-node-${process.pid}`;
    const created = client.nextEvent("orderCreated", (p) => p.customerId === customerId);
    const order = await client.request("createOrder", {
      customerId,
      items: [{ productId: "p-keyboard", quantity: 1 }, { productId: "p-cable", quantity: 2 }],
      shippingAddress: {
        name: "Node Client", street: "1 Event Loop", city: "Libuv", state: "V8",
        postalCode: "12345", country: "JS",
      },
    }, CONTEXT);
    assert.equal(typeof order.id, "string");
    assert.equal(order.status, "pending");
    assert.equal(order.items.length, 2);
    assert.ok(Math.abs(order.totalAmount - (89.99 + 2 * 9.99)) < 1e-9, `totalAmount ${order.totalAmount}`);
    const event = await created;
    assert.equal(event.frame.type, "event");
    assert.equal(event.payload.orderId, order.id);
    assert.equal(event.payload.totalAmount, order.totalAmount);
    assert.equal(typeof event.context, "object");
    state.order = order;
  }],
  ["getOrderById answers the created order", async (client, state) => {
    assert.ok(state.order, "needs the order of the previous check");
    const order = await client.request("getOrderById", { orderId: state.order.id }, CONTEXT);
    assert.deepEqual(order, state.order);
  }],
  ["updateOrderStatus answers the order and orderStatusChanged reaches this client", async (client, state) => {
    assert.ok(state.order, "needs the order of an earlier check");
    const orderId = state.order.id;
    const changed = client.nextEvent("orderStatusChanged", (p) => p.orderId === orderId);
    const order = await client.request("updateOrderStatus", { orderId, status: "processing" }, CONTEXT);
    assert.equal(order.status, "processing");
    const { payload } = await changed;
    assert.equal(payload.previousStatus, "pending");
    assert.equal(payload.newStatus, "processing");
  }],
  ["an invalid status transition answers INVALID_ORDER_STATUS_TRANSITION", async (client, state) => {
    assert.ok(state.order, "needs the order of an earlier check");
    const request = { orderId: state.order.id, status: "delivered" };
    const error = await rejectsWith(client.request("updateOrderStatus", request, CONTEXT), {
      code: "INVALID_ORDER_STATUS_TRANSITION",
      status: 400,
    });
    assert.match(error.message, /processing/);
  }],
  ["a payload of the wrong shape answers INVALID_PAYLOAD", async (client) => {
    const error = await rejectsWith(client.request("getOrderById", { orderId: 42 }, CONTEXT), {
      code: "INVALID_PAYLOAD",
      status: 400,
    });
    assert.ok(error.details !== undefined && error.details !== null, "INVALID_PAYLOAD has details");
  }],
  ["an unknown requestType answers UNKNOWN_REQUEST_TYPE", async (client) => {
    await rejectsWith(client.request("launchRocket", {}, CONTEXT), { code: "UNKNOWN_REQUEST_TYPE", status: 404 });
  }],
  ["a malformed request frame answers BAD_MESSAGE under its requestId", async (client) => {
    await answersBadMessage(client, JSON.stringify({ type: "request", requestId: "bad-1", requestType: 42 }), "bad-1");
    await answersBadMessage(client, JSON.stringify({ type: "greeting", requestId: "bad-2" }), "bad-2");
    await answersBadMessage(client, JSON.stringify({ type: "request", requestId: "bad-3", requestType: "getOrderById", context: "x" }), "bad-3");
  }],
  ["a frame with no readable requestId answers BAD_MESSAGE under null; the connection stays up", async (client) => {
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
  ["getDashboardStats answers figures computed from the orders seen", async (client, state) => {
    const stats = await client.request("getDashboardStats", {}, CONTEXT);
    for (const field of ["totalOrders", "pendingOrders", "totalRevenue", "averageOrderValue"]) {
      assert.equal(typeof stats[field], "number", `stats.${field}`);
    }
    state.before = stats;
  }],
  ["getOrderById for an unknown id answers the typed error ORDER_NOT_FOUND", async (client) => {
    await rejectsWith(client.request("getOrderById", { orderId: "order-missing" }, CONTEXT), {
      code: "ORDER_NOT_FOUND",
      status: 404,
    });
  }],
  ["an order placed on the order service reaches the dashboard's clients live", async (client, state) => {
    const ordersUrl = process.env.ORDERS_URL;
    assert.ok(ordersUrl, "ORDERS_URL names the order service the dashboard follows");
    const orders = await MessagingClient.connect(ordersUrl);
    try {
      const customerId = `c-dash-${process.pid}`;
      const created = client.nextEvent("orderCreated", (p) => p.customerId === customerId);
      const order = await orders.request("createOrder", {
        customerId,
        items: [{ productId: "p-mouse", quantity: 1 }],
        shippingAddress: { name: "N", street: "S", city: "C", state: "ST", postalCode: "P", country: "CO" },
      }, CONTEXT);
      const event = await created;
      assert.equal(event.payload.orderId, order.id);
      state.orderId = order.id;
    } finally {
      await orders.close();
    }
  }],
  ["the dashboard answers the new order and counts it", async (client, state) => {
    assert.ok(state.orderId, "needs the order of the previous check");
    const view = await client.request("getOrderById", { orderId: state.orderId }, CONTEXT);
    assert.equal(view.id ?? view.order?.id, state.orderId, JSON.stringify(view));
    const stats = await client.request("getDashboardStats", {}, CONTEXT);
    assert.equal(stats.totalOrders, state.before.totalOrders + 1, "one more order counted");
    const recent = await client.request("getRecentOrders", { limit: 5 }, CONTEXT);
    assert.ok(Array.isArray(recent) && recent.some((o) => (o.id ?? o.order?.id) === state.orderId), "listed");
  }],
];

/** The suites by name. */
const SUITES = { orders: ORDER_CHECKS, dashboard: DASHBOARD_CHECKS };

async function runSuite(url, name, checks) {
  const client = await MessagingClient.connect(url);
  const state = {};
  let failed = 0;
  try {
    for (const [check, run] of checks) {
      try {
        await run(client, state);
        console.log(`ok - ${name}: ${check}`);
      } catch (error) {
        failed += 1;
        console.log(`not ok - ${name}: ${check}\n  ${String(error.stack ?? error).replaceAll("\n", "\n  ")}`);
      }
    }
  } finally {
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
