//! Barriers and commits: the position of every partition read emitted with a barrier,
//! dead letters made durable, then the offsets committed (with the snapshot they follow,
//! when state is kept per partition) and the shuffle topics purged below them.

use super::*;

impl<R: DeserializeOwned> Reader<'_, R> {
    /// Emits a barrier (of checkpoint `checkpoint`, with the position of every partition
    /// read), then makes dead letters durable and commits.
    pub(super) fn barrier(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        emit: &mut Emit<'_, R>,
        checkpoint: Option<u64>,
    ) -> Result<()> {
        self.publish(None);
        let mut position = Vec::new();
        if checkpoint.is_some() {
            // Dead letters before the barrier are durable before the checkpoint is.
            if let Some(d) = &self.src.dead_letters {
                d.flush(&self.src.table)?;
            }
            // Every partition read (or restored and not read again yet), in split order.
            let offsets: Position = self
                .splits
                .iter()
                .filter_map(|s| {
                    let next = if s.seen {
                        Some(s.next)
                    } else {
                        self.src.restored.get(&(s.topic.to_string(), s.partition)).copied()
                    };
                    next.map(|n| (s.topic.to_string(), s.partition, n))
                })
                .collect();
            position = encode_position(&offsets)?;
        }
        emit(SourceEvent::Barrier(Barrier { checkpoint, position }))?;
        if let Some(id) = checkpoint {
            self.barriers.emitted(id);
        }
        if let Some(d) = &self.src.dead_letters {
            d.flush(&self.src.table)?;
        }
        // State kept per partition is written only by checkpoints that complete: the
        // position after it is committed with it, never before or without it.
        let kept = match (&self.src.partitions, checkpoint) {
            (None, _) => true,
            (Some(store), Some(id)) => self.barriers.completed(id) && store.saved(),
            (Some(_), None) => false,
        };
        if kept {
            self.commit(consumer);
        }
        self.dirty = false;
        Ok(())
    }

    /// Commits the position after every record handled, for partitions still assigned
    /// (with a group); failures are retried a few times, then reported and left for the
    /// next barrier.
    pub(super) fn commit(&mut self, consumer: &BaseConsumer<SourceCx>) {
        if self.src.group.is_none() || !self.src.commits {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        let mut which = Vec::new();
        for (i, s) in self.splits.iter().enumerate() {
            // A partition another process claimed since (this one lost it): its offset
            // is the new owner's to commit.
            let fenced = self.src.partitions.as_ref().is_some_and(|p| p.fenced(&s.topic, s.partition));
            if s.phase != Phase::Unassigned
                && !fenced
                && s.next > s.committed
                && tpl.add_partition_offset(&s.topic, s.partition, Offset::Offset(s.next)).is_ok()
            {
                which.push(i);
                // State per partition: the offset follows a snapshot (see `resolve`).
                if self.src.partitions.is_some()
                    && let Some(mut e) = tpl.find_partition(&s.topic, s.partition)
                {
                    e.set_metadata(SNAPSHOT_MARK);
                }
            }
        }
        if which.is_empty() {
            // Deletions waiting for their time go now if it came.
            if let Some(purge) = self.src.shuffled.as_mut().and_then(|s| s.purge.as_mut()) {
                purge.committed([]);
            }
            return;
        }
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=5 {
            match consumer.commit(&tpl, CommitMode::Sync) {
                Ok(()) => {
                    for &i in &which {
                        self.splits[i].committed = self.splits[i].next;
                    }
                    if let Some(purge) = self.src.shuffled.as_mut().and_then(|s| s.purge.as_mut()) {
                        purge.committed(which.iter().map(|&i| (self.splits[i].partition, self.splits[i].next)));
                    }
                    return;
                }
                Err(e) if attempt == 5 || e.rdkafka_error_code().is_some_and(is_fatal) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    let group = self.src.group.as_deref().unwrap_or_default();
                    tracing::warn!(
                        table = %self.src.table,
                        group,
                        "cannot commit offsets to group '{group}': {} (tried {attempt} times; records after the last \
                         commit may be read again after a restart)",
                        describe(&e)
                    );
                    return;
                }
                Err(_) => {
                    std::thread::sleep(delay);
                    delay *= 3;
                }
            }
        }
    }
}
