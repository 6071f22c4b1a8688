//! Token verification (API.md "Identity and roles"), end to end through the handlers: the
//! emulator's own tokens, and tokens with claims of the test's choosing signed by a test key
//! that the fault proxy adds to the JWKS.

use serde_json::{Value, json};
use testkit::{Fault, FaultProxy, GET, POST, TestApp, TestKey, env};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Setup {
    app: TestApp,
    proxy: FaultProxy,
    user_id: String,
    org_id: String,
}

/// An app whose JWKS also holds the test key, and a real emulator member to name in claims.
async fn setup(extra: &[(&str, &str)]) -> Setup {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    proxy.serve_test_key();
    let app = TestApp::with_workos_url(&proxy.url, extra).await;
    let org_id = app.emulator.create_org("Token Test Org").await;
    let user = app.emulator.create_user("token").await;
    app.emulator.add_membership(&user.id, &org_id, "admin").await;
    Setup { app, proxy, user_id: user.id, org_id }
}

impl Setup {
    fn claims(&self) -> Value {
        json!({
            "sub": self.user_id, "org_id": self.org_id, "sid": "session_test",
            "iss": env("WORKOS_API_URL"), "aud": env("WORKOS_CLIENT_ID"),
            "iat": now(), "exp": now() + 300,
        })
    }

    fn with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    /// Asserts a token is refused with 401 on a writing route, and that nothing was written.
    async fn refused(&self, token: &str, case: &str) {
        let response = self.app.call(POST, "/orgs", Some(token), Some(json!({"name": "Never Made"}))).await;
        assert_eq!(response.status, 401, "{case}: {:?}", response.body);
        assert_eq!(response.code(), "unauthenticated", "{case}");
        let challenge = response.headers.get("www-authenticate").and_then(|v| v.to_str().ok());
        assert_eq!(challenge, Some(r#"Bearer error="invalid_token""#), "{case}");
        assert!(self.app.items().await.is_empty(), "{case}: nothing is written");
    }

    async fn accepted(&self, token: &str, case: &str) {
        let response = self.app.call(GET, "/org", Some(token), None).await;
        assert_eq!(response.status, 200, "{case}: {:?}", response.body);
        assert_eq!(response.body["id"], self.org_id.as_str(), "{case}");
    }
}

#[tokio::test]
async fn a_valid_emulator_token_passes() {
    let app = TestApp::new().await;
    let (user, org_id, token) = app.member_of_new_org("admin").await;
    let response = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["user"]["id"], user.id.as_str());
    assert_eq!(response.body["organization"]["id"], org_id.as_str());
}

#[tokio::test]
async fn bad_tokens_are_refused_and_write_nothing() {
    let s = setup(&[]).await;
    let t = now();
    let cases: Vec<(&str, String)> = vec![
        ("expired beyond the leeway", TestKey::sign(&s.with(json!({"exp": t - 120})), None)),
        ("not valid yet", TestKey::sign(&s.with(json!({"nbf": t + 600})), None)),
        ("wrong issuer", TestKey::sign(&s.with(json!({"iss": "https://evil.example"})), None)),
        ("wrong audience", TestKey::sign(&s.with(json!({"aud": "client_other"})), None)),
        ("audience list without us", TestKey::sign(&s.with(json!({"aud": ["a", "b"]})), None)),
        ("no exp", TestKey::sign(&s.with(json!({"exp": null})), None)),
        ("no sub", TestKey::sign(&s.with(json!({"sub": null})), None)),
        ("alg none", TestKey::unsigned(&s.claims())),
        ("HS256 signed with the public key", TestKey::sign_hs256_with_public_key(&s.claims())),
        ("unknown kid", TestKey::sign(&s.claims(), Some("kid-nobody-has"))),
        ("garbage", "not-a-token".to_owned()),
        ("three garbage parts", "aaa.bbb.ccc".to_owned()),
    ];
    for (case, token) in &cases {
        s.refused(token, case).await;
    }

    let good = TestKey::sign(&s.claims(), None);
    s.refused(&good[..good.len() - 10], "truncated").await;
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let tampered = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        b64.encode(s.with(json!({"sub": "user_someone_else"})).to_string())
    };
    parts[1] = tampered;
    s.refused(&parts.join("."), "tampered payload").await;

    // Header problems.
    for (case, header) in [("wrong scheme", format!("Basic {good}")), ("empty bearer", "Bearer ".to_owned())] {
        let request = http::Request::builder()
            .method(POST)
            .uri("/orgs")
            .header("authorization", header)
            .body(bytes::Bytes::from(r#"{"name":"Never Made"}"#))
            .unwrap();
        let response = s.app.send(request).await;
        assert_eq!(response.status, 401, "{case}");
        assert_eq!(response.code(), "unauthenticated", "{case}");
    }
    let response = s.app.call(POST, "/orgs", None, Some(json!({"name": "Never Made"}))).await;
    assert_eq!(response.status, 401, "missing header");
    assert!(response.headers.contains_key("www-authenticate"));
    assert!(s.app.items().await.is_empty());
    assert!(s.app.emulator.orgs_named("Never Made").await.is_empty(), "no WorkOS organization either");
}

#[tokio::test]
async fn accepted_claim_variants() {
    let custom_issuer = "https://auth.custom.example";
    let s = setup(&[("WORKOS_ISSUERS", &format!("{},{custom_issuer}", env("WORKOS_API_URL")))]).await;
    let t = now();
    s.accepted(&TestKey::sign(&s.claims(), None), "all claims right").await;
    s.accepted(&TestKey::sign(&s.with(json!({"exp": t - 10})), None), "expired within the leeway").await;
    s.accepted(&TestKey::sign(&s.with(json!({"aud": null})), None), "no audience").await;
    s.accepted(&TestKey::sign(&s.with(json!({"aud": ["x", env("WORKOS_CLIENT_ID")]})), None), "audience list").await;
    s.accepted(&TestKey::sign(&s.with(json!({"iss": format!("{custom_issuer}/")})), None), "custom issuer").await;
    let user_management = format!("{}/user_management/{}", s.proxy.url, env("WORKOS_CLIENT_ID"));
    s.accepted(&TestKey::sign(&s.with(json!({"iss": user_management})), None), "user management issuer").await;
    s.accepted(&TestKey::sign(&s.with(json!({"iss": format!("{}/", s.proxy.url)})), None), "base URL issuer with /")
        .await;
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_a_minute() {
    let s = setup(&[]).await;
    s.accepted(&TestKey::sign(&s.claims(), None), "warm the key cache").await;
    let before = s.proxy.count(&GET, "/sso/jwks/");
    assert_eq!(before, 1, "one fetch to start");
    for i in 0..25 {
        let token = TestKey::sign(&s.claims(), Some(&format!("flood-{i}")));
        let response = s.app.call(GET, "/org", Some(&token), None).await;
        assert_eq!(response.status, 401);
    }
    assert!(s.proxy.count(&GET, "/sso/jwks/") <= before + 1, "a flood of unknown kids is at most one refetch");
    s.accepted(&TestKey::sign(&s.claims(), None), "known keys still work").await;
}

// --- the leeway and the JWKS, pinned (issue 9, "tests that do not test what they say") -------

/// The configured leeway, exactly: a token expired just inside it is accepted, just outside it
/// refused; and it is within API.md's 60 s.
#[tokio::test]
async fn the_leeway_is_exactly_the_configured_one() {
    let leeway = shared::clients::tokens::LEEWAY_SECONDS as i64;
    assert!(leeway <= 60, "API.md allows 60 s at most");
    let s = setup(&[]).await;
    let t = now();
    // Refusals first: they check that nothing was written.
    s.refused(&TestKey::sign(&s.with(json!({"exp": t - leeway - 3})), None), "expired 3 s past the leeway").await;
    s.refused(&TestKey::sign(&s.with(json!({"nbf": t + leeway + 3})), None), "valid 3 s past the leeway").await;
    s.accepted(&TestKey::sign(&s.with(json!({"exp": t - leeway + 3})), None), "expired 3 s inside the leeway").await;
    s.accepted(&TestKey::sign(&s.with(json!({"nbf": t + leeway - 3})), None), "valid 3 s inside the leeway").await;
}

/// After the refetch window, an unknown `kid` fetches the JWKS again (once); within it, never.
#[tokio::test]
async fn an_unknown_kid_refetches_once_the_window_has_passed() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    proxy.serve_test_key();
    let window = std::time::Duration::from_millis(1500);
    let app = TestApp::with_workos_url(&proxy.url, &[]).await.with_jwks_refetch_interval(window);
    let org_id = app.emulator.create_org("Refetch Org").await;
    let user = app.emulator.create_user("refetch").await;
    app.emulator.add_membership(&user.id, &org_id, "admin").await;
    let s = Setup { app, proxy, user_id: user.id, org_id };
    let fetches = || s.proxy.count(&GET, "/sso/jwks/");
    s.accepted(&TestKey::sign(&s.claims(), None), "warm").await;
    assert_eq!(fetches(), 1);
    for i in 0..5 {
        let response =
            s.app.call(GET, "/org", Some(&TestKey::sign(&s.claims(), Some(&format!("new-{i}")))), None).await;
        assert_eq!(response.status, 401);
    }
    assert_eq!(fetches(), 1, "within the window: the cache answers");
    tokio::time::sleep(window + std::time::Duration::from_millis(200)).await;
    for i in 0..5 {
        let response =
            s.app.call(GET, "/org", Some(&TestKey::sign(&s.claims(), Some(&format!("later-{i}")))), None).await;
        assert_eq!(response.status, 401);
    }
    assert_eq!(fetches(), 2, "past the window: one refetch, then the window again");
}

/// A JWKS endpoint that is down while nothing is cached: 503 (not 401, not 500), and still at
/// most one fetch per window; once it is back (the window over), tokens pass.
#[tokio::test]
async fn a_jwks_that_is_down_is_503_and_fetched_once_a_window() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    proxy.serve_test_key();
    let window = std::time::Duration::from_millis(1500);
    let app = TestApp::with_workos_url(&proxy.url, &[]).await.with_jwks_refetch_interval(window);
    let org_id = app.emulator.create_org("Down JWKS Org").await;
    let user = app.emulator.create_user("down").await;
    app.emulator.add_membership(&user.id, &org_id, "admin").await;
    let s = Setup { app, proxy, user_id: user.id, org_id };
    s.proxy.fail(GET, "/sso/jwks/", Fault::Status(500), 1);
    s.proxy.fail(GET, "/sso/jwks/", Fault::Drop, 1);
    let token = TestKey::sign(&s.claims(), None);
    for _ in 0..10 {
        let response = s.app.call(GET, "/org", Some(&token), None).await;
        assert_eq!((response.status, response.code()), (503, "upstream_unavailable"), "{:?}", response.body);
    }
    assert_eq!(s.proxy.count(&GET, "/sso/jwks/"), 1, "ten requests, one fetch");
    tokio::time::sleep(window + std::time::Duration::from_millis(200)).await;
    let dropped = s.app.call(GET, "/org", Some(&token), None).await;
    assert_eq!(dropped.status, 503, "the next window's fetch fails too (dropped)");
    tokio::time::sleep(window + std::time::Duration::from_millis(200)).await;
    s.accepted(&token, "the JWKS is back").await;
    assert_eq!(s.proxy.count(&GET, "/sso/jwks/"), 3);
}

/// A JWKS that answers past the client's timeout is unreachable: 503.
#[tokio::test]
async fn a_slow_jwks_is_503() {
    let s = setup(&[]).await;
    s.proxy.fail(GET, "/sso/jwks/", Fault::Delay(std::time::Duration::from_secs(7)), 1);
    let response = s.app.call(GET, "/org", Some(&TestKey::sign(&s.claims(), None)), None).await;
    assert_eq!((response.status, response.code()), (503, "upstream_unavailable"), "{:?}", response.body);
}

/// Issue 10: forged and malformed tokens, each answered 401 `unauthenticated` (never 500) with
/// nothing written. With the cases of `bad_tokens_are_refused_and_write_nothing`, over 20.
#[tokio::test]
async fn forged_and_malformed_tokens_are_refused() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let s = setup(&[]).await;
    let t = now();
    let leeway = shared::clients::tokens::LEEWAY_SECONDS as i64;
    let claims = s.claims();
    let header = |kid: &str| json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string();
    let good = TestKey::sign(&claims, None);
    let segments: Vec<&str> = good.split('.').collect();
    let huge_header = json!({"alg": "RS256", "kid": TestKey::KID, "pad": "x".repeat(100 * 1024)}).to_string();
    let duplicate_sub = format!(
        r#"{{"sub":"{}","sub":"user_someone_else","org_id":"{}","iss":"{}","aud":"{}","exp":{},"iat":{}}}"#,
        s.user_id,
        s.org_id,
        env("WORKOS_API_URL"),
        env("WORKOS_CLIENT_ID"),
        t + 300,
        t
    );
    let cases: Vec<(&str, String)> = vec![
        ("RS256 by another key under a known kid", TestKey::sign_with_another_key(&claims)),
        ("kid with path text", TestKey::sign(&claims, Some("../../../etc/passwd"))),
        ("kid with injection text", TestKey::sign(&claims, Some("' OR '1'='1"))),
        ("kid as a number", TestKey::sign_raw(&json!({"alg": "RS256", "kid": 7}).to_string(), &claims.to_string())),
        ("sub as a number", TestKey::sign(&s.with(json!({"sub": 42})), None)),
        ("exp as a string", TestKey::sign(&s.with(json!({"exp": (t + 300).to_string()})), None)),
        ("org_id as an object", TestKey::sign(&s.with(json!({"org_id": {"id": s.org_id}})), None)),
        ("expired 1 s past the leeway", TestKey::sign(&s.with(json!({"exp": t - leeway - 1})), None)),
        ("nbf in the future", TestKey::sign(&s.with(json!({"nbf": t + 3600})), None)),
        ("iat far in the future", TestKey::sign(&s.with(json!({"iat": t + 86_400 * 365})), None)),
        ("a 100 KiB header", TestKey::sign_raw(&huge_header, &claims.to_string())),
        ("not base64", "@@@.###.$$$".to_owned()),
        ("two segments", format!("{}.{}", segments[0], segments[1])),
        ("four segments", format!("{good}.{}", segments[2])),
        ("duplicate JSON keys", TestKey::sign_raw(&header(TestKey::KID), &duplicate_sub)),
        ("payload not JSON", TestKey::sign_raw(&header(TestKey::KID), "not json")),
        ("header not JSON", format!("{}.{}.{}", b64.encode("{"), segments[1], segments[2])),
        (
            "alg RS512",
            TestKey::sign_raw(&json!({"alg": "RS512", "kid": TestKey::KID}).to_string(), &claims.to_string()),
        ),
        ("empty", String::new()),
        (
            "signature of another token",
            format!(
                "{}.{}.{}",
                segments[0],
                b64.encode(s.with(json!({"org_id": "org_other"})).to_string()),
                segments[2]
            ),
        ),
    ];
    assert!(cases.len() >= 20);
    for (case, token) in &cases {
        if token.is_empty() {
            let response = s.app.call(POST, "/orgs", Some(""), Some(json!({"name": "Never Made"}))).await;
            assert_eq!((response.status, response.code()), (401, "unauthenticated"), "{case}");
            continue;
        }
        s.refused(token, case).await;
    }
}

/// A JWKS that answers garbage, with nothing cached: 503, not 401 or 500.
#[tokio::test]
async fn a_jwks_answering_garbage_is_503() {
    let s = setup(&[]).await;
    s.proxy.fail(GET, "/sso/jwks/", Fault::Garbage, 1);
    let response = s.app.call(GET, "/org", Some(&TestKey::sign(&s.claims(), None)), None).await;
    assert_eq!((response.status, response.code()), (503, "upstream_unavailable"), "{:?}", response.body);
}
