#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let deps = shared::Deps::from_env().await?;
    deps.config.require(shared::config::Setting::LemonSqueezyApiKey)?;
    deps.config.require(shared::config::Setting::LemonSqueezyWebhookSecret)?;
    let deps = &deps;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            billing_reconcile::handle(deps, event.payload).await.map_err(lambda_http::Error::from)
        },
    ))
    .await
}
