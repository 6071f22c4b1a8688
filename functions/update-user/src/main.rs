#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[], |deps, req| Box::pin(update_user::handle(deps, req))).await
}
