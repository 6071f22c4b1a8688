use shared::config::Setting;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[Setting::WorkosApiKey, Setting::WorkosWebhookSecret], |deps, req| {
        Box::pin(workos_webhook::handle(deps, req))
    })
    .await
}
