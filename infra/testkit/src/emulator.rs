//! Users, organizations, memberships and tokens in the WorkOS emulator, through its API.

use serde_json::{Value, json};

use crate::env;

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
}

/// API keys of `workos-seed.yaml` for the tests' own setup calls, used in turn.
const SETUP_KEYS: usize = 8;

pub struct Emulator {
    pub url: String,
    client_id: String,
    http: reqwest::Client,
    next_key: std::sync::atomic::AtomicUsize,
}

impl Emulator {
    /// The emulator `make test` started.
    pub fn from_env() -> Self {
        Self::at(&env("WORKOS_API_URL"))
    }

    pub fn at(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            client_id: env("WORKOS_CLIENT_ID"),
            http: reqwest::Client::new(),
            next_key: std::sync::atomic::AtomicUsize::new(ulid::Ulid::new().random() as usize),
        }
    }

    fn setup_key(&self) -> String {
        let n = self.next_key.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SETUP_KEYS;
        format!("sk_test_setup_{n}")
    }

    /// Calls the emulator's API with a given key; answers the status and body.
    pub async fn api_as(&self, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("emulator reachable");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// Calls the emulator's API; panics unless it answers 2xx. A 429 (the emulator acted on
    /// nothing) is tried again a second later with the next setup key, for up to two minutes: a
    /// large setup, like the 10,000 memberships of `scale-sync`, outruns the keys' allowance.
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        for _ in 0..120 {
            let (status, answer) = self.api_as(&self.setup_key(), method.clone(), path, body.clone()).await;
            if status == 429 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            assert!((200..300).contains(&status), "emulator {method} {path} answered {status}: {answer}");
            return answer;
        }
        panic!("emulator {method} {path} kept answering 429")
    }

    /// Whether the emulator has the organization `org_id`.
    pub async fn has_org(&self, org_id: &str) -> bool {
        let (status, answer) =
            self.api_as(&self.setup_key(), reqwest::Method::GET, &format!("/organizations/{org_id}"), None).await;
        assert!([200, 404].contains(&status), "emulator GET organization answered {status}: {answer}");
        status == 200
    }

    pub async fn create_user(&self, prefix: &str) -> TestUser {
        let email = format!("{prefix}-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
        let password = "Test-password-1!".to_owned();
        let user = self
            .api(
                reqwest::Method::POST,
                "/user_management/users",
                Some(json!({"email": email, "password": password, "first_name": "Test", "last_name": prefix, "email_verified": true})),
            )
            .await;
        TestUser { id: user["id"].as_str().expect("user id").to_owned(), email, password }
    }

    pub async fn create_org(&self, name: &str) -> String {
        let org = self.api(reqwest::Method::POST, "/organizations", Some(json!({"name": name}))).await;
        org["id"].as_str().expect("org id").to_owned()
    }

    pub async fn add_membership(&self, user_id: &str, org_id: &str, role: &str) -> Value {
        self.api(
            reqwest::Method::POST,
            "/user_management/organization_memberships",
            Some(json!({"user_id": user_id, "organization_id": org_id, "role_slug": role})),
        )
        .await
    }

    /// A user's memberships of an organization, as WorkOS lists them (every status).
    pub async fn memberships(&self, user_id: &str, org_id: &str) -> Vec<Value> {
        let path =
            format!("/user_management/organization_memberships?user_id={user_id}&organization_id={org_id}&limit=100");
        self.api(reqwest::Method::GET, &path, None).await["data"].as_array().cloned().unwrap_or_default()
    }

    /// Every organization the emulator holds with this name (all pages).
    pub async fn orgs_named(&self, name: &str) -> Vec<Value> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = "/organizations?limit=100&order=asc".to_owned();
            if let Some(cursor) = &after {
                path.push_str(&format!("&after={cursor}"));
            }
            let page = self.api(reqwest::Method::GET, &path, None).await;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            found.extend(data.into_iter().filter(|org| org["name"] == name));
            match page["list_metadata"]["after"].as_str() {
                Some(next) if !next.is_empty() => after = Some(next.to_owned()),
                _ => return found,
            }
        }
    }

    /// An access token: password grant, then (for an org) the refresh grant that selects it.
    pub async fn token(&self, user: &TestUser, org_id: Option<&str>) -> String {
        let auth = self
            .api(
                reqwest::Method::POST,
                "/user_management/authenticate",
                Some(json!({
                    "grant_type": "password", "client_id": self.client_id, "client_secret": "sk_test_default",
                    "email": user.email, "password": user.password,
                })),
            )
            .await;
        let Some(org_id) = org_id else {
            return auth["access_token"].as_str().expect("access token").to_owned();
        };
        let refreshed = self
            .api(
                reqwest::Method::POST,
                "/user_management/authenticate",
                Some(json!({
                    "grant_type": "refresh_token", "client_id": self.client_id, "client_secret": "sk_test_default",
                    "refresh_token": auth["refresh_token"], "organization_id": org_id,
                })),
            )
            .await;
        refreshed["access_token"].as_str().expect("access token").to_owned()
    }
}

/// An emulator of a test's own, for tests that read the whole WorkOS environment (the sync):
/// started on a free port with the test seed, stopped when dropped.
pub struct PrivateEmulator {
    pub url: String,
    child: tokio::process::Child,
}

impl PrivateEmulator {
    pub async fn start() -> Self {
        let infra = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("infra");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let child = tokio::process::Command::new(infra.join("scripts/start-workos.sh"))
            .arg(port.to_string())
            .arg(infra.join("testkit/workos-seed.yaml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the emulator");
        // Its tokens name http://localhost:PORT as issuer.
        let url = format!("http://localhost:{port}");
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http.get(format!("{url}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Self { url, child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the private emulator did not start");
    }

    pub fn emulator(&self) -> Emulator {
        Emulator::at(&self.url)
    }
}

impl Drop for PrivateEmulator {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
