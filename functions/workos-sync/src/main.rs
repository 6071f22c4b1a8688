#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_events(&[], |deps, event| Box::pin(workos_sync::handle(deps, event))).await
}
