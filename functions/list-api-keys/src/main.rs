use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[Setting::WorkosApiKey], |deps, req| Box::pin(list_api_keys::handle(deps, req)))
}
