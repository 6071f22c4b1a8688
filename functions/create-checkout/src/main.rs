use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(
        &[Setting::WorkosApiKey, Setting::LemonSqueezyApiKey, Setting::LemonSqueezyStoreId, Setting::CheckoutTagSecret],
        |deps, req| Box::pin(create_checkout::handle(deps, req)),
    )
}
