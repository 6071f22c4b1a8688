#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[], |deps, req| Box::pin(get_me::handle(deps, req))).await
}
