//! Users, organizations, memberships and tokens in the WorkOS emulator, through its API.

use serde_json::{Value, json};

use crate::env;

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
}

pub struct Emulator {
    pub url: String,
    api_key: String,
    client_id: String,
    http: reqwest::Client,
}

impl Emulator {
    pub fn from_env() -> Self {
        Self {
            url: env("WORKOS_API_URL"),
            api_key: env("WORKOS_API_KEY"),
            client_id: env("WORKOS_CLIENT_ID"),
            http: reqwest::Client::new(),
        }
    }

    /// Calls the emulator's API; panics unless it answers 2xx.
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url)).bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("emulator reachable");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "emulator {method} {path} answered {status}: {text}");
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("emulator JSON") }
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
                    "grant_type": "password", "client_id": self.client_id, "client_secret": self.api_key,
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
                    "grant_type": "refresh_token", "client_id": self.client_id, "client_secret": self.api_key,
                    "refresh_token": auth["refresh_token"], "organization_id": org_id,
                })),
            )
            .await;
        refreshed["access_token"].as_str().expect("access token").to_owned()
    }
}
