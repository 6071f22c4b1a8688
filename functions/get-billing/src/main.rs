#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let deps = shared::Deps::from_env().await?;
    shared::http::run(deps, |deps, req| Box::pin(get_billing::handle(deps, req))).await
}
