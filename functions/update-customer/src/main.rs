#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let deps = shared::Deps::from_env().await?;
    shared::http::run(deps, |deps, req| Box::pin(update_customer::handle(deps, req))).await
}
