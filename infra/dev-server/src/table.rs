//! Creates the table from `infra/table.json`, the one definition that `template.yaml` is
//! checked against, for the local stack and for each test.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde::Deserialize;

/// The table definition, as committed.
pub const DEFINITION: &str = include_str!("../../table.json");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<Attribute>,
    pub key_schema: Vec<Key>,
    pub global_secondary_indexes: Vec<Index>,
    pub billing_mode: String,
    pub time_to_live_attribute: String,
    /// The stream's view type (the live updates read old and new images).
    pub stream_view_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Index {
    pub index_name: String,
    pub key_schema: Vec<Key>,
    pub projection: IndexProjection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexProjection {
    pub projection_type: String,
}

pub fn definition() -> Result<TableDefinition, serde_json::Error> {
    serde_json::from_str(DEFINITION)
}

fn keys(keys: &[Key]) -> Result<Vec<KeySchemaElement>, Box<dyn std::error::Error + Send + Sync>> {
    keys.iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()?)
        })
        .collect()
}

/// Creates the table unless it exists, and switches on its TTL and its stream.
pub async fn ensure_table(client: &Client, name: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    ensure_table_with(client, name, true).await
}

/// [`ensure_table`], with the stream only when `stream` (DynamoDB Local writes a table's stream
/// records beside every write, which makes it slower: the tests switch it on, with
/// [`ensure_stream`], only for the tables whose live updates they test).
pub async fn ensure_table_with(
    client: &Client,
    name: &str,
    stream: bool,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let def = definition()?;
    let mut request = client.create_table().table_name(name).billing_mode(BillingMode::from(def.billing_mode.as_str()));
    for attribute in &def.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                .build()?,
        );
    }
    request = request.set_key_schema(Some(keys(&def.key_schema)?));
    if stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(def.stream_view_type.as_str()))
                .build()?,
        );
    }
    for index in &def.global_secondary_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.projection_type.as_str()))
                        .build(),
                )
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            return if stream { ensure_stream(client, name).await } else { Ok(()) };
        }
        Err(error) => return Err(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string().into()),
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().enabled(true).attribute_name(&def.time_to_live_attribute).build()?,
        )
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    Ok(())
}

/// Switches the table's stream on unless it is (a table made before the live updates has none;
/// kept data stays).
pub async fn ensure_stream(client: &Client, name: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let def = definition()?;
    let described = client.describe_table().table_name(name).send().await;
    let described = described.map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    let enabled = described.table.and_then(|t| t.stream_specification).is_some_and(|s| s.stream_enabled);
    if !enabled {
        client
            .update_table()
            .table_name(name)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(def.stream_view_type.as_str()))
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    }
    Ok(())
}
