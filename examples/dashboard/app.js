// The dashboard page: plain JavaScript, no build step. It talks to the dashboard server
// through the MessagingClient of messaging.js (the wire protocol over the browser's
// WebSocket): requests getDashboardStats, getRecentOrders and getOrderById; events
// orderCreated, orderStatusChanged, orderShipped and statsUpdated.
"use strict";

(function () {
  const RECENT_LIMIT = 20;
  const HIGHLIGHT_MS = 3000;
  const EVENT_LOG_LENGTH = 30;
  const MessagingClient = window.MessagingClient;

  // ---- Formatting and DOM helpers ------------------------------------------------------

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const $ = (id) => document.getElementById(id);

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function when(millis) {
    if (!millis) return "–";
    const date = new Date(millis);
    const today = new Date().toDateString() === date.toDateString();
    return today ? date.toLocaleTimeString() : date.toLocaleString();
  }

  function itemsSummary(order) {
    return (order.items || []).map((item) => `${item.quantity} × ${item.name}`).join(", ");
  }

  function highlight(node, className) {
    node.classList.remove("new-order", "updated-order");
    void node.offsetWidth; // restart the animation
    node.classList.add(className);
    clearTimeout(node.highlightTimer);
    node.highlightTimer = setTimeout(() => node.classList.remove(className), HIGHLIGHT_MS);
  }

  // ---- The page ---------------------------------------------------------------------

  const config = window.DASHBOARD_CONFIG || {};
  const wsUrl = `ws://${location.hostname}:${config.wsPort}${config.wsPath || "/"}`;
  const client = new MessagingClient(wsUrl, "dashboard-web-client");
  let selectedOrderId = null;
  let reconnectDelay = 500;

  function setConnection(state, text) {
    const status = $("connection-status");
    status.dataset.state = state;
    $("connection-text").textContent = text;
  }

  function updateDashboardStats(stats) {
    const figures = {
      "total-orders": String(stats.totalOrders),
      "pending-orders": String(stats.pendingOrders),
      "processing-orders": String(stats.processingOrders),
      "shipped-orders": String(stats.shippedOrders),
      "delivered-orders": String(stats.deliveredOrders),
      "cancelled-orders": String(stats.cancelledOrders),
      "total-revenue": money.format(stats.totalRevenue),
      "average-order-value": money.format(stats.averageOrderValue),
    };
    for (const [id, text] of Object.entries(figures)) {
      const node = $(id);
      if (node.textContent !== text) {
        const first = node.textContent === "–";
        node.textContent = text;
        if (!first) highlight(node.parentElement, "updated-order");
      }
    }
    const total = stats.totalOrders || 1;
    for (const status of ["pending", "processing", "shipped", "delivered", "cancelled"]) {
      const segment = document.querySelector(`#status-bar .segment.${status}`);
      segment.style.flexGrow = String(stats[`${status}Orders`] / total);
      segment.title = `${status}: ${stats[`${status}Orders`]}`;
    }
  }

  function orderRow(order) {
    const row = el("div", "order-item");
    row.dataset.orderId = order.id;
    row.tabIndex = 0;
    row.setAttribute("role", "button");
    row.addEventListener("click", () => viewOrderDetails(order.id));
    row.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") viewOrderDetails(order.id);
    });
    fillRow(row, order);
    return row;
  }

  function fillRow(row, order) {
    row.dataset.status = order.status;
    const shipment = order.shipment ? el("div", "order-tracking", `${order.shipment.carrier} ${order.shipment.trackingNumber}`) : null;
    row.replaceChildren(
      el("div", "order-id", order.id),
      el("div", "order-customer", order.customerId),
      el("div", "order-items", itemsSummary(order)),
      el("div", "order-amount", money.format(order.totalAmount)),
      el("div", "order-state", el("span", `order-status ${order.status}`, order.status), shipment),
      el("div", "order-date", when(order.createdAt)),
    );
    row.classList.toggle("selected", order.id === selectedOrderId);
  }

  function findRow(orderId) {
    return document.querySelector(`#recent-orders-list .order-item[data-order-id="${CSS.escape(orderId)}"]`);
  }

  function updateRecentOrdersList(orders) {
    const list = $("recent-orders-list");
    list.replaceChildren(...orders.map(orderRow));
    $("empty-orders").hidden = orders.length > 0;
  }

  /** Puts an order into the list: updates its row, or adds one on top. */
  function upsertOrder(order, how) {
    const list = $("recent-orders-list");
    let row = findRow(order.id);
    if (row) {
      fillRow(row, order);
    } else {
      row = orderRow(order);
      list.insertBefore(row, list.firstChild);
      while (list.children.length > RECENT_LIMIT) list.removeChild(list.lastChild);
    }
    $("empty-orders").hidden = true;
    highlight(row, how === "new" ? "new-order" : "updated-order");
  }

  function fetchOrder(orderId) {
    return client.request("getOrderById", { orderId });
  }

  function addOrderToRecentList(created) {
    fetchOrder(created.orderId)
      .then((order) => upsertOrder(order, "new"))
      .catch((e) => console.error(`cannot fetch ${created.orderId}:`, e));
  }

  function updateOrderStatus(change) {
    const row = findRow(change.orderId);
    if (row) {
      row.dataset.status = change.newStatus;
      const status = row.querySelector(".order-status");
      status.className = `order-status ${change.newStatus}`;
      status.textContent = change.newStatus;
      highlight(row, "updated-order");
    }
    // The full order (and its history) comes from the dashboard.
    fetchOrder(change.orderId)
      .then((order) => {
        if (row || findRow(order.id)) upsertOrder(order, "updated");
        if (selectedOrderId === order.id) showOrderDetails(order);
      })
      .catch((e) => console.error(`cannot fetch ${change.orderId}:`, e));
  }

  function updateOrderShippingInfo(shipped) {
    fetchOrder(shipped.orderId)
      .then((order) => {
        if (findRow(order.id)) upsertOrder(order, "updated");
        if (selectedOrderId === order.id) showOrderDetails(order);
      })
      .catch((e) => console.error(`cannot fetch ${shipped.orderId}:`, e));
  }

  function viewOrderDetails(orderId) {
    selectedOrderId = orderId;
    for (const row of document.querySelectorAll(".order-item")) {
      row.classList.toggle("selected", row.dataset.orderId === orderId);
    }
    fetchOrder(orderId)
      .then(showOrderDetails)
      .catch((e) => showDetailsError(orderId, e));
  }

  function field(label, ...value) {
    return el("div", "field", el("span", "field-label", label), el("span", "field-value", ...value));
  }

  function showOrderDetails(order) {
    const panel = $("order-details");
    panel.dataset.orderId = order.id;
    panel.hidden = false;
    $("details-title").replaceChildren(`Order ${order.id} `, el("span", `order-status ${order.status}`, order.status));

    const items = el("table", "items");
    items.append(el("tr", null, el("th", null, "Product"), el("th", "right", "Qty"), el("th", "right", "Price"), el("th", "right", "Subtotal")));
    for (const item of order.items || []) {
      items.append(el("tr", null,
        el("td", null, item.name, el("div", "muted", item.productId)),
        el("td", "right", item.quantity),
        el("td", "right", money.format(item.price)),
        el("td", "right", money.format(item.price * item.quantity))));
    }
    items.append(el("tr", "total", el("td", null, "Total"), el("td"), el("td"), el("td", "right", money.format(order.totalAmount))));

    const address = order.shippingAddress || {};
    const history = el("ol", "history");
    for (const step of order.history || []) {
      history.append(el("li", null, el("span", `order-status ${step.status}`, step.status), " ", when(step.at)));
    }

    const parts = [
      field("Customer", order.customerId),
      field("Placed", when(order.createdAt)),
      field("Updated", when(order.updatedAt)),
      items,
      field("Ship to", `${address.name}, ${address.street}, ${address.city} ${address.state} ${address.postalCode}, ${address.country}`),
      order.shipment ? field("Shipment", `${order.shipment.carrier} · ${order.shipment.trackingNumber} · due ${new Date(order.shipment.estimatedDelivery).toLocaleDateString()}`) : null,
      order.cancellationReason ? field("Cancelled", order.cancellationReason) : null,
      el("h3", null, "History"),
      history,
    ];
    $("details-body").replaceChildren(...parts.filter((part) => part !== null));
  }

  function showDetailsError(orderId, error) {
    const panel = $("order-details");
    panel.dataset.orderId = orderId;
    panel.hidden = false;
    $("details-title").textContent = `Order ${orderId}`;
    $("details-body").replaceChildren(el("p", "error", `${error.code || "ERROR"}: ${error.message}`));
  }

  function logEvent(name, text) {
    const log = $("event-log");
    const entry = el("li", `event ${name}`, el("time", null, new Date().toLocaleTimeString()), el("span", "event-name", name), el("span", "event-text", text));
    log.insertBefore(entry, log.firstChild);
    while (log.children.length > EVENT_LOG_LENGTH) log.removeChild(log.lastChild);
  }

  function setupEventSubscriptions() {
    client.on("orderCreated", (e) => {
      logEvent("orderCreated", `${e.orderId} · ${e.customerId} · ${money.format(e.totalAmount)}`);
      addOrderToRecentList(e);
    });
    client.on("orderStatusChanged", (e) => {
      logEvent("orderStatusChanged", `${e.orderId} · ${e.previousStatus} → ${e.newStatus}`);
      updateOrderStatus(e);
    });
    client.on("orderShipped", (e) => {
      logEvent("orderShipped", `${e.orderId} · ${e.carrier} ${e.trackingNumber}`);
      updateOrderShippingInfo(e);
    });
    client.on("statsUpdated", (e) => updateDashboardStats(e.stats));
  }

  async function initializeDashboard() {
    const [stats, orders] = await Promise.all([
      client.request("getDashboardStats", {}),
      client.request("getRecentOrders", { limit: RECENT_LIMIT }),
    ]);
    updateDashboardStats(stats);
    updateRecentOrdersList(orders);
    if (selectedOrderId) viewOrderDetails(selectedOrderId);
  }

  async function connectToDashboardServer() {
    setConnection("connecting", "connecting…");
    try {
      await client.connect();
      await initializeDashboard();
      reconnectDelay = 500;
      setConnection("live", "live");
    } catch (e) {
      console.error("cannot reach the dashboard server:", e);
      if (client.socket && client.socket.readyState === WebSocket.OPEN) {
        client.socket.close(); // its close handler retries
      } else {
        retryLater();
      }
    }
  }

  function retryLater() {
    setConnection("disconnected", `disconnected, retrying in ${Math.round(reconnectDelay / 1000) || 1} s`);
    setTimeout(connectToDashboardServer, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 5000);
  }

  window.addEventListener("DOMContentLoaded", () => {
    $("ws-address").textContent = wsUrl;
    $("details-close").addEventListener("click", () => {
      selectedOrderId = null;
      $("order-details").hidden = true;
      for (const row of document.querySelectorAll(".order-item.selected")) row.classList.remove("selected");
    });
    client.onclose = () => retryLater();
    setupEventSubscriptions();
    connectToDashboardServer();
  });
})();
