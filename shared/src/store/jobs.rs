//! Where a scheduled job got to: `JOB#<job>` / `STATE`, one item per job, read at the start of a
//! run and written as it goes, so that the next run resumes instead of starting over.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, keys, sdk_error, to_item};

#[derive(Serialize, Deserialize)]
struct JobStateItem<T> {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    #[serde(flatten)]
    state: T,
}

impl Store {
    /// The state `job` saved last, or the default (a first run).
    pub(super) async fn job_state<T: DeserializeOwned + Default>(&self, job: &str) -> Result<T, StoreError> {
        let item: Option<JobStateItem<T>> = self.get(keys::job_pk(job), keys::JOB_STATE_SK.to_owned()).await?;
        Ok(item.map(|i| i.state).unwrap_or_default())
    }

    /// Saves `job`'s state. Unconditional: a job's runs do not overlap (reserved concurrency 1),
    /// and a run that saved an older position only makes the next one read some items again.
    pub(super) async fn save_job_state<T: Serialize>(&self, job: &str, state: &T) -> Result<(), StoreError> {
        let item = JobStateItem {
            pk: keys::job_pk(job),
            sk: keys::JOB_STATE_SK.to_owned(),
            entity: "job_state".to_owned(),
            state,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
