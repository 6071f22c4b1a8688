use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_http(&[Setting::WorkosApiKey], |deps, req| Box::pin(get_audit_log::handle(deps, req)))
}
