fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_websocket(|deps, event| Box::pin(live_connect::handle(deps, event)))
}
