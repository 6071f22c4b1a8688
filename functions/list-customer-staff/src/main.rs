#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[], |deps, req| Box::pin(list_customer_staff::handle(deps, req))).await
}
