//! Secrets from AWS Secrets Manager. A deployed function's configuration holds no secret, only
//! the ARN of each secret it may read (`<NAME>_SECRET_ARN`, its role allowing exactly those);
//! the cold start reads them, all at once, and keeps them for the container's life. Local and
//! test runs set the plain variables instead (`WORKOS_API_KEY`, …), which need no call.

use std::collections::HashMap;

use crate::config::{ConfigError, Setting};

/// The value of every secret setting whose `<NAME>_SECRET_ARN` `lookup` finds, by setting name.
/// A secret that cannot be read stops the cold start, naming the variable (never the value).
pub async fn resolve(
    sdk: &aws_config::SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<HashMap<&'static str, String>, ConfigError> {
    let wanted: Vec<(Setting, String)> = Setting::ALL
        .into_iter()
        .filter(|setting| setting.is_secret())
        .filter_map(|setting| {
            lookup(&setting.secret_arn_variable()).filter(|arn| !arn.trim().is_empty()).map(|arn| (setting, arn))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let reads = wanted.iter().map(|(setting, arn)| {
        let client = &client;
        async move {
            let unreadable = |reason: String| ConfigError::Unreadable { name: setting.secret_arn_variable(), reason };
            let answer =
                client.get_secret_value().secret_id(arn.trim()).send().await.map_err(|error| {
                    unreadable(aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string())
                })?;
            // A value saved from a file often ends in a newline, which would break every header
            // and signature made with it.
            let value = answer
                .secret_string()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| unreadable("the secret has no SecretString".to_owned()))?;
            if value.starts_with('{') {
                // The console's default is a JSON key/value secret; the whole text would become
                // the key.
                return Err(unreadable("the SecretString is JSON; store the plain value".to_owned()));
            }
            Ok::<_, ConfigError>((setting.name(), value.to_owned()))
        }
    });
    futures::future::try_join_all(reads).await.map(|values| values.into_iter().collect())
}
