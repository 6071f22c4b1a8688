//! The Lambda face of the live updates: API Gateway WebSocket events in (`$connect`,
//! `$disconnect`, `$default`), their answers out; DynamoDB stream events in, the partial batch
//! answer out. The local gateway calls these same functions with the same event types.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::future::BoxFuture;

use crate::Deps;
use crate::error::ApiError;
use crate::flows::live::StreamChange;
use crate::store::{AuditItem, MemberItem, OrgItem};

/// The event types of the WebSocket routes and the stream, for the local gateway that plays AWS.
pub mod events {
    pub use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
    pub use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord, UserIdentity};
}

/// A WebSocket route's handler.
pub type SocketHandler =
    for<'a> fn(&'a Deps, &'a ApiGatewayWebsocketProxyRequest) -> BoxFuture<'a, ApiGatewayProxyResponse>;

fn answer(status: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response
}

fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> &str {
    event.request_context.connection_id.as_deref().unwrap_or_default()
}

/// Logs a failure (its chain, never a body) and answers its status.
fn failed(error: &ApiError) -> ApiGatewayProxyResponse {
    if error.status() >= 500 {
        tracing::error!(cause = %crate::error::chain(error), "a live route failed");
    } else {
        tracing::info!(code = error.code(), "a live connect was refused");
    }
    answer(i64::from(error.status()))
}

/// `$connect`: 200 opens the socket; 401 (the ticket) refuses the upgrade.
pub async fn connect(deps: &Deps, event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let ticket = event.query_string_parameters.first("ticket");
    match deps.open_live(ticket, connection_id(event)).await {
        Ok(()) => answer(200),
        Err(error) => failed(&error),
    }
}

/// `$disconnect`.
pub async fn disconnect(deps: &Deps, event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    match deps.close_live(connection_id(event)).await {
        Ok(()) => answer(200),
        Err(error) => failed(&error),
    }
}

/// `$default`: every message; the answers go back through `@connections`.
pub async fn message(deps: &Deps, event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    match deps.live_message(connection_id(event), event.body.as_deref().unwrap_or_default()).await {
        Ok(()) => answer(200),
        Err(error) => failed(&error),
    }
}

/// What a stream record is to the live updates; `Err` when an item that matters cannot be read.
pub fn stream_change(record: &EventRecord) -> Result<StreamChange, String> {
    let entity = |image: &serde_dynamo::Item| match image.get("entity") {
        Some(serde_dynamo::AttributeValue::S(entity)) => Some(entity.clone()),
        _ => None,
    };
    let (new, old) = (&record.change.new_image, &record.change.old_image);
    match (record.event_name.as_str(), entity(new).or_else(|| entity(old)).as_deref()) {
        ("INSERT", Some(AuditItem::ENTITY)) => {
            let entry: AuditItem = serde_dynamo::from_item(new.clone()).map_err(|e| format!("an audit entry: {e}"))?;
            Ok(StreamChange::Entry(Box::new(entry)))
        }
        // An undo takes its change's entry away (a TTL deletion is the service's, and no change).
        ("REMOVE", Some(AuditItem::ENTITY)) if !by_ttl(record) => {
            let entry: AuditItem = serde_dynamo::from_item(old.clone()).map_err(|e| format!("an audit entry: {e}"))?;
            Ok(StreamChange::Undone(Box::new(entry)))
        }
        ("REMOVE", Some(MemberItem::ENTITY)) => {
            let member: MemberItem = serde_dynamo::from_item(old.clone()).map_err(|e| format!("a member: {e}"))?;
            Ok(StreamChange::MemberGone { org_id: member.org_id, user_id: member.user_id })
        }
        ("MODIFY", Some(OrgItem::ENTITY)) if new.get("deletion").is_some() && old.get("deletion").is_none() => {
            match new.get("id") {
                Some(serde_dynamo::AttributeValue::S(id)) => Ok(StreamChange::OrgDeletion { org_id: id.clone() }),
                _ => Err("an org item without its id".into()),
            }
        }
        _ => Ok(StreamChange::Other),
    }
}

/// Whether DynamoDB's TTL made this deletion.
fn by_ttl(record: &EventRecord) -> bool {
    record.user_identity.as_ref().is_some_and(|u| u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com")
}

/// `live-broadcast`: each record in order; the ones that failed are named in the answer, so the
/// event source mapping retries them (and, past its retries, hands them to its failure
/// destination) while the rest stay delivered.
pub async fn broadcast(deps: &Deps, event: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        let outcome = match stream_change(record) {
            Ok(change) => deps.broadcast(change).await.map_err(|e| crate::error::chain(&e).to_string()),
            Err(unreadable) => Err(unreadable),
        };
        if let Err(reason) = outcome {
            tracing::error!(reason, event_id = record.event_id, "a stream record failed");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
