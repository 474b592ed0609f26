//! Topic administration: creating a topic with a number of partitions (tests, examples and
//! operators preparing topics before a pipeline starts).

use super::kafka_error;
use crate::error::{Error, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Creates `topic` with `partitions` partitions (replication factor 1) on the cluster at
/// `bootstrap_servers`; a topic that exists already is fine.
pub fn create_topic(bootstrap_servers: &str, topic: &str, partitions: i32) -> Result<()> {
    let shape = NewTopicShape { partitions, replicas: 1, configs: Vec::new() };
    create_topic_shaped(ClientConfig::new().set("bootstrap.servers", bootstrap_servers), topic, &shape)
}

/// How a topic is made: its partitions, replicas per partition and topic settings.
pub(super) struct NewTopicShape {
    pub(super) partitions: i32,
    pub(super) replicas: i32,
    /// Topic settings (`max.message.bytes`…).
    pub(super) configs: Vec<(&'static str, String)>,
}

/// Creates `topic` as `shape` says, with the client settings `config` (security settings
/// and the like); a topic that exists already is fine (as it is).
pub(super) fn create_topic_shaped(config: &ClientConfig, topic: &str, shape: &NewTopicShape) -> Result<()> {
    let table = format!("topic '{topic}'");
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|e| kafka_error(&table, "cannot create an admin client", &e))?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut new = NewTopic::new(topic, shape.partitions, TopicReplication::Fixed(shape.replicas));
    for (key, value) in &shape.configs {
        new = new.set(key, value);
    }
    let results = block_on(admin.create_topics(&[new], &options))
        .map_err(|e| kafka_error(&table, "cannot create the topic", &e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(Error::Kafka { table: name, message: format!("cannot create the topic: {code}") });
            }
        }
    }
    Ok(())
}

/// The earliest offset still held of each partition of `topic` on the cluster at
/// `bootstrap_servers`, in partition order (records before it were deleted or expired).
pub fn earliest_offsets(bootstrap_servers: &str, topic: &str) -> Result<Vec<i64>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let table = format!("topic '{topic}'");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", "dflc-earliest-offsets")
        .create()
        .map_err(|e| kafka_error(&table, "cannot create a client", &e))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .map_err(|e| kafka_error(&table, "cannot read its metadata", &e))?;
    let partitions = metadata.topics().first().map_or(0, |t| t.partitions().len());
    (0..partitions)
        .map(|p| {
            let (low, _) = consumer
                .fetch_watermarks(topic, i32::try_from(p).unwrap_or(i32::MAX), Duration::from_secs(30))
                .map_err(|e| kafka_error(&table, "cannot read the offsets of its partitions", &e))?;
            Ok(low)
        })
        .collect()
}

/// How often, at most, the records a shuffle topic's readers are done with are deleted.
pub(super) const PURGE_EVERY: Duration = Duration::from_secs(30);

/// Deletes the records of a topic that its readers are done with, as Kafka Streams purges
/// its repartition topics: those before the offsets committed (each reader's state, in the
/// snapshot a committed offset follows, no longer needs them), at most every
/// [`PURGE_EVERY`]. A broker that does not support it (or a client without the right) is
/// told once in the log, and no more is asked; other failures are tried again later.
pub(super) struct Purge {
    admin: AdminClient<DefaultClientContext>,
    topic: String,
    /// Per partition, the offset before which its records may go (not deleted yet).
    pending: std::collections::BTreeMap<i32, i64>,
    last: Option<std::time::Instant>,
    refused: bool,
}

impl Purge {
    /// Purges `topic` through a client of `config`.
    pub(super) fn new(config: &ClientConfig, topic: &str) -> Result<Purge> {
        let admin = config.create().map_err(|e| kafka_error(topic, "cannot create an admin client", &e))?;
        Ok(Purge { admin, topic: topic.to_string(), pending: Default::default(), last: None, refused: false })
    }

    /// The offsets `committed` of partitions of the topic were committed: the records
    /// before them go, now or at a later commit.
    pub(super) fn committed(&mut self, committed: impl IntoIterator<Item = (i32, i64)>) {
        if self.refused {
            return;
        }
        for (partition, offset) in committed {
            let o = self.pending.entry(partition).or_insert(offset);
            *o = (*o).max(offset);
        }
        if self.pending.is_empty() || self.last.is_some_and(|t| t.elapsed() < PURGE_EVERY) {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let mut tpl = rdkafka::TopicPartitionList::new();
        for (&partition, &offset) in &self.pending {
            let _ = tpl.add_partition_offset(&self.topic, partition, rdkafka::Offset::Offset(offset));
        }
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let failed = match block_on(self.admin.delete_records(&tpl, &options)) {
            Err(e) => Some(e),
            Ok(done) => done.elements().iter().find_map(|e| e.error().err()),
        };
        let Some(e) = failed else {
            tracing::debug!(topic = self.topic, "deleted the records read of {} partitions", self.pending.len());
            self.pending.clear();
            return;
        };
        // A broker without the request, or a client without the right: for good.
        self.refused = matches!(
            e.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::UnsupportedVersion
                    | RDKafkaErrorCode::InvalidRequest
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::PolicyViolation
            )
        );
        let then =
            if self.refused { "it keeps them (set its retention.ms or retention.bytes)" } else { "tried again later" };
        tracing::warn!(
            topic = self.topic,
            "cannot delete the records of the shuffle topic '{}' that were read ({}): {then}",
            self.topic,
            super::describe(&e)
        );
    }
}

/// Runs a future to completion on this thread (the admin client's futures are driven by
/// librdkafka's own threads; this only waits for them).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
