#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let deps = shared::Deps::from_env().await?;
    deps.config.require(shared::config::Setting::LemonSqueezyApiKey)?;
    deps.config.require(shared::config::Setting::LemonSqueezyStoreId)?;
    deps.config.require(shared::config::Setting::LemonSqueezyWebhookSecret)?;
    shared::http::run(deps, |deps, req| Box::pin(create_checkout::handle(deps, req))).await
}
