//! How the source starts and follows its partitions: subscribing or assigning, finding
//! the topics of a pattern, resolving start offsets (committed, earliest, latest, by
//! timestamp, from a checkpoint or a partition's snapshot), and the group's rebalances.

use super::*;

impl<R: DeserializeOwned> Reader<'_, R> {
    /// Subscribes or assigns; `false` if stopped meanwhile.
    pub(super) fn start(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<bool> {
        let Some(topics) = self.find_topics(consumer, emit)? else { return Ok(false) };
        self.topic_names = topics;
        self.last_discovery = Instant::now();
        match &self.src.group {
            Some(_) => {
                if !self.topic_names.is_empty() {
                    self.subscribe(consumer)?;
                }
                Ok(true)
            }
            None => {
                let Some(parts) = self.partitions(consumer, emit)? else { return Ok(false) };
                let ok = self.assign(consumer, parts, false, emit)?;
                self.assigned_once = true;
                Ok(ok)
            }
        }
    }

    pub(super) fn subscribe(&self, consumer: &BaseConsumer<SourceCx>) -> Result<()> {
        let names: Vec<&str> = self.topic_names.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(|e| kafka_error(&self.src.table, "subscribing", &e))
    }

    /// The topics to read: the list (checked to exist) or the pattern's matches; `None`
    /// if stopped while waiting for the brokers.
    pub(super) fn find_topics(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        emit: &mut Emit<'_, R>,
    ) -> Result<Option<Vec<String>>> {
        let Some(metadata) =
            self.retry(emit, "reading the topics' metadata", || consumer.fetch_metadata(None, REQUEST))?
        else {
            return Ok(None);
        };
        let existing: HashMap<&str, bool> =
            metadata.topics().iter().map(|t| (t.name(), t.error().is_none() && !t.partitions().is_empty())).collect();
        match &self.src.topics {
            Topics::List(names) => {
                for name in names {
                    if !existing.get(name.as_str()).copied().unwrap_or(false) {
                        return Err(Error::Kafka {
                            table: self.src.table.clone(),
                            message: format!(
                                "topic '{name}' does not exist (or this client may not see it); create it first"
                            ),
                        });
                    }
                }
                Ok(Some(names.clone()))
            }
            Topics::Pattern(regex) => {
                let mut names: Vec<String> = existing
                    .iter()
                    .filter(|(name, ok)| **ok && !name.starts_with("__") && regex.is_match(name))
                    .map(|(name, _)| name.to_string())
                    .collect();
                names.sort();
                Ok(Some(names))
            }
        }
    }

    /// Every partition of the topics read; `None` if stopped while waiting.
    pub(super) fn partitions(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        emit: &mut Emit<'_, R>,
    ) -> Result<Option<Vec<(String, i32)>>> {
        let Some(metadata) =
            self.retry(emit, "reading the topics' metadata", || consumer.fetch_metadata(None, REQUEST))?
        else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        for t in metadata.topics() {
            if self.topic_names.iter().any(|n| n == t.name()) {
                for p in t.partitions() {
                    parts.push((t.name().to_string(), p.id()));
                }
            }
        }
        parts.sort();
        Ok(Some(parts))
    }

    /// A task keeping keyed state reads every partition of its topics itself: a group that
    /// gave this process only some (another process of the pipeline shares the group id)
    /// is an error naming the group.
    pub(super) fn check_whole_input(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        emit: &mut Emit<'_, R>,
    ) -> Result<()> {
        let Some(all) = self.partitions(consumer, emit)? else { return Ok(()) };
        let mine = consumer.assignment().map_or(0, |tpl| tpl.count());
        if mine >= all.len() {
            return Ok(());
        }
        Err(Error::Config(format!(
            "table `{}`: consumer group '{}' gave this process {mine} of the {} partitions of {}: another process \
             reads in the same group. This pipeline keeps keyed state (windows, GROUP BY, joins, Top-N) for \
             every partition: run one process per group id ('parallelism.default' for more cores), or keep the \
             state per partition with SET 'scale-out.mode' = 'partition' to share the group (docs/scaling.md)",
            self.src.table,
            self.src.group.as_deref().unwrap_or_default(),
            all.len(),
            self.topic_names.join(", ")
        )))
    }

    /// Runs `op` until it succeeds, retrying transient errors (and emitting `Idle`) until
    /// the pipeline stops (`None`).
    pub(super) fn retry<T>(
        &mut self,
        emit: &mut Emit<'_, R>,
        what: &str,
        mut op: impl FnMut() -> KafkaResult<T>,
    ) -> Result<Option<T>> {
        let started = Instant::now();
        let mut warned = started;
        loop {
            match op() {
                Ok(v) => return Ok(Some(v)),
                Err(e) if e.rdkafka_error_code().is_some_and(is_fatal) => {
                    return Err(kafka_error(&self.src.table, what, &e));
                }
                Err(e) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    if self.cx.stopped() {
                        return Ok(None);
                    }
                    if warned.elapsed() >= WARN_EVERY {
                        warned = Instant::now();
                        tracing::warn!(
                            table = %self.src.table,
                            "{what}: {} (retrying for {} s so far)",
                            describe(&e),
                            started.elapsed().as_secs()
                        );
                    }
                    emit(SourceEvent::Idle)?;
                    // Back off a little: some errors come back at once.
                    std::thread::sleep(POLL);
                }
            }
        }
    }

    /// The split of (topic, partition), made if new.
    pub(super) fn split(&mut self, topic: &str, partition: i32) -> usize {
        let slots = self.index.entry(topic.to_string()).or_default();
        let p = usize::try_from(partition).unwrap_or(0);
        if slots.len() <= p {
            slots.resize(p + 1, usize::MAX);
        }
        if slots[p] == usize::MAX {
            slots[p] = self.splits.len();
            if let Some(splits) = &self.src.keep_raw {
                splits.lock().unwrap_or_else(|p| p.into_inner()).partition.insert(self.splits.len(), partition);
            }
            self.splits.push(Split {
                id: self.splits.len(),
                topic: Str::new(topic),
                partition,
                next: 0,
                committed: -1,
                stop: None,
                phase: Phase::Unassigned,
                seen: false,
                meter: self.meter.partition(topic, partition),
                uncounted: 0,
                uncounted_bytes: 0,
            });
        }
        slots[p]
    }

    pub(super) fn lookup(&self, topic: &str, partition: i32) -> Option<usize> {
        let slots = self.index.get(topic)?;
        let i = *slots.get(usize::try_from(partition).ok()?)?;
        (i != usize::MAX).then_some(i)
    }

    /// Takes partitions on: resolves where each starts (and ends), assigns them, and emits
    /// their starts (and the ends of empty bounded ones). `false` if stopped meanwhile.
    pub(super) fn assign(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        parts: Vec<(String, i32)>,
        incremental: bool,
        emit: &mut Emit<'_, R>,
    ) -> Result<bool> {
        let ids: Vec<usize> = parts.iter().map(|(t, p)| self.split(t, *p)).collect();
        let Some(positions) = self.resolve(consumer, &ids, emit)? else { return Ok(false) };
        let mut tpl = TopicPartitionList::new();
        for (&i, &(start, stop)) in ids.iter().zip(&positions) {
            let s = &mut self.splits[i];
            s.next = start;
            s.stop = stop;
            s.seen = true;
            s.phase = Phase::Reading;
            tpl.add_partition_offset(&s.topic, s.partition, Offset::Offset(start))
                .map_err(|e| kafka_error(&self.src.table, "assigning partitions", &e))?;
            if let Some(store) = &self.src.partitions {
                store.assigned(s.id, &s.topic, s.partition, start);
            }
        }
        let assigned = if incremental { consumer.incremental_assign(&tpl) } else { consumer.assign(&tpl) };
        assigned.map_err(|e| kafka_error(&self.src.table, "assigning partitions", &e))?;
        for &i in &ids {
            emit(SourceEvent::SplitStart(self.splits[i].id))?;
            let s = &self.splits[i];
            // Bounded at its start, or its snapshot says every table ended before it.
            let marked_ended =
                self.src.shuffled.as_ref().is_some_and(|sh| {
                    sh.until_ended.is_some_and(|sides| sh.ended.get(&i).is_some_and(|e| e.all(sides)))
                });
            if s.stop.is_some_and(|stop| s.next >= stop) || marked_ended {
                self.end_split(consumer, i, emit)?;
            }
        }
        Ok(true)
    }

    /// The start offset (and the end, bounded) of each split; `None` if stopped.
    #[allow(clippy::type_complexity)]
    pub(super) fn resolve(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        ids: &[usize],
        emit: &mut Emit<'_, R>,
    ) -> Result<Option<Vec<(i64, Option<i64>)>>> {
        let table = self.src.table.clone();
        let grouped = self.src.group.is_some();
        let mut watermarks: HashMap<usize, (i64, i64)> = HashMap::new();
        // Requests made for several partitions at once.
        let needs_committed = grouped
            && (matches!(self.src.startup, Startup::GroupOffsets | Startup::Specific(_))
                || matches!(self.src.bounded, Some(Bound::GroupOffsets))
                || self.src.partitions.is_some()
                || ids.iter().any(|&i| self.splits[i].seen));
        // With state per partition: the partitions whose committed offset follows a
        // snapshot of their state (marked so when committed).
        let mut marked: HashMap<(String, i32), i64> = HashMap::new();
        let committed = if needs_committed {
            let mut tpl = TopicPartitionList::new();
            for &i in ids {
                let s = &self.splits[i];
                let _ = tpl.add_partition_offset(&s.topic, s.partition, Offset::Invalid);
            }
            let Some(got) =
                self.retry(emit, "reading the committed offsets", || consumer.committed_offsets(tpl.clone(), REQUEST))?
            else {
                return Ok(None);
            };
            if self.src.partitions.is_some() {
                marked = offsets_of(&got);
                marked.retain(|(t, p), _| got.find_partition(t, *p).is_some_and(|e| e.metadata() == SNAPSHOT_MARK));
            }
            offsets_of(&got)
        } else {
            HashMap::new()
        };
        let by_time =
            |this: &mut Self, emit: &mut Emit<'_, R>, ts: i64| -> Result<Option<HashMap<(String, i32), i64>>> {
                let mut tpl = TopicPartitionList::new();
                for &i in ids {
                    let s = &this.splits[i];
                    let _ = tpl.add_partition_offset(&s.topic, s.partition, Offset::Offset(ts));
                }
                let got = this.retry(emit, "looking up offsets by timestamp", || {
                    consumer.offsets_for_times(tpl.clone(), REQUEST)
                })?;
                Ok(got.map(|g| offsets_of(&g)))
            };
        let start_times = match self.src.startup {
            Startup::Timestamp(ts) => match by_time(self, emit, ts)? {
                Some(m) => m,
                None => return Ok(None),
            },
            _ => HashMap::new(),
        };
        let stop_times = match self.src.bounded {
            Some(Bound::Timestamp(ts)) => match by_time(self, emit, ts)? {
                Some(m) => m,
                None => return Ok(None),
            },
            _ => HashMap::new(),
        };
        let bounded = self.src.bounded.clone();
        let mut out = Vec::with_capacity(ids.len());
        for &i in ids {
            let key = (self.splits[i].topic.to_string(), self.splits[i].partition);
            let mut marks = |this: &mut Self, emit: &mut Emit<'_, R>| -> Result<Option<(i64, i64)>> {
                if let Some(w) = watermarks.get(&i) {
                    return Ok(Some(*w));
                }
                let (topic, partition) = (this.splits[i].topic.clone(), this.splits[i].partition);
                let w = this.retry(emit, "reading the partition's offsets", || {
                    consumer.fetch_watermarks(&topic, partition, REQUEST)
                })?;
                if let Some(w) = w {
                    watermarks.insert(i, w);
                }
                Ok(w)
            };
            let committed_here = committed.get(&key).copied();
            let restored = (!self.splits[i].seen).then(|| self.src.restored.get(&key).copied()).flatten();
            let kept = match &self.src.partitions {
                Some(store) => {
                    let kept = store.offset_of(&key.0, key.1)?;
                    if let (None, Some(o)) = (kept, marked.get(&key)) {
                        // A commit only ever follows a snapshot: this one is missing.
                        return Err(Error::Kafka {
                            table,
                            message: format!(
                                "topic '{}' partition {}: group '{}' committed offset {o} after a snapshot of the \
                                 partition's state, but {} holds none: is 'scale-out.state.dir' the folder every \
                                 process of the pipeline shares? (To start the partition without its state, reset \
                                 the group's offsets or use a new group id.)",
                                key.0,
                                key.1,
                                self.src.group.as_deref().unwrap_or_default(),
                                store.dir().display()
                            ),
                        });
                    }
                    // Read through a shuffle topic to the tables' ends: the ends marked
                    // before the snapshot are not read again.
                    if let (Some(_), Some(shuffled)) = (kept, self.src.shuffled.as_mut())
                        && shuffled.until_ended.is_some()
                        && let Some(position) = store.kept_position(&key.0, key.1)?
                    {
                        shuffled.ended.entry(i).or_default().restore(&position)?;
                    }
                    kept
                }
                None => None,
            };
            let start = if let Some(o) = kept {
                // The partition's state was kept at this offset: it goes on from there.
                Some(o)
            } else if let Some(o) = restored.filter(|_| self.src.partitions.is_none()) {
                // Where the checkpoint restored left this partition.
                Some(o)
            } else if self.splits[i].seen && self.src.partitions.is_none() {
                // Assigned again: resume where the group (or this source) left off (with
                // state per partition, a partition without kept state starts afresh).
                match committed_here {
                    Some(o) => Some(o),
                    None => Some(self.splits[i].next),
                }
            } else {
                match &self.src.startup {
                    Startup::Earliest => marks(self, emit)?.map(|w| w.0),
                    Startup::Latest => marks(self, emit)?.map(|w| w.1),
                    Startup::Timestamp(_) => match start_times.get(&key) {
                        Some(&o) if o >= 0 => Some(o),
                        // No record at or after the time.
                        _ => marks(self, emit)?.map(|w| w.1),
                    },
                    Startup::Specific(offsets) => match (offsets.get(&key.1), committed_here) {
                        (Some(&o), _) | (None, Some(o)) => Some(o),
                        (None, None) => marks(self, emit)?.map(|w| w.0),
                    },
                    Startup::GroupOffsets => match committed_here {
                        Some(o) => Some(o),
                        None => match self.src.reset {
                            Reset::Earliest => marks(self, emit)?.map(|w| w.0),
                            Reset::Latest => marks(self, emit)?.map(|w| w.1),
                            Reset::Fail => {
                                return Err(Error::Kafka {
                                    table,
                                    message: format!(
                                        "topic '{}' partition {}: group '{}' has no committed offset; set \
                                         'properties.auto.offset.reset' to 'earliest' or 'latest', or choose \
                                         another 'scan.startup.mode'",
                                        key.0,
                                        key.1,
                                        self.src.group.as_deref().unwrap_or_default()
                                    ),
                                });
                            }
                        },
                    },
                }
            };
            let Some(mut start) = start else { return Ok(None) };
            let stop = match &bounded {
                None => None,
                Some(bound) => {
                    let Some((low, high)) = marks(self, emit)? else { return Ok(None) };
                    start = start.max(low);
                    Some(match bound {
                        Bound::Latest => high,
                        Bound::GroupOffsets => committed_here.unwrap_or(start),
                        Bound::Timestamp(_) => match stop_times.get(&key) {
                            Some(&o) if o >= 0 => o,
                            _ => high,
                        },
                        Bound::Specific(offsets) => offsets.get(&key.1).copied().unwrap_or(high),
                    })
                }
            };
            out.push((start, stop));
        }
        Ok(Some(out))
    }

    /// Acts on queued rebalances; `false` if stopped meanwhile.
    pub(super) fn rebalances(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<bool> {
        loop {
            let event = consumer.context().events.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(event) = event else { return Ok(true) };
            let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
            match event {
                Rebalance::Assign(tpl) => {
                    let parts: Vec<(String, i32)> =
                        tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
                    if !self.assign(consumer, parts, cooperative, emit)? {
                        return Ok(false);
                    }
                    self.assigned_once = true;
                    if self.src.keyed && self.src.partitions.is_none() {
                        self.check_whole_input(consumer, emit)?;
                    }
                }
                Rebalance::Revoke(tpl) => {
                    if !consumer.assignment_lost() {
                        // Whatever was emitted is made durable and committed while the
                        // partitions are still ours; with state per partition, by a
                        // checkpoint, which keeps the partitions' state for their next owner.
                        if self.src.partitions.is_some() {
                            if let Some(id) = self.barriers.now() {
                                self.barrier(consumer, emit, Some(id))?;
                                if !self.barriers.completed(id) {
                                    // Handed over now, the partitions would go on from older
                                    // state than the output this process has written.
                                    return Err(Error::State(format!(
                                        "table `{}`: checkpoint {id}, taken to hand partitions over to another \
                                         process, failed; the run stops so that they go on from the last \
                                         checkpoint",
                                        self.src.table
                                    )));
                                }
                            }
                        } else if self.dirty {
                            self.barrier(consumer, emit, None)?;
                        } else if self.src.partitions.is_none() {
                            self.commit(consumer);
                        }
                    }
                    let lost = consumer.assignment_lost();
                    for e in tpl.elements() {
                        if let Some(i) = self.lookup(e.topic(), e.partition()) {
                            // State per partition: an ended partition's instance, waiting to
                            // fire at the end of the run, hands its state over too.
                            let ended = self.splits[i].phase == Phase::Ended;
                            if let Some(store) = &self.src.partitions {
                                store.revoked(self.splits[i].id, lost);
                            }
                            if self.splits[i].phase == Phase::Reading || (ended && self.src.partitions.is_some()) {
                                emit(SourceEvent::SplitEnd(self.splits[i].id))?;
                            }
                            self.splits[i].phase = Phase::Unassigned;
                        }
                    }
                    let done = if cooperative { consumer.incremental_unassign(&tpl) } else { consumer.unassign() };
                    done.map_err(|e| kafka_error(&self.src.table, "giving partitions up", &e))?;
                    // Eagerly, every partition goes before the group assigns them anew: a
                    // bounded read waits for that assignment before it may end.
                    if !cooperative {
                        self.assigned_once = false;
                    }
                    // Cooperatively, partitions are only taken away for another member.
                    if self.src.keyed && self.src.partitions.is_none() && cooperative && !lost {
                        self.check_whole_input(consumer, emit)?;
                    }
                }
                Rebalance::Error(message) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(table = %self.src.table, "{message}");
                }
            }
        }
    }
}
