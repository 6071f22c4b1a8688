#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[], |deps, req| Box::pin(create_customer::handle(deps, req))).await
}
