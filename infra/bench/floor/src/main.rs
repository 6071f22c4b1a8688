//! The least a Rust Lambda function can do on `lambda_runtime`: answer every event with a fixed
//! API Gateway response, no I/O. What `make bench` measures the functions against.

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, lambda_runtime::Error>(json!({"statusCode": 200, "body": "hello"}))
    }))
    .await
}
