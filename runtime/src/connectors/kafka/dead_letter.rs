//! A Kafka source's dead letters: the messages it cannot read, written to a topic of
//! their own ('scan.errors' = 'dead-letter').

use super::{Producer_, fatal, flush, kafka_error, millis, send};
use crate::error::{Error, Result};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseRecord, Producer};
use std::time::Duration;

/// The producer of a source's dead-letter topic: each unreadable message as a JSON
/// letter (table, topic, partition, offset, timestamp, reason, key and value as text),
/// keyed by the message's key.
pub(super) struct DeadLetters {
    pub(super) topic: String,
    pub(super) producer: Producer_,
    pub(super) limit: Option<Duration>,
    pub(super) buf: Vec<u8>,
}

#[derive(serde::Serialize)]
struct Letter<'a> {
    table: &'a str,
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    reason: &'a str,
    key: Option<String>,
    value: Option<String>,
}

impl DeadLetters {
    /// Writes `message`, unreadable for `reason`, to the topic.
    pub(super) fn write(&mut self, table: &str, message: &BorrowedMessage<'_>, reason: &str) -> Result<()> {
        let letter = Letter {
            table,
            topic: message.topic(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp: millis(message.timestamp()),
            reason,
            key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            value: message.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
        };
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &letter)
            .map_err(|e| Error::Write { table: table.to_string(), reason: e.to_string() })?;
        let mut record = BaseRecord::to(&self.topic).payload(&self.buf[..]);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        send(&self.producer, record).map_err(|e| kafka_error(table, "writing a dead letter", &e))?;
        self.producer.poll(Duration::ZERO);
        if self.producer.context().has_failed() {
            return self.flush(table);
        }
        fatal(&self.producer, table, &format!("dead-letter topic '{}'", self.topic))
    }

    /// Waits until every letter is delivered.
    pub(super) fn flush(&self, table: &str) -> Result<()> {
        flush(&self.producer, table, &format!("dead-letter topic '{}'", self.topic), self.limit, true)
    }
}
