//! Load generator and latency meter for the Kafka benchmark (scripts/bench-kafka.sh) of
//! examples/kafka/bench/q1_kafka.sql: Nexmark-shaped bids as JSON, each with `sent_at`,
//! its send time in epoch microseconds, which the pipeline copies to its output.
//!
//! ```text
//! kafka_load create  --brokers B --topic T [--partitions 1]
//! kafka_load delete  --brokers B --topic T
//! kafka_load produce --brokers B --topic T --count N [--rate R]
//! kafka_load drain   --brokers B --topic T --count N [--idle-timeout S]
//! kafka_load rtt     --brokers B --topic T [--n 50] [--flush-step-ms 0]
//! kafka_load latency --brokers B --in T --out O --rate R [--duration 20] [--warmup 5]
//!                    [--cooldown 1] [--grace 15] [--ready-timeout 120] [--dump FILE.csv]
//! ```
//!
//! * `produce` writes N bids as fast as the producer takes them (or at `--rate` per
//!   second) and reports the rate.
//! * `drain` reads a topic from its start until N records came (or nothing came for
//!   `--idle-timeout` seconds) and reports the rate between the first and the last record.
//! * `latency` reads `--out` from its start while it writes bids to `--in`: first one
//!   probe bid every 100 ms until something comes out (the pipeline is up and has its
//!   partitions), then bids paced at `--rate` (the records due are sent every millisecond)
//!   for warm-up + duration + cool-down seconds. The latency of a record is its receive
//!   time minus its `sent_at`; statistics cover the records sent during `--duration`
//!   (after `--warmup`; the cool-down keeps the pipeline's batches flowing while the last
//!   measured records pass). With `--out` = `--in` it measures the broker alone (baseline).
//!   The output record's Kafka timestamp (create time, set by the pipeline's producer when
//!   it is handed the row, milliseconds) splits the latency into "in pipeline" (send →
//!   handed to the sink's producer) and "out" (producer → broker → this consumer). It
//!   also prints the six 100 ms slices of send time with the slowest records (periodic
//!   stalls show as a period), and with `--dump` writes every measured record as CSV.
//! * `rtt` times what a Kafka source barrier of the pipeline costs on an idle broker: one
//!   record produced with the sink's settings and flushed, then a synchronous commit.
//!
//! Client settings: `-P key=value` (producer), `-C key=value` (consumer), over
//! producer acks=1, linger.ms=1 (produce: 5), lz4 compression, large queues, and consumer
//! fetch.wait.max.ms=5 and fetch.queue.backoff.ms=10 (see `consumer`).

#[cfg(not(feature = "kafka"))]
fn main() {
    eprintln!("kafka_load needs the `kafka` feature of dfl");
    std::process::exit(2);
}

#[cfg(feature = "kafka")]
fn main() {
    if let Err(e) = app::main() {
        eprintln!("kafka_load: error: {e}");
        std::process::exit(1);
    }
}

#[cfg(feature = "kafka")]
mod app {
    use rdkafka::ClientContext;
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::message::{DeliveryResult, Message};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    use std::collections::HashMap;
    use std::fmt::Write as _;
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    type Res<T> = Result<T, String>;

    /// Command-line options: `--name value` pairs, `-P`/`-C` client settings.
    struct Args {
        values: HashMap<String, String>,
        producer: Vec<(String, String)>,
        consumer: Vec<(String, String)>,
    }

    impl Args {
        fn parse(args: &[String]) -> Res<Args> {
            let mut out = Args { values: HashMap::new(), producer: Vec::new(), consumer: Vec::new() };
            let mut it = args.iter();
            while let Some(a) = it.next() {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                match a.as_str() {
                    "-P" | "-C" => {
                        let (k, val) = v.split_once('=').ok_or_else(|| format!("{a} {v}: expected key=value"))?;
                        let list = if a == "-P" { &mut out.producer } else { &mut out.consumer };
                        list.push((k.to_string(), val.to_string()));
                    }
                    s if s.starts_with("--") => {
                        out.values.insert(s[2..].to_string(), v.clone());
                    }
                    other => return Err(format!("unexpected argument '{other}'")),
                }
            }
            Ok(out)
        }

        fn str(&self, name: &str) -> Res<&str> {
            self.values.get(name).map(String::as_str).ok_or_else(|| format!("--{name} is required"))
        }

        fn num(&self, name: &str, default: Option<f64>) -> Res<f64> {
            match self.values.get(name) {
                Some(v) => v.parse().map_err(|_| format!("--{name} {v}: not a number")),
                None => default.ok_or_else(|| format!("--{name} is required")),
            }
        }
    }

    pub fn main() -> Res<()> {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let Some((cmd, rest)) = argv.split_first() else {
            return Err("usage: kafka_load create|delete|produce|drain|latency --brokers B ... (see the source)".into());
        };
        let args = Args::parse(rest)?;
        match cmd.as_str() {
            "create" => create(&args),
            "delete" => delete(&args),
            "produce" => produce(&args),
            "drain" => drain(&args),
            "latency" => latency(&args),
            "rtt" => rtt(&args),
            other => Err(format!("unknown command '{other}'")),
        }
    }

    // --------------------------------------------------------------------------------------
    // Topics

    fn create(args: &Args) -> Res<()> {
        let partitions = args.num("partitions", Some(1.0))? as i32;
        let topic = args.str("topic")?;
        dfl::connectors::kafka::create_topic(args.str("brokers")?, topic, partitions).map_err(|e| e.to_string())?;
        eprintln!("kafka_load: topic '{topic}' ({partitions} partition(s)) ready");
        Ok(())
    }

    fn delete(args: &Args) -> Res<()> {
        let topic = args.str("topic")?;
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", args.str("brokers")?).create().map_err(|e| e.to_string())?;
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = block_on(admin.delete_topics(&[topic], &options)).map_err(|e| e.to_string())?;
        for r in results {
            if let Err((name, code)) = r {
                return Err(format!("cannot delete topic '{name}': {code}"));
            }
        }
        Ok(())
    }

    /// Waits for a future driven by librdkafka's threads.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }

    // --------------------------------------------------------------------------------------
    // Bids

    fn now_micros() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
    }

    /// Nexmark-like bids as JSON (~270 bytes, like the generator's bids plus `sent_at`).
    struct Bids {
        seed: u64,
        n: u64,
        buf: String,
    }

    const CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

    impl Bids {
        fn new() -> Self {
            Bids { seed: 0x9E37_79B9_7F4A_7C15, n: 0, buf: String::with_capacity(512) }
        }

        fn next_u64(&mut self) -> u64 {
            // xorshift64*
            self.seed ^= self.seed >> 12;
            self.seed ^= self.seed << 25;
            self.seed ^= self.seed >> 27;
            self.seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// The next bid, sent at `sent_at` (epoch µs).
        fn next(&mut self, sent_at: i64) -> &[u8] {
            let r = self.next_u64();
            let n = self.n;
            self.n += 1;
            let auction = 1000 + (r % 10_000);
            let bidder = 1000 + ((r >> 16) % 100_000);
            let price = 100 + ((r >> 32) % 1_000_000);
            let channel = CHANNELS[(r >> 60) as usize % CHANNELS.len()];
            let secs = sent_at.div_euclid(1_000_000);
            let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
            let ms = sent_at.rem_euclid(1_000_000) / 1000;
            self.buf.clear();
            let _ = write!(
                self.buf,
                "{{\"auction\":{auction},\"bidder\":{bidder},\"price\":{price},\"channel\":\"{channel}\",\
                 \"url\":\"https://www.nexmark.com/abc/def/ghij/item.htm?query=1&channel_id={r:x}\",\
                 \"dateTime\":\"2024-01-01 {h:02}:{m:02}:{s:02}.{ms:03}\",\
                 \"extra\":\"{n:016x}nkubeulubsphujolmngzbhneztpproiwgkuxhixkyszrnwpaeynrbulc\",\"sent_at\":{sent_at}}}"
            );
            self.buf.as_bytes()
        }
    }

    // --------------------------------------------------------------------------------------
    // Clients

    #[derive(Default)]
    struct Deliveries {
        failed: AtomicU64,
        first: Mutex<Option<String>>,
    }

    impl ClientContext for Deliveries {}

    impl ProducerContext for Deliveries {
        type DeliveryOpaque = ();
        fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
            if let Err((e, _)) = result {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first.lock().unwrap().get_or_insert_with(|| e.to_string());
            }
        }
    }

    fn producer(args: &Args, linger: &str) -> Res<BaseProducer<Deliveries>> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", args.str("brokers")?)
            .set("acks", "1")
            .set("enable.idempotence", "false")
            .set("linger.ms", linger)
            .set("compression.type", "lz4")
            .set("batch.size", "1000000")
            .set("queue.buffering.max.messages", "2000000")
            .set("queue.buffering.max.kbytes", "2097151");
        for (k, v) in &args.producer {
            c.set(k, v);
        }
        c.create_with_context(Deliveries::default()).map_err(|e| format!("producer: {e}"))
    }

    /// Sends one record, serving delivery reports while the queue is full.
    fn send(p: &BaseProducer<Deliveries>, topic: &str, payload: &[u8]) -> Res<()> {
        let mut record = BaseRecord::<(), [u8]>::to(topic).payload(payload);
        loop {
            match p.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    p.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(format!("send: {e}")),
            }
        }
    }

    fn finish_producer(p: &BaseProducer<Deliveries>) -> Res<()> {
        p.flush(Duration::from_secs(60)).map_err(|e| format!("flush: {e}"))?;
        let failed = p.context().failed.load(Ordering::Relaxed);
        if failed > 0 {
            return Err(format!(
                "{failed} records not delivered; the first: {}",
                p.context().first.lock().unwrap().clone().unwrap_or_default()
            ));
        }
        Ok(())
    }

    /// A consumer assigned every partition of `topic` from its start.
    fn consumer(args: &Args, topic: &str) -> Res<BaseConsumer> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", args.str("brokers")?)
            .set("group.id", format!("kafka-load-{}-{}", std::process::id(), now_micros()))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            // The broker of the benchmark (nisshi) holds a fetch for about half of this
            // even when records are there; librdkafka's default (500) would add 0-250 ms.
            .set("fetch.wait.max.ms", "5")
            // librdkafka's default (1000) pauses fetching for 1 s whenever a fetch brought
            // more than queued.min.messages: reading a backlog then crawls (~0.2 M/s).
            .set("fetch.queue.backoff.ms", "10");
        for (k, v) in &args.consumer {
            c.set(k, v);
        }
        let consumer: BaseConsumer = c.create().map_err(|e| format!("consumer: {e}"))?;
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).map_err(|e| format!("metadata: {e}"))?;
        let mut tpl = TopicPartitionList::new();
        for t in md.topics() {
            if t.partitions().is_empty() {
                return Err(format!("topic '{topic}' has no partitions (does it exist?)"));
            }
            for p in t.partitions() {
                tpl.add_partition_offset(topic, p.id(), Offset::Beginning).map_err(|e| e.to_string())?;
            }
        }
        consumer.assign(&tpl).map_err(|e| format!("assign: {e}"))?;
        Ok(consumer)
    }

    // --------------------------------------------------------------------------------------
    // produce, drain

    fn produce(args: &Args) -> Res<()> {
        let topic = args.str("topic")?;
        let count = args.num("count", None)? as u64;
        let rate = args.num("rate", Some(0.0))?;
        let p = producer(args, "5")?;
        let mut bids = Bids::new();
        let started = Instant::now();
        let mut sent = 0u64;
        while sent < count {
            let due = if rate > 0.0 { count.min((started.elapsed().as_secs_f64() * rate) as u64 + 1) } else { count };
            let chunk_end = due.min(sent + 10_000);
            while sent < chunk_end {
                send(&p, topic, bids.next(now_micros()))?;
                sent += 1;
            }
            p.poll(Duration::ZERO);
            if rate > 0.0 && sent >= due {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        let handed = started.elapsed().as_secs_f64();
        finish_producer(&p)?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "produce: {count} bids to '{topic}' in {secs:.3} s ({:.0} bids/s; handed to the client in {handed:.3} s)",
            count as f64 / secs
        );
        Ok(())
    }

    fn drain(args: &Args) -> Res<()> {
        let topic = args.str("topic")?;
        let count = args.num("count", None)? as u64;
        let idle = Duration::from_secs_f64(args.num("idle-timeout", Some(60.0))?);
        let c = consumer(args, topic)?;
        let started = Instant::now();
        let (mut got, mut first, mut last) = (0u64, None::<Instant>, Instant::now());
        let mut last_seen = Instant::now();
        while got < count {
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(_)) => {
                    let now = Instant::now();
                    first.get_or_insert(now);
                    last = now;
                    last_seen = now;
                    got += 1;
                }
                Some(Err(e)) => eprintln!("kafka_load: drain: {e}"),
                None => {
                    if last_seen.elapsed() > idle {
                        break;
                    }
                }
            }
        }
        let span = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
        println!(
            "drain: {got}/{count} records from '{topic}'; first after {:.3} s, first→last {span:.3} s ({:.0} records/s)",
            first.map_or(0.0, |f| f.duration_since(started).as_secs_f64()),
            if span > 0.0 { got.saturating_sub(1) as f64 / span } else { 0.0 }
        );
        if got < count {
            return Err(format!("only {got} of {count} records came"));
        }
        Ok(())
    }

    // --------------------------------------------------------------------------------------
    // rtt: what a barrier of the pipeline costs at least (idle broker)

    /// Times `--n` rounds (default 50) of what a Kafka source barrier does: one record
    /// produced (acks=all, idempotent: the sink's defaults) and flushed, then a
    /// synchronous offset commit to a group; prints the median and max of each.
    /// `--flush-step-ms S` flushes with `flush(S ms)` in a loop instead of one long
    /// `flush` (rdkafka 0.39's `flush` polls in steps of up to 100 ms).
    fn rtt(args: &Args) -> Res<()> {
        let topic = args.str("topic")?;
        let n = args.num("n", Some(50.0))? as usize;
        // 0: one `flush(10 s)` as the sink does; else `flush(step)` until done.
        let step = Duration::from_secs_f64(args.num("flush-step-ms", Some(0.0))? / 1e3);
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", args.str("brokers")?)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("compression.type", "lz4");
        for (k, v) in &args.producer {
            c.set(k, v);
        }
        let p: BaseProducer<Deliveries> =
            c.create_with_context(Deliveries::default()).map_err(|e| format!("producer: {e}"))?;
        let consumer = consumer(args, topic)?;
        let (mut flushes, mut commits) = (Vec::new(), Vec::new());
        for i in 0..n {
            let t = Instant::now();
            send(&p, topic, b"{}")?;
            if step.is_zero() {
                p.flush(Duration::from_secs(10)).map_err(|e| format!("flush: {e}"))?;
            } else {
                // Short flushes in a loop: each waits at most `step`.
                loop {
                    match p.flush(step) {
                        Ok(()) => break,
                        Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {}
                        Err(e) => return Err(format!("flush: {e}")),
                    }
                }
            }
            flushes.push(t.elapsed().as_micros() as i64);
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, 0, Offset::Offset(i as i64)).map_err(|e| e.to_string())?;
            let t = Instant::now();
            consumer.commit(&tpl, rdkafka::consumer::CommitMode::Sync).map_err(|e| format!("commit: {e}"))?;
            commits.push(t.elapsed().as_micros() as i64);
        }
        let how = if step.is_zero() { "one flush(10 s)".to_string() } else { format!("flush({step:?}) in a loop") };
        println!("rtt: produce 1 record + {how} (acks=all, idempotent, linger.ms=5): {}", summary(&mut flushes));
        println!("rtt: synchronous offset commit: {}", summary(&mut commits));
        Ok(())
    }

    // --------------------------------------------------------------------------------------
    // latency

    /// `"sent_at":<digits>` of a JSON payload.
    fn sent_at(payload: &[u8]) -> Option<i64> {
        const KEY: &[u8] = b"\"sent_at\":";
        let at = payload.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
        let rest = &payload[at..];
        let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit() || **b == b'-').count();
        std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
    }

    /// What the consumer thread measured.
    #[derive(Default)]
    struct Measured {
        /// End-to-end latency of each measured record, µs.
        total: Vec<i64>,
        /// Send time of each measured record (epoch µs), in the order of `total`.
        sent: Vec<i64>,
        /// Send → output create time (ms resolution), µs.
        inside: Vec<i64>,
        /// Output create time → received, µs.
        out: Vec<i64>,
        received: u64,
        unreadable: u64,
        no_timestamp: u64,
    }

    fn latency(args: &Args) -> Res<()> {
        let input = args.str("in")?.to_string();
        let output = args.str("out")?.to_string();
        let rate = args.num("rate", None)?;
        let duration = args.num("duration", Some(20.0))?;
        let warmup = args.num("warmup", Some(5.0))?;
        let cooldown = args.num("cooldown", Some(1.0))?;
        let grace = Duration::from_secs_f64(args.num("grace", Some(15.0))?);
        let ready_timeout = Duration::from_secs_f64(args.num("ready-timeout", Some(120.0))?);
        if rate <= 0.0 {
            return Err("--rate must be positive".into());
        }
        let p = producer(args, "1")?;
        let c = consumer(args, &output)?;

        // The measured window, in epoch µs (set when the paced run starts).
        let window = Arc::new((AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)));
        let seen_any = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let expected = Arc::new(AtomicU64::new(u64::MAX));
        let consumer_thread = {
            let (window, seen_any, stop, expected) =
                (Arc::clone(&window), Arc::clone(&seen_any), Arc::clone(&stop), Arc::clone(&expected));
            std::thread::spawn(move || {
                let mut m = Measured::default();
                let mut in_window = 0u64;
                loop {
                    if stop.load(Ordering::Relaxed) || in_window >= expected.load(Ordering::Relaxed) {
                        break;
                    }
                    let msg = match c.poll(Duration::from_millis(50)) {
                        None => continue,
                        Some(Err(e)) => {
                            eprintln!("kafka_load: consumer: {e}");
                            continue;
                        }
                        Some(Ok(msg)) => msg,
                    };
                    let recv = now_micros();
                    m.received += 1;
                    seen_any.store(true, Ordering::Relaxed);
                    let Some(sent) = msg.payload().and_then(sent_at) else {
                        m.unreadable += 1;
                        continue;
                    };
                    let (from, to) = (window.0.load(Ordering::Relaxed), window.1.load(Ordering::Relaxed));
                    if sent < 0 || (sent as u64) < from || (sent as u64) >= to {
                        continue;
                    }
                    in_window += 1;
                    m.total.push(recv - sent);
                    m.sent.push(sent);
                    match msg.timestamp().to_millis() {
                        Some(ms) => {
                            m.inside.push(ms * 1000 - sent);
                            m.out.push(recv - ms * 1000);
                        }
                        None => m.no_timestamp += 1,
                    }
                }
                m
            })
        };

        // Probes until the pipeline answers.
        let mut bids = Bids::new();
        let probing = Instant::now();
        let mut probes = 0u64;
        while !seen_any.load(Ordering::Relaxed) {
            if probing.elapsed() > ready_timeout {
                stop.store(true, Ordering::Relaxed);
                let _ = consumer_thread.join();
                return Err(format!("nothing came out of '{output}' within {ready_timeout:?}"));
            }
            send(&p, &input, bids.next(now_micros()))?;
            probes += 1;
            p.poll(Duration::ZERO);
            std::thread::sleep(Duration::from_millis(100));
        }
        let ready_after = probing.elapsed().as_secs_f64();

        // The paced run: the records due are sent every millisecond.
        let total_secs = warmup + duration + cooldown;
        let total = (rate * total_secs).round() as u64;
        let (first_measured, end_measured) =
            ((rate * warmup).round() as u64, (rate * (warmup + duration)).round() as u64);
        let started = Instant::now();
        let mut sent = 0u64;
        let mut max_behind = Duration::ZERO;
        let mut measured = 0u64;
        let tick = Duration::from_millis(1);
        let mut next_tick = started;
        let mut last_stamp = 0i64;
        while sent < total {
            let elapsed = started.elapsed();
            let due = total.min((elapsed.as_secs_f64() * rate) as u64 + 1);
            if due > sent + 1 {
                // How far behind the schedule the oldest due record is.
                let behind = elapsed.saturating_sub(Duration::from_secs_f64(sent as f64 / rate));
                max_behind = max_behind.max(behind);
            }
            while sent < due {
                // Stamps strictly increase, so that the measured window is exact.
                let now = now_micros().max(last_stamp + 1);
                last_stamp = now;
                if sent == first_measured {
                    window.0.store(now as u64, Ordering::Relaxed);
                }
                if sent == end_measured {
                    window.1.store(now as u64, Ordering::Relaxed);
                }
                if sent >= first_measured && sent < end_measured {
                    measured += 1;
                }
                send(&p, &input, bids.next(now))?;
                sent += 1;
            }
            p.poll(Duration::ZERO);
            next_tick += tick;
            let now = Instant::now();
            if next_tick > now {
                std::thread::sleep(next_tick - now);
            } else {
                next_tick = now;
            }
        }
        let paced_secs = started.elapsed().as_secs_f64();
        if end_measured >= total {
            window.1.store(now_micros() as u64, Ordering::Relaxed);
        }
        expected.store(measured, Ordering::Relaxed);
        finish_producer(&p)?;
        // Wait for the measured records (at most `grace` after the last send).
        let waiting = Instant::now();
        while !consumer_thread.is_finished() && waiting.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        let mut m = consumer_thread.join().map_err(|_| "the consumer thread panicked".to_string())?;

        let achieved = sent as f64 / paced_secs;
        println!(
            "latency: target {rate:.0}/s to '{input}', out of '{output}'; ready after {ready_after:.1} s ({probes} probes); \
             sent {sent} in {paced_secs:.2} s ({achieved:.0}/s, max {:.2} ms behind schedule); \
             measured {measured} records sent during {duration} s after {warmup} s warm-up; \
             received {}/{measured} of them ({} records in all, {} unreadable)",
            max_behind.as_secs_f64() * 1e3,
            m.total.len(),
            m.received,
            m.unreadable
        );
        let from = window.0.load(Ordering::Relaxed) as i64;
        println!("latency: slowest 100 ms slices of send time: {}", slowest_slices(&m, from));
        if let Some(path) = args.values.get("dump") {
            dump(path, &m).map_err(|e| format!("--dump {path}: {e}"))?;
        }
        println!("latency: end-to-end (receive - sent_at): {}", summary(&mut m.total));
        if m.no_timestamp < m.total.len() as u64 && output != input {
            println!("latency:   send → sink producer (output create time, ms resolution): {}", summary(&mut m.inside));
            println!("latency:   sink producer → received: {}", summary(&mut m.out));
        }
        let _ = std::io::stdout().flush();
        if (m.total.len() as u64) < measured {
            return Err(format!("{} measured records did not come out", measured - m.total.len() as u64));
        }
        Ok(())
    }

    /// The 6 slices of 100 ms of send time (seconds after the measured window starts) whose
    /// slowest record was slowest, in time order: periodic stalls show as a period here.
    fn slowest_slices(m: &Measured, from: i64) -> String {
        let mut worst: HashMap<i64, i64> = HashMap::new();
        for (s, t) in m.sent.iter().zip(&m.total) {
            let w = worst.entry((s - from) / 100_000).or_default();
            *w = (*w).max(*t);
        }
        let mut slices: Vec<(i64, i64)> = worst.into_iter().collect();
        slices.sort_by_key(|&(_, t)| std::cmp::Reverse(t));
        slices.truncate(6);
        slices.sort_unstable();
        slices
            .iter()
            .map(|(k, t)| format!("{:.1} s: {:.1} ms", *k as f64 / 10.0, *t as f64 / 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Writes `sent_at_us,latency_us,inside_us` per measured record (CSV; `inside` empty
    /// without output timestamps).
    fn dump(path: &str, m: &Measured) -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(w, "sent_at_us,latency_us,inside_us")?;
        for (i, (s, t)) in m.sent.iter().zip(&m.total).enumerate() {
            match m.inside.get(i).filter(|_| m.inside.len() == m.total.len()) {
                Some(x) => writeln!(w, "{s},{t},{x}")?,
                None => writeln!(w, "{s},{t},")?,
            }
        }
        w.flush()
    }

    /// p50/p90/p99/p99.9/max (and mean) of µs values, in ms.
    fn summary(v: &mut [i64]) -> String {
        if v.is_empty() {
            return "no records".into();
        }
        v.sort_unstable();
        let q = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1e3;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 / 1e3;
        format!(
            "n {} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, mean {:.2} ms, min {:.2} ms",
            v.len(),
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            v[v.len() - 1] as f64 / 1e3,
            mean,
            v[0] as f64 / 1e3
        )
    }
}
