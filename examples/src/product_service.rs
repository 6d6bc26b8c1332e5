//! An in-memory product catalogue implementing [`ProductService`]: look-ups, and stock
//! reserved for orders and released again.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::now_millis;
use contracts::product::{
    GetProductById, Product, ProductError, ProductService, ProductServiceEvents,
    ProductStockChanged, ReleaseProduct, ReserveProduct,
};
use messaging_runtime::Context;

/// The products the demo catalogue starts with.
pub fn seed_products() -> Vec<Product> {
    let product = |id: &str, name: &str, price: f64, stock: u32| Product {
        id: id.to_owned(),
        name: name.to_owned(),
        price,
        stock,
    };
    vec![
        product("p-keyboard", "Mechanical keyboard", 89.99, 10),
        product("p-mouse", "Wireless mouse", 29.50, 25),
        product("p-monitor", "27-inch monitor", 249.00, 3),
        product("p-cable", "USB-C cable", 9.99, 100),
    ]
}

/// The product service: a catalogue in memory, with stock changes published as
/// `productStockChanged`.
#[derive(Debug)]
pub struct Catalog {
    products: Mutex<BTreeMap<String, Product>>,
    events: ProductServiceEvents,
}

impl Catalog {
    /// A catalogue holding `products`, publishing through `events`.
    pub fn new(products: impl IntoIterator<Item = Product>, events: ProductServiceEvents) -> Self {
        let products = products.into_iter().map(|p| (p.id.clone(), p)).collect();
        Self { products: Mutex::new(products), events }
    }

    /// A catalogue holding [`seed_products`].
    pub fn seeded(events: ProductServiceEvents) -> Self {
        Self::new(seed_products(), events)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Product>> {
        self.products.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to the stock of `product_id` and publishes the change.
    fn change_stock(
        &self,
        product_id: &str,
        order_id: &str,
        change: impl FnOnce(u32) -> Result<u32, ProductError>,
    ) -> Result<Product, ProductError> {
        let (product, previous_stock) = {
            let mut products = self.lock();
            let product = products
                .get_mut(product_id)
                .ok_or_else(|| ProductError::product_not_found(product_id))?;
            let previous_stock = product.stock;
            product.stock = change(product.stock)?;
            (product.clone(), previous_stock)
        };
        self.events.product_stock_changed(ProductStockChanged {
            product_id: product.id.clone(),
            previous_stock,
            new_stock: product.stock,
            order_id: order_id.to_owned(),
            timestamp: now_millis(),
        });
        Ok(product)
    }
}

impl ProductService for Catalog {
    async fn get_product_by_id(
        &self,
        req: GetProductById,
        _cx: Context,
    ) -> Result<Product, ProductError> {
        self.lock()
            .get(&req.product_id)
            .cloned()
            .ok_or_else(|| ProductError::product_not_found(req.product_id))
    }

    async fn reserve_product(
        &self,
        req: ReserveProduct,
        _cx: Context,
    ) -> Result<Product, ProductError> {
        self.change_stock(&req.product_id, &req.order_id, |stock| {
            stock.checked_sub(req.quantity).ok_or_else(|| {
                ProductError::insufficient_stock(req.product_id.clone(), req.quantity, stock)
            })
        })
    }

    async fn release_product(
        &self,
        req: ReleaseProduct,
        _cx: Context,
    ) -> Result<Product, ProductError> {
        self.change_stock(&req.product_id, &req.order_id, |stock| {
            Ok(stock.saturating_add(req.quantity))
        })
    }
}
