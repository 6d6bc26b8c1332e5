//! Every request the server handles is a `tracing` span carrying the request id, the request
//! type, the client id and the outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use contracts::order::{GetOrderById, OrderServiceClient};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

type Spans = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

/// Records every span's name and fields, including fields recorded later.
#[derive(Clone, Default)]
struct Recorder {
    spans: Spans,
    index: Arc<Mutex<HashMap<u64, usize>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().expect("spans");
        spans.push((attrs.metadata().name().to_owned(), fields));
        self.index.lock().expect("index").insert(id.into_u64(), spans.len() - 1);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(&at) = self.index.lock().expect("index").get(&id.into_u64()) {
            values.record(&mut Fields(&mut self.spans.lock().expect("spans")[at].1));
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_request_is_a_span_with_its_type_client_and_outcome() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let services = examples::start_all("tracing-spans").await.expect("services start");
    let client = OrderServiceClient::connect(services.orders.address()).await.expect("connects");
    let missing = GetOrderById { order_id: "o-404".into() };
    let err = client.get_order_by_id(missing).await.expect_err("no such order");
    assert_eq!(err.contract().map(messaging_runtime::ErrorCode::code), Some("ORDER_NOT_FOUND"));
    let spans = recorder.spans.lock().expect("spans").clone();
    let request = spans
        .iter()
        .find(|(name, fields)| {
            name == "request"
                && fields.get("request_type").map(String::as_str) == Some("getOrderById")
        })
        .expect("a span for the getOrderById request");
    assert_eq!(request.1.get("outcome").map(String::as_str), Some("ORDER_NOT_FOUND"));
    assert!(request.1.get("client").is_some_and(|c| c.starts_with("client-")), "{request:?}");
    assert!(request.1.contains_key("request_id") && request.1.contains_key("seq"), "{request:?}");
    services.stop().await;
}
