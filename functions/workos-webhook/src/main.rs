#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let deps = shared::Deps::from_env().await?;
    deps.config.require(shared::config::Setting::WorkosWebhookSecret)?;
    shared::http::run(deps, |deps, req| Box::pin(workos_webhook::handle(deps, req))).await
}
