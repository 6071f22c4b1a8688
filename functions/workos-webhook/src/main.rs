use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[Setting::WorkosApiKey, Setting::WorkosWebhookSecret], |deps, req| {
        Box::pin(workos_webhook::handle(deps, req))
    })
}
