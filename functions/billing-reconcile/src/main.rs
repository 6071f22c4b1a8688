use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_events(&[Setting::LemonSqueezyApiKey, Setting::CheckoutTagSecret], |deps, job| {
        Box::pin(billing_reconcile::handle(deps, job))
    })
}
