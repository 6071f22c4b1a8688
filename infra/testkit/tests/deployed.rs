//! The deployed path (issue 10): every function's real binary under a Lambda Runtime API,
//! fed API Gateway HTTP API (payload 2.0) events as API Gateway sends them (path parameters,
//! query strings, base64-encoded bodies, cookies, mixed-case headers), answering as the
//! in-process call of the same request does: the same status and the same body shape. The two
//! scheduled functions get an EventBridge scheduled event; a missing setting fails the cold start
//! through the Runtime API's init error call.

use std::collections::BTreeMap;

use serde_json::Value;
use testkit::lambda::{HttpEvent, LambdaFunction, Outcome, scheduled_event};
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for, sign};
use testkit::scenario::{Scenario, member_request};
use testkit::{TestApp, env};

const PLANS: &str = r#"{"free":{"name":"Free","maxCustomers":100,"maxStaff":100,"maxClients":100},
  "variants":{"500001":{"name":"Pro","maxCustomers":500,"maxStaff":500,"maxClients":500}}}"#;
const WORKOS_SECRET: &str = "deployed-workos-secret";

/// The shape of a JSON value: object keys (recursively), the first item of an array, and the
/// type of a scalar; `null` matches any type (a nullable field may be set in one and not the other).
fn same_shape(a: &Value, b: &Value) -> Result<(), String> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => Ok(()),
        (Value::Object(x), Value::Object(y)) => {
            let (kx, ky): (Vec<_>, Vec<_>) = (x.keys().collect(), y.keys().collect());
            if kx != ky {
                return Err(format!("keys {kx:?} against {ky:?}"));
            }
            x.iter().try_for_each(|(k, v)| same_shape(v, &y[k]).map_err(|e| format!("{k}: {e}")))
        }
        (Value::Array(x), Value::Array(y)) => match (x.first(), y.first()) {
            (Some(p), Some(q)) => same_shape(p, q),
            _ => Ok(()),
        },
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => Err(format!("{a} against {b}")),
    }
}

/// A Lambda HTTP response: its status and decoded JSON body.
fn decode(outcome: Outcome) -> (u16, Value) {
    use base64::Engine;
    let Outcome::Response(response) = outcome else { panic!("the function failed: {outcome:?}") };
    let status = response["statusCode"].as_u64().expect("statusCode") as u16;
    let text = response["body"].as_str().unwrap_or_default();
    let bytes = if response["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(text).expect("base64 body")
    } else {
        text.as_bytes().to_vec()
    };
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
    if status >= 400 {
        let content_type = response["headers"]["content-type"].as_str();
        assert_eq!(content_type, Some("application/problem+json"), "errors are problem+json: {response}");
    }
    (status, body)
}

/// The same request, in process through the local gateway's router.
async fn in_process(app: &TestApp, event: &HttpEvent) -> (u16, Value) {
    let query = event.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let uri = if query.is_empty() { event.path.clone() } else { format!("{}?{query}", event.path) };
    let mut request = http::Request::builder().method(event.method.as_str()).uri(uri);
    for (name, value) in &event.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if !event.cookies.is_empty() {
        request = request.header("cookie", event.cookies.join("; "));
    }
    let body = bytes::Bytes::from(event.body.clone().unwrap_or_default());
    let response = app.send(request.body(body).unwrap()).await;
    (response.status, response.body)
}

#[tokio::test]
async fn every_route_answers_as_deployed_as_in_process() {
    let stub = LemonSqueezyStub::start().await;
    let extra = [("PLANS", PLANS), ("WORKOS_WEBHOOK_SECRET", WORKOS_SECRET)];
    let app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &extra).await;
    // Two rounds: 0 through Lambda, 1 in process, each with targets of its own.
    let scenario = Scenario::prepare(&app, WORKOS_SECRET, |_| 2).await;
    let mut cases: Vec<(&str, HttpEvent, HttpEvent)> = dev_server::routes()
        .iter()
        .map(|route| (route.function, scenario.event(route.function, 0), scenario.event(route.function, 1)))
        .collect();
    cases.push(("get-org", scenario.unauthenticated(), scenario.unauthenticated()));

    let env = app.lambda_env();
    let mut functions: BTreeMap<&str, LambdaFunction> = BTreeMap::new();
    let mut statuses = Vec::new();
    for (function, deployed, in_process_twin) in &cases {
        if !functions.contains_key(function) {
            functions.insert(function, LambdaFunction::start(function, &env).await);
        }
        let (status, body) = decode(functions[function].invoke(deployed.to_json()).await);
        let (expected_status, expected_body) = in_process(&app, in_process_twin).await;
        assert_eq!(status, expected_status, "{function} {}: {body}", deployed.path);
        same_shape(&body, &expected_body).unwrap_or_else(|e| panic!("{function}: {e}\n{body}\n{expected_body}"));
        statuses.push((*function, status));
    }
    // Every deployed HTTP function was exercised, each on its success path (and one 401).
    let deployed: std::collections::BTreeSet<&str> = cases.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(deployed.len(), 32, "{deployed:?}");
    assert!(statuses.iter().filter(|(_, s)| *s == 401).count() == 1, "{statuses:?}");
    assert!(statuses.iter().all(|(_, s)| *s < 300 || *s == 401), "{statuses:?}");

    // An API key through the Runtime API: the route key in API Gateway's event decides its scope.
    let body = serde_json::json!({"name": "Deployed", "scope": "read"});
    let key = app.call(http::Method::POST, "/api-keys", Some(&scenario.org.admin.token), Some(body)).await;
    let secret = key.body["secret"].as_str().unwrap().to_owned();
    let with_key = |method: &str, route: &str, body: Option<&str>| {
        let mut event = HttpEvent::new(method, route, route);
        event.headers.push(("Authorization".into(), format!("Bearer {secret}")));
        event.body = body.map(|b| b.as_bytes().to_vec());
        event
    };
    let (status, body) =
        decode(functions["list-customers"].invoke(with_key("GET", "/customers", None).to_json()).await);
    assert_eq!(status, 200, "{body}");
    assert!(!body["items"].as_array().unwrap().is_empty(), "{body}");
    let write = with_key("POST", "/customers", Some(r#"{"name":"Not with a read key"}"#));
    let (status, body) = decode(functions["create-customer"].invoke(write.to_json()).await);
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
}

#[tokio::test]
async fn the_scheduled_functions_take_an_eventbridge_event() {
    let stub = LemonSqueezyStub::start().await;
    let workos = testkit::PrivateEmulator::start().await;
    let app = TestApp::with_lemonsqueezy(&workos.url, &stub, &[("WORKOS_ISSUERS", &workos.url)]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Scheduled Co").await;
    let user = emulator.create_user("admin").await;
    emulator.add_membership(&user.id, &org_id, "admin").await;
    let env = app.lambda_env();
    for name in ["workos-sync", "billing-reconcile"] {
        let function = LambdaFunction::start(name, &env).await;
        let Outcome::Response(report) = function.invoke(scheduled_event()).await else { panic!("{name} failed") };
        let expected = match name {
            "workos-sync" => app.run_job("workos-sync", scheduled_event()).await.unwrap(),
            _ => app.run_job("billing-reconcile", scheduled_event()).await.unwrap(),
        };
        same_shape(&report, &expected).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report["complete"], true, "{name}: {report}");
    }
    assert!(app.deps.store.get_member(&org_id, &user.id).await.unwrap().is_some(), "the deployed sync mirrored");
}

#[tokio::test]
async fn a_missing_setting_fails_the_cold_start_through_the_runtime_api() {
    // Every setting there, so that each case misses exactly the one it names.
    let stub = LemonSqueezyStub::start().await;
    let app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("WORKOS_WEBHOOK_SECRET", "s")]).await;
    for (name, missing) in [
        ("lemonsqueezy-webhook", "LEMONSQUEEZY_WEBHOOK_SECRET"),
        ("lemonsqueezy-webhook", "CHECKOUT_TAG_SECRET"),
        ("create-checkout", "CHECKOUT_TAG_SECRET"),
        ("workos-webhook", "WORKOS_WEBHOOK_SECRET"),
        ("get-me", "TABLE_NAME"),
    ] {
        let env: Vec<(String, String)> = app.lambda_env().into_iter().filter(|(k, _)| k != missing).collect();
        let mut function = LambdaFunction::start(name, &env).await;
        let error = function.init_error().await.unwrap_or_else(|| panic!("{name}: no init error reported"));
        assert!(error["errorMessage"].as_str().unwrap().contains(missing), "{name}: {error}");
        assert_eq!(error["errorType"], "Runtime.ConfigError");
    }
}

/// A Secrets Manager client of the local stack's moto server.
async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .endpoint_url(env("AWS_ENDPOINT_URL_SECRETS_MANAGER"))
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new("local", "local", None, None, "tests"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// As deployed, a function's configuration holds no secret, only the ARN of each secret it uses:
/// the cold start reads them from Secrets Manager (moto's server here) and the function serves
/// with them. A secret it cannot read stops the cold start, naming the variable and not the value.
#[tokio::test]
async fn secrets_are_read_from_secrets_manager_at_cold_start() {
    let app = TestApp::new().await;
    let fixture = app.org_fixture().await;
    let api_key = app.vars["WORKOS_API_KEY"].clone();
    let secret = secrets_manager()
        .await
        .create_secret()
        .name(format!("workos-api-key-{}", ulid::Ulid::new()))
        .secret_string(&api_key)
        .send()
        .await
        .unwrap();
    let arn = secret.arn().unwrap().to_owned();
    let without_the_key = || app.lambda_env().into_iter().filter(|(k, _)| k != "WORKOS_API_KEY");

    let env: Vec<(String, String)> =
        without_the_key().chain([("WORKOS_API_KEY_SECRET_ARN".to_owned(), arn.clone())]).collect();
    assert!(env.iter().all(|(_, value)| value != &api_key), "the configuration holds no secret");
    let function = LambdaFunction::start("get-me", &env).await;
    // A user the table does not hold yet: provisioning calls WorkOS with the key from the secret.
    let newcomer = app.new_member(&fixture.org_id, "staff").await;
    let (status, body) =
        decode(function.invoke(member_request("GET", "/me", "/me", Some(&newcomer), None).to_json()).await);
    assert_eq!((status, body["role"].as_str()), (200, Some("staff")), "{body}");

    // A JSON key/value secret (the console's default) is refused, not used whole as the key.
    let json_secret = secrets_manager()
        .await
        .create_secret()
        .name(format!("workos-api-key-json-{}", ulid::Ulid::new()))
        .secret_string(format!("{{\"WORKOS_API_KEY\": \"{api_key}\"}}"))
        .send()
        .await
        .unwrap();
    let env: Vec<(String, String)> = without_the_key()
        .chain([("WORKOS_API_KEY_SECRET_ARN".to_owned(), json_secret.arn().unwrap().to_owned())])
        .collect();
    let mut function = LambdaFunction::start("get-me", &env).await;
    let error = function.init_error().await.expect("a JSON secret fails the cold start");
    assert!(error["errorMessage"].as_str().unwrap().contains("is JSON"), "{error}");

    let missing = arn.replace("workos-api-key-", "no-such-secret-");
    let env: Vec<(String, String)> =
        without_the_key().chain([("WORKOS_API_KEY_SECRET_ARN".to_owned(), missing)]).collect();
    let mut function = LambdaFunction::start("get-me", &env).await;
    let error = function.init_error().await.expect("the cold start fails");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(message.contains("WORKOS_API_KEY_SECRET_ARN"), "{message}");
    assert!(!message.contains(&api_key), "{message}");
}

/// The two functions that never call WorkOS are deployed without its API key: they start and
/// serve without it. (A function that needs it names it at cold start, like any other setting.)
#[tokio::test]
async fn the_functions_that_never_call_workos_run_without_its_key() {
    let stub = LemonSqueezyStub::start().await;
    let app =
        TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")]).await;
    let org = app.org_fixture().await;
    let env: Vec<(String, String)> = app.lambda_env().into_iter().filter(|(k, _)| k != "WORKOS_API_KEY").collect();

    let webhook = LambdaFunction::start("lemonsqueezy-webhook", &env).await;
    let text = String::from_utf8(fixture_for("subscription_created", &org.org_id)).unwrap();
    let mut event = HttpEvent::new("POST", "/webhooks/lemon-squeezy", "/webhooks/lemon-squeezy");
    event.headers.push(("X-Signature".into(), sign(text.as_bytes())));
    event.headers.push(("Content-Type".into(), "application/json".into()));
    event.body = Some(text.into_bytes());
    let (status, body) = decode(webhook.invoke(event.to_json()).await);
    assert_eq!((status, body["status"].as_str()), (200, Some("applied")), "{body}");

    let reconcile = LambdaFunction::start("billing-reconcile", &env).await;
    let Outcome::Response(report) = reconcile.invoke(scheduled_event()).await else {
        panic!("the reconcile run failed")
    };
    assert_eq!(report["complete"], true, "{report}");

    let mut get_me = LambdaFunction::start("get-me", &env).await;
    let error = get_me.init_error().await.expect("get-me needs the key");
    assert!(error["errorMessage"].as_str().unwrap().contains("WORKOS_API_KEY"), "{error}");
}

/// An API Gateway WebSocket event, as API Gateway sends it.
fn websocket_event(route: &str, kind: &str, connection_id: &str, ticket: Option<&str>, body: Option<&str>) -> Value {
    let mut event = serde_json::json!({
        "requestContext": {
            "routeKey": route, "eventType": kind, "connectionId": connection_id,
            "messageDirection": "IN", "extendedRequestId": "XyZ=", "requestTime": "03/Dec/2026:12:00:00 +0000",
            "stage": "live", "connectedAt": 1796300000000_i64, "requestTimeEpoch": 1796300000001_i64,
            "identity": {"sourceIp": "203.0.113.9"}, "requestId": "XyZ=", "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
            "apiId": "abc"
        },
        "isBase64Encoded": false
    });
    if let Some(ticket) = ticket {
        event["queryStringParameters"] = serde_json::json!({"ticket": ticket});
        event["multiValueQueryStringParameters"] = serde_json::json!({"ticket": [ticket]});
    }
    if let Some(body) = body {
        event["body"] = Value::String(body.to_owned());
    }
    event
}

/// The four live functions' binaries answer API Gateway WebSocket events and a DynamoDB stream
/// event through the Runtime API, as deployed.
#[tokio::test]
async fn the_live_functions_take_websocket_and_stream_events() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let live = app.live().await;
    let mut env = app.lambda_env();
    env.push(("LIVE_MANAGEMENT_URL".to_owned(), live.http_url.clone()));
    let status = |outcome: Outcome| match outcome {
        Outcome::Response(answer) => answer["statusCode"].as_i64().unwrap_or_default(),
        Outcome::Error(error) => panic!("the function failed: {error}"),
    };

    let connect = LambdaFunction::start("live-connect", &env).await;
    assert_eq!(status(connect.invoke(websocket_event("$connect", "CONNECT", "c1=", None, None)).await), 401);
    let ticket = live.ticket(&org.staff.token).await;
    let ticket = ticket.body["ticket"].as_str().unwrap().to_owned();
    let event = websocket_event("$connect", "CONNECT", "c1=", Some(&ticket), None);
    assert_eq!(status(connect.invoke(event.clone()).await), 200);
    assert!(app.deps.store.connection("c1=").await.unwrap().is_some(), "the connection is stored");
    assert_eq!(status(connect.invoke(event).await), 401, "a used ticket");

    // $default for a connection API Gateway no longer has: the post is gone, and it is forgotten.
    let message = LambdaFunction::start("live-message", &env).await;
    let ping = websocket_event("$default", "MESSAGE", "c1=", None, Some(r#"{"action":"ping"}"#));
    assert_eq!(status(message.invoke(ping).await), 200);
    assert!(app.deps.store.connection("c1=").await.unwrap().is_none(), "a 410 forgets the connection");

    let disconnect = LambdaFunction::start("live-disconnect", &env).await;
    assert_eq!(status(disconnect.invoke(websocket_event("$disconnect", "DISCONNECT", "c2=", None, None)).await), 200);

    // A stream event with a record that is no change, and one that cannot be read.
    let broadcast = LambdaFunction::start("live-broadcast", &env).await;
    let stream_event = serde_json::json!({"Records": [
        {"eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
         "awsRegion": "eu-west-1", "eventSourceARN": "arn:aws:dynamodb:eu-west-1:1:table/t/stream/x",
         "dynamodb": {"ApproximateCreationDateTime": 1796300000.0, "Keys": {"PK": {"S": "USER#u"}, "SK": {"S": "PROFILE"}},
           "NewImage": {"PK": {"S": "USER#u"}, "SK": {"S": "PROFILE"}, "entity": {"S": "user"}},
           "SequenceNumber": "111", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
        {"eventID": "2", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
         "awsRegion": "eu-west-1", "eventSourceARN": "arn:aws:dynamodb:eu-west-1:1:table/t/stream/x",
         "dynamodb": {"ApproximateCreationDateTime": 1796300000.0, "Keys": {"PK": {"S": "ORG#o#AUDIT#2026-12"}, "SK": {"S": "AUDIT#x"}},
           "NewImage": {"PK": {"S": "ORG#o#AUDIT#2026-12"}, "SK": {"S": "AUDIT#x"}, "entity": {"S": "audit"}},
           "SequenceNumber": "222", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    ]});
    let Outcome::Response(answer) = broadcast.invoke(stream_event).await else { panic!("live-broadcast failed") };
    assert_eq!(answer, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "222"}]}));
}
