use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[Setting::WorkosApiKey, Setting::LemonSqueezyApiKey], |deps, req| {
        Box::pin(get_billing::handle(deps, req))
    })
}
