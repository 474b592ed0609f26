//! The consumer of a Kafka source and its callbacks: errors and partition ends for the
//! metrics, rebalances queued for the source's poll loop.

use super::kafka_error;
use crate::error::Result;
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaRespErr;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub(super) fn create_consumer(table: &str, config: &ClientConfig) -> Result<BaseConsumer<SourceCx>> {
    let cx = SourceCx {
        events: Mutex::new(VecDeque::new()),
        closing: AtomicBool::new(false),
        errors: Arc::default(),
        ends: Mutex::default(),
    };
    config.create_with_context(cx).map_err(|e| kafka_error(table, "consumer", &e))
}

/// The consumer's callbacks: rebalances are queued for the poll loop, which acts on them
/// (it must commit and emit events first); while closing they are done at once.
pub(super) struct SourceCx {
    pub(super) events: Mutex<VecDeque<Rebalance>>,
    pub(super) closing: AtomicBool,
    /// Errors of the consumer (metrics): those librdkafka reports, and those the source
    /// meets (poll, rebalance and commit errors).
    pub(super) errors: Arc<AtomicU64>,
    /// The end of each partition the client fetches from, by (topic, partition), from its
    /// latest statistics: the last stable offset (the high watermark where there is none).
    pub(super) ends: Mutex<HashMap<(String, i32), i64>>,
}

pub(super) enum Rebalance {
    Assign(TopicPartitionList),
    Revoke(TopicPartitionList),
    Error(String),
}

impl ClientContext for SourceCx {
    /// Counted (but the end of a partition, which comes this way too); the client retries,
    /// and the source reports what it meets itself.
    fn error(&self, error: KafkaError, _reason: &str) {
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keeps the partitions' ends (served by the source's polls, every
    /// `statistics.interval.ms`).
    fn stats(&self, statistics: rdkafka::Statistics) {
        let mut ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        for (topic, t) in statistics.topics {
            for (partition, p) in t.partitions {
                let end = if p.ls_offset >= 0 { p.ls_offset } else { p.hi_offset };
                // Partition -1 is the client's own; offsets < 0 are unknown.
                if partition >= 0 && end >= 0 {
                    ends.insert((topic.clone(), partition), end);
                }
            }
        }
    }
}

impl ConsumerContext for SourceCx {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
        if self.closing.load(Ordering::Relaxed) {
            let _ = match (err, cooperative) {
                (RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, true) => consumer.incremental_assign(tpl),
                (RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, false) => consumer.assign(tpl),
                (_, true) => consumer.incremental_unassign(tpl),
                (_, false) => consumer.unassign(),
            };
            return;
        }
        let event = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Rebalance::Assign(tpl.clone()),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Rebalance::Revoke(tpl.clone()),
            other => Rebalance::Error(format!("rebalance failed: {:?}", RDKafkaErrorCode::from(other))),
        };
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push_back(event);
    }
}
