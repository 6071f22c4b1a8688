use shared::config::Setting;

fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_events(&[Setting::WorkosApiKey], |deps, event| {
        Box::pin(workos_sync::handle(deps, event))
    })
}
