use shared::config::Setting;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_events(
        &[Setting::LemonSqueezyApiKey, Setting::LemonSqueezyWebhookSecret],
        |deps, event| Box::pin(billing_reconcile::handle(deps, event)),
    )
    .await
}
