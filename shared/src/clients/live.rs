//! The API Gateway management API of the WebSocket API (`@connections`): posting a frame to a
//! connection and closing one. Deployed, its endpoint is the stage's URL; under `make dev` and
//! in the tests, the local gateway's, which plays API Gateway's part.

use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::primitives::Blob;

use crate::error::{ApiError, Cause};

/// What became of a post or a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    Yes,
    /// 410: the connection is gone (closed, or never opened): forget it.
    Gone,
}

#[derive(Clone, Debug)]
pub struct LiveConnections {
    client: Client,
}

impl LiveConnections {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client of the management API at `endpoint` (the WebSocket stage's https URL).
    pub fn at(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).endpoint_url(endpoint).build();
        Self::new(Client::from_conf(config))
    }

    pub async fn post(&self, connection_id: &str, frame: Vec<u8>) -> Result<Reached, ApiError> {
        let sent = self.client.post_to_connection().connection_id(connection_id).data(Blob::new(frame)).send().await;
        match sent {
            Ok(_) => Ok(Reached::Yes),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_gone_exception()) => Ok(Reached::Gone),
            Err(error) => Err(ApiError::Upstream(Box::new(error) as Cause)),
        }
    }

    pub async fn close(&self, connection_id: &str) -> Result<Reached, ApiError> {
        match self.client.delete_connection().connection_id(connection_id).send().await {
            Ok(_) => Ok(Reached::Yes),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_gone_exception()) => Ok(Reached::Gone),
            Err(error) => Err(ApiError::Upstream(Box::new(error) as Cause)),
        }
    }
}
