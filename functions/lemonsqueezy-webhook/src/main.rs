use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[Setting::LemonSqueezyWebhookSecret, Setting::CheckoutTagSecret], |deps, req| {
        Box::pin(lemonsqueezy_webhook::handle(deps, req))
    })
}
