use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_events(&[Setting::WorkosApiKey], |deps, job| Box::pin(workos_sync::handle(deps, job)))
}
