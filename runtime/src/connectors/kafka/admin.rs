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
    create_topic_with(ClientConfig::new().set("bootstrap.servers", bootstrap_servers), topic, partitions, 1)
}

/// [`create_topic`] with the client settings `config` (security settings and the like)
/// and `replicas` replicas per partition.
pub(super) fn create_topic_with(config: &ClientConfig, topic: &str, partitions: i32, replicas: i32) -> Result<()> {
    let table = format!("topic '{topic}'");
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|e| kafka_error(&table, "cannot create an admin client", &e))?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replicas));
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
