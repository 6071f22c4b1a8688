fn main() -> Result<(), lambda_http::Error> {
    shared::api::lambda::serve_stream()
}
