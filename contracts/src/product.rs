//! The product service contract the order service talks to: look products up, reserve
//! stock for an order and release it again.

use messaging_runtime::prelude::*;

/// A product in the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// The product id, e.g. `p-keyboard`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The unit price.
    pub price: f64,
    /// Units in stock and not reserved.
    pub stock: u32,
}

/// Looks a product up by id.
#[request("getProductById", response = Product)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetProductById {
    /// The product.
    pub product_id: String,
}

/// Takes `quantity` units out of stock for an order; answers the product with the stock
/// left.
#[request("reserveProduct", response = Product)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReserveProduct {
    /// The product.
    pub product_id: String,
    /// How many units.
    pub quantity: u32,
    /// The order the units are for.
    pub order_id: String,
}

/// Puts `quantity` units reserved for an order back into stock; answers the product with
/// the stock after.
#[request("releaseProduct", response = Product)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseProduct {
    /// The product.
    pub product_id: String,
    /// How many units.
    pub quantity: u32,
    /// The order the units were reserved for.
    pub order_id: String,
}

/// A product's stock went up or down.
#[event("productStockChanged")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductStockChanged {
    /// The product.
    pub product_id: String,
    /// Stock before the change.
    pub previous_stock: u32,
    /// Stock after the change.
    pub new_stock: u32,
    /// The order that reserved or released the units.
    pub order_id: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// What the product service can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductError {
    /// No product has this id.
    #[error(status = 404, message = "Product {productId} not found")]
    ProductNotFound {
        /// The id asked for.
        product_id: String,
    },
    /// Fewer units are in stock than asked for.
    #[error(
        status = 400,
        message = "Insufficient stock for product {productId}: requested {requested}, available {available}"
    )]
    InsufficientStock {
        /// The product.
        product_id: String,
        /// Units asked for.
        requested: u32,
        /// Units in stock.
        available: u32,
    },
}

/// The product service: the catalogue and its stock.
///
/// Looking a product up is open; reserving and releasing stock require the permission
/// `products:write` (a server checks it when it is given an access policy).
#[contract(
    name = "product-service",
    version = "2.0.0",
    error = ProductError,
    events(ProductStockChanged)
)]
pub trait ProductService {
    /// Looks a product up by id.
    async fn get_product_by_id(
        &self,
        req: GetProductById,
        cx: Context,
    ) -> Result<Product, ProductError>;

    /// Reserves stock for an order; publishes `productStockChanged`.
    #[permission("products:write")]
    async fn reserve_product(
        &self,
        req: ReserveProduct,
        cx: Context,
    ) -> Result<Product, ProductError>;

    /// Releases stock reserved for an order; publishes `productStockChanged`.
    #[permission("products:write")]
    async fn release_product(
        &self,
        req: ReleaseProduct,
        cx: Context,
    ) -> Result<Product, ProductError>;
}
