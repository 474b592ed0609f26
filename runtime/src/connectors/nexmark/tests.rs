use super::*;
use std::collections::{BTreeMap, HashMap};

fn options(pairs: &[(&str, &str)]) -> TableOptions {
    TableOptions::new("nx", pairs)
}

fn config(pairs: &[(&str, &str)]) -> NexmarkConfig {
    NexmarkConfig::from_options(&options(pairs)).expect("valid options")
}

fn events(pairs: &[(&str, &str)], n: usize) -> Vec<Event> {
    NexmarkGenerator::new(config(pairs)).take(n).collect()
}

fn context() -> Context {
    Context::new(vec![], BTreeMap::new())
}

#[test]
fn same_seed_same_events_different_seed_different() {
    let a = events(&[("seed", "7")], 10_000);
    let b = events(&[("seed", "7")], 10_000);
    assert_eq!(a, b);
    let c = events(&[("seed", "8")], 10_000);
    assert_eq!(a.len(), c.len());
    assert_ne!(a, c);
    // Ids and timestamps do not depend on the seed; the random fields do.
    let differing = a.iter().zip(&c).filter(|(x, y)| x != y).count();
    assert!(differing > 9_000, "only {differing} events differ");
    for (x, y) in a.iter().zip(&c) {
        assert_eq!(x.event_type, y.event_type);
        assert_eq!(x.date_time(), y.date_time());
    }
}

#[test]
fn default_seed_is_zero() {
    assert_eq!(events(&[], 2_000), events(&[("seed", "0")], 2_000));
}

#[test]
fn kinds_are_exactly_1_3_46_per_50() {
    let all = events(&[], 50 * 200);
    for (i, e) in all.iter().enumerate() {
        let expected = match i % 50 {
            0 => 0,
            1..=3 => 1,
            _ => 2,
        };
        assert_eq!(e.event_type, expected, "event {i}");
        let somes = [e.person.is_some(), e.auction.is_some(), e.bid.is_some()];
        assert_eq!(somes.iter().filter(|s| **s).count(), 1, "event {i}");
        assert!(somes[e.event_type as usize], "event {i}");
    }
    for chunk in all.chunks(50) {
        let count = |t| chunk.iter().filter(|e| e.event_type == t).count();
        assert_eq!((count(0), count(1), count(2)), (1, 3, 46));
    }
}

#[test]
fn other_proportions() {
    let all = events(&[("person.proportion", "2"), ("auction.proportion", "2"), ("bid.proportion", "6")], 1_000);
    let count = |t| all.iter().filter(|e| e.event_type == t).count();
    assert_eq!((count(0), count(1), count(2)), (200, 200, 600));
    assert_eq!(all[..10].iter().map(|e| e.event_type).collect::<Vec<_>>(), [0, 0, 1, 1, 2, 2, 2, 2, 2, 2]);
}

#[test]
fn person_and_auction_ids_are_consecutive_from_1000() {
    let all = events(&[], 50_000);
    let persons: Vec<i64> = all.iter().filter_map(|e| e.person.as_ref()).map(|p| p.id).collect();
    let auctions: Vec<i64> = all.iter().filter_map(|e| e.auction.as_ref()).map(|a| a.id).collect();
    assert_eq!(persons, (1000..1000 + 1_000).collect::<Vec<_>>());
    assert_eq!(auctions, (1000..1000 + 3_000).collect::<Vec<_>>());
}

#[test]
fn references_point_at_recent_or_hot_entities() {
    let all = events(&[("seed", "3")], 200_000);
    let (mut max_person, mut max_auction) = (i64::MIN, i64::MIN);
    let (mut hot_auction_bids, mut bids) = (0, 0);
    for e in &all {
        if let Some(p) = &e.person {
            max_person = p.id;
        }
        if let Some(a) = &e.auction {
            max_auction = a.id;
            assert!(a.seller >= FIRST_PERSON_ID && a.seller <= max_person + 10, "{a:?} (max person {max_person})");
            assert!((10..15).contains(&a.category));
            assert!(a.reserve > a.initial_bid);
        }
        if let Some(b) = &e.bid {
            bids += 1;
            assert!(b.auction >= FIRST_AUCTION_ID && b.auction <= max_auction + 10, "{b:?} (max {max_auction})");
            assert!(b.auction >= max_auction - 100 - 100, "{b:?} is not in flight (max {max_auction})");
            assert!(b.bidder >= FIRST_PERSON_ID && b.bidder <= max_person + 10, "{b:?} (max person {max_person})");
            assert!(b.bidder >= max_person - 1000 - 100, "{b:?} is not active (max person {max_person})");
            if (b.auction - FIRST_AUCTION_ID) % 100 == 0 {
                hot_auction_bids += 1;
            }
        }
    }
    // bid.hot-ratio.auctions = 2: about half the bids are for the hot auction.
    let share = hot_auction_bids as f64 / bids as f64;
    assert!((0.45..0.56).contains(&share), "hot share {share}");
}

#[test]
fn timestamps_follow_the_rate() {
    let base = DEFAULT_BASE_TIME_MS;
    // Default 10000 events/s: ten events per millisecond.
    for (n, e) in events(&[], 5_000).iter().enumerate() {
        assert_eq!(e.date_time(), Timestamp::from_millis(base + n as i64 / 10), "event {n}");
    }
    // 1000/s: 1 ms apart.
    let all = events(&[("first-event.rate", "1000"), ("next-event.rate", "1000")], 5_000);
    for (n, e) in all.iter().enumerate() {
        assert_eq!(e.date_time(), Timestamp::from_millis(base + n as i64), "event {n}");
    }
    // 3/s: 333.33 ms apart, truncated.
    let all = events(&[("first-event.rate", "3"), ("next-event.rate", "3"), ("base-time", "1000")], 7);
    let ms: Vec<i64> = all.iter().map(|e| e.date_time().millis()).collect();
    assert_eq!(ms, [1000, 1333, 1666, 2000, 2333, 2666, 3000]);
    // Only first-event.rate set: next-event.rate stays 10000, so the square shape applies.
    let shaped = events(&[("first-event.rate", "1000"), ("rate.period", "2 s")], 3_000);
    let ms: Vec<i64> = shaped.iter().map(|e| e.date_time().millis() - base).collect();
    assert_eq!(&ms[..3], [0, 1, 2]);
    assert_eq!(ms[999], 999);
    assert_eq!(&ms[1000..1003], [1000, 1000, 1000]); // then 10000/s for a second
    assert_eq!(ms[1010], 1001);
    assert!(ms.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn square_and_sine_shapes() {
    let base = DEFAULT_BASE_TIME_MS;
    let c = config(&[("first-event.rate", "1000"), ("next-event.rate", "500"), ("rate.period", "2s")]);
    let ms: Vec<i64> = NexmarkGenerator::new(c).take(3_000).map(|e| e.date_time().millis() - base).collect();
    // One second at 1000/s, one second at 500/s, then again.
    assert_eq!(&ms[..2], [0, 1]);
    assert_eq!(&ms[1000..1003], [1000, 1002, 1004]);
    assert_eq!(ms[1500], 2000);
    assert_eq!(ms[2500], 3000);
    let c = config(&[
        ("first-event.rate", "2000"),
        ("next-event.rate", "1000"),
        ("rate.shape", "sine"),
        ("rate.period", "10 s"),
    ]);
    let ms: Vec<i64> = NexmarkGenerator::new(c).take(40_000).map(|e| e.date_time().millis() - base).collect();
    assert!(ms.windows(2).all(|w| w[0] <= w[1]));
    // The first second runs at 2000/s; the sixth (half a period later) at 1000/s.
    assert_eq!(ms[1999], 999);
    let in_second = |s: i64| ms.iter().filter(|&&m| m / 1000 == s).count();
    assert_eq!(in_second(0), 2000);
    assert_eq!(in_second(5), 1000);
    assert!(in_second(2) < 2000 && in_second(2) > 1000);
}

#[test]
fn base_time_option() {
    let at = |v: &str| events(&[("base-time", v)], 1)[0].date_time().millis();
    assert_eq!(at("1234567"), 1_234_567);
    assert_eq!(at("2021-03-04 05:06:07"), 1_614_834_367_000);
    assert_eq!(at("2021-03-04T05:06:07.250Z"), 1_614_834_367_250);
    assert_eq!(events(&[], 1)[0].date_time(), Timestamp::from_millis(1_577_836_800_000));
    let now = at("now");
    assert!(now > 1_700_000_000_000);
}

#[test]
fn auctions_expire_after_they_start_within_the_in_flight_horizon() {
    // 10000 events/s, 100 auctions in flight = 1666 events = 166 ms: expiry within 1 + 2 × 166.
    let mut lengths = Vec::new();
    for e in events(&[], 100_000) {
        if let Some(a) = e.auction {
            let length = a.expires.millis() - a.date_time.millis();
            assert!((1..=333).contains(&length), "{a:?}");
            lengths.push(length);
        }
    }
    let mean = lengths.iter().sum::<i64>() as f64 / lengths.len() as f64;
    assert!((150.0..185.0).contains(&mean), "mean auction length {mean}");
}

/// The reference's idealized byte sizes of each kind.
fn sizes(all: &[Event]) -> [f64; 3] {
    let mut sum = [0usize; 3];
    let mut count = [0usize; 3];
    for e in all {
        let (kind, size) = match (&e.person, &e.auction, &e.bid) {
            (Some(p), _, _) => (
                0,
                8 + p.name.len()
                    + p.email_address.len()
                    + p.credit_card.len()
                    + p.city.len()
                    + p.state.len()
                    + p.extra.len(),
            ),
            (_, Some(a), _) => (1, 8 + a.item_name.len() + a.description.len() + 40 + a.extra.len()),
            (_, _, Some(b)) => (2, 32 + b.extra.len()),
            _ => unreachable!(),
        };
        sum[kind] += size;
        count[kind] += 1;
    }
    std::array::from_fn(|k| sum[k] as f64 / count[k] as f64)
}

#[test]
fn sizes_average_the_configured_sizes() {
    let [person, auction, bid] = sizes(&events(&[], 200_000));
    assert!((person - 200.0).abs() < 6.0, "person {person}");
    assert!((auction - 500.0).abs() < 10.0, "auction {auction}");
    assert!((bid - 100.0).abs() < 2.0, "bid {bid}");
    let [person, auction, bid] =
        sizes(&events(&[("person.avg-size", "1kb"), ("auction.avg-size", "3000 b"), ("bid.avg-size", "250")], 100_000));
    assert!((person - 1024.0).abs() < 25.0, "person {person}");
    assert!((auction - 3000.0).abs() < 60.0, "auction {auction}");
    assert!((bid - 250.0).abs() < 5.0, "bid {bid}");
    // Smaller than the fixed fields: no padding at all.
    let [_, _, bid] = sizes(&events(&[("bid.avg-size", "10b")], 1_000));
    assert_eq!(bid, 32.0);
}

#[test]
fn field_shapes() {
    let all = events(&[], 20_000);
    let mut channel_urls: HashMap<Str, Str> = HashMap::new();
    for e in &all {
        if let Some(p) = &e.person {
            assert!(p.name.contains(' '), "{p:?}");
            assert!(p.email_address.ends_with(".com") && p.email_address.contains('@'), "{p:?}");
            assert_eq!(p.credit_card.len(), 19);
            assert!(p.credit_card.split(' ').all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit())));
            assert!(["AZ", "CA", "ID", "OR", "WA", "WY"].contains(&p.state.as_str()));
        }
        if let Some(a) = &e.auction {
            assert!(a.item_name.len() < 20 && a.description.len() < 100, "{a:?}");
            assert!(a.initial_bid >= 100 && a.initial_bid <= 100_000_000);
        }
        if let Some(b) = &e.bid {
            assert!(b.price >= 100 && b.price <= 100_000_000, "{b:?}");
            assert!(b.url.starts_with("https://www.nexmark.com/") && b.url.contains("item.htm?query=1"), "{b:?}");
            assert!(
                ["Google", "Facebook", "Baidu", "Apple"].contains(&b.channel.as_str())
                    || b.channel.starts_with("channel-"),
                "{b:?}"
            );
            assert!(b.extra.bytes().all(|c| c.is_ascii_lowercase()));
            let url = channel_urls.entry(b.channel.clone()).or_insert_with(|| b.url.clone());
            assert_eq!(url, &b.url, "one url per channel");
        }
    }
    let hot = all.iter().filter_map(|e| e.bid.as_ref()).filter(|b| !b.channel.starts_with("channel-")).count();
    let bids = all.iter().filter(|e| e.bid.is_some()).count();
    assert!((hot as f64 / bids as f64 - 0.5).abs() < 0.03);
    assert!(channel_urls.len() > 4000, "{} channels", channel_urls.len());
}

#[test]
fn with_offset_resumes_exactly() {
    let c = config(&[("seed", "11"), ("first-event.rate", "777")]);
    let all: Vec<Event> = NexmarkGenerator::new(c.clone()).take(5_000).collect();
    for start in [1, 49, 50, 1234, 4_999] {
        let resumed: Vec<Event> = NexmarkGenerator::with_offset(c.clone(), start as u64).take(5_000 - start).collect();
        assert_eq!(resumed, all[start..], "from {start}");
    }
    let shaped = config(&[("first-event.rate", "1000"), ("next-event.rate", "300"), ("rate.period", "2 s")]);
    let all: Vec<Event> = NexmarkGenerator::new(shaped.clone()).take(3_000).collect();
    let resumed: Vec<Event> = NexmarkGenerator::with_offset(shaped, 1_700).take(1_300).collect();
    assert_eq!(resumed, all[1_700..]);
}

#[test]
fn iterator_stops_at_events_num() {
    let c = config(&[("events.num", "123")]);
    assert_eq!(NexmarkGenerator::new(c.clone()).count(), 123);
    assert_eq!(NexmarkGenerator::with_offset(c.clone(), 100).count(), 23);
    assert_eq!(NexmarkGenerator::with_offset(c, 500).count(), 0);
}

#[test]
fn run_emits_events_num_and_counts_them() {
    let cx = context();
    let source = source(&options(&[("events.num", "5000"), ("seed", "5")])).unwrap();
    let mut got = Vec::new();
    source
        .run(&cx, |e| {
            got.push(e);
            Ok(())
        })
        .unwrap();
    assert_eq!(got.len(), 5000);
    assert_eq!(cx.counters.rows_in.load(Relaxed), 5000);
    assert_eq!(got, events(&[("seed", "5")], 5000));
}

#[test]
fn run_honours_stop() {
    let cx = context();
    let source = source(&options(&[])).unwrap(); // unbounded
    let mut n = 0u64;
    source
        .run(&cx, |_| {
            n += 1;
            if n == 5_000 {
                cx.request_stop();
            }
            Ok(())
        })
        .unwrap();
    assert!((5_000..5_000 + 1_024).contains(&n), "{n} events");
    assert_eq!(cx.counters.rows_in.load(Relaxed), n);
}

#[test]
fn run_returns_the_emit_error() {
    let cx = context();
    let source = source(&options(&[("events.num", "100")])).unwrap();
    let mut n = 0;
    let err = source
        .run(&cx, |_| {
            n += 1;
            if n == 10 { Err(crate::error::Error::Config("full".into())) } else { Ok(()) }
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "full");
    assert_eq!(n, 10);
}

#[test]
fn run_paces_when_rate_limited() {
    let cx = context();
    // 300 events at 2000/s: the last is due 149.5 ms after the first.
    let source = source(&options(&[
        ("events.num", "300"),
        ("rate.limited", "true"),
        ("first-event.rate", "2000"),
        ("next-event.rate", "2000"),
    ]))
    .unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    source
        .run(&cx, |_| {
            seen.push(started.elapsed());
            Ok(())
        })
        .unwrap();
    assert_eq!(seen.len(), 300);
    for (n, at) in seen.iter().enumerate() {
        assert!(*at >= Duration::from_micros(n as u64 * 500), "event {n} at {at:?}");
    }
}

#[test]
fn rate_limited_run_stops_while_waiting() {
    // One event per second, three in all: the stop request, sent as soon as the first
    // event has been emitted, must end the run while it waits for the second.
    let cx = context();
    let source = source(&options(&[
        ("rate.limited", "true"),
        ("first-event.rate", "1"),
        ("next-event.rate", "1"),
        ("events.num", "3"),
    ]))
    .unwrap();
    let (first, emitted) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let cx = &cx;
        s.spawn(move || {
            emitted.recv().expect("the first event is emitted");
            cx.request_stop();
        });
        let mut n = 0;
        source
            .run(cx, |_| {
                n += 1;
                if n == 1 {
                    first.send(()).unwrap();
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1, "stopped before the second event");
    });
}

#[test]
fn option_errors_name_the_key() {
    for (key, value) in [
        ("events.num", "-1"),
        ("first-event.rate", "abc"),
        ("first-event.rate", "0"),
        ("next-event.rate", "0"),
        ("rate.shape", "TRIANGLE"),
        ("rate.period", "often"),
        ("rate.limited", "maybe"),
        ("person.proportion", "x"),
        ("bid.proportion", "-3"),
        ("person.avg-size", "big"),
        ("auction.avg-size", "2 gb"),
        ("bid.avg-size", "10 parsecs"),
        ("bid.hot-ratio.auctions", "0"),
        ("bid.hot-ratio.bidders", "y"),
        ("auction.hot-ratio.sellers", "0"),
        ("seed", "-5"),
        ("base-time", "yesterday"),
    ] {
        let err = NexmarkConfig::from_options(&options(&[(key, value)])).unwrap_err().to_string();
        assert!(err.contains(&format!("'{key}'")), "{key}={value}: {err}");
    }
    let err = NexmarkConfig::from_options(&options(&[
        ("person.proportion", "0"),
        ("auction.proportion", "0"),
        ("bid.proportion", "0"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("proportion"), "{err}");
    let err = NexmarkConfig::from_options(&options(&[("first-event.rate", "5"), ("rate.period", "0 s")])).unwrap_err();
    assert!(err.to_string().contains("'rate.period'"), "{err}");
}

#[test]
fn options_are_read() {
    let c = config(&[
        ("events.num", "42"),
        ("first-event.rate", "5"),
        ("next-event.rate", "7"),
        ("rate.shape", "Sine"),
        ("rate.period", "1 min"),
        ("rate.limited", "TRUE"),
        ("person.proportion", "2"),
        ("auction.proportion", "4"),
        ("bid.proportion", "44"),
        ("person.avg-size", "300b"),
        ("auction.avg-size", "1 kb"),
        ("bid.avg-size", "120"),
        ("bid.hot-ratio.auctions", "3"),
        ("bid.hot-ratio.bidders", "5"),
        ("auction.hot-ratio.sellers", "6"),
        ("seed", "99"),
        ("base-time", "0"),
    ]);
    let expected = NexmarkConfig {
        events_num: 42,
        first_event_rate: 5,
        next_event_rate: 7,
        rate_shape: RateShape::Sine,
        rate_period_sec: 60,
        rate_limited: true,
        person_proportion: 2,
        auction_proportion: 4,
        bid_proportion: 44,
        avg_person_byte_size: 300,
        avg_auction_byte_size: 1024,
        avg_bid_byte_size: 120,
        hot_auction_ratio: 3,
        hot_bidders_ratio: 5,
        hot_sellers_ratio: 6,
        num_in_flight_auctions: 100,
        num_active_people: 1000,
        seed: 99,
        base_time_ms: 0,
    };
    assert_eq!(c, expected);
    assert_eq!(config(&[]), NexmarkConfig::default());
    assert_eq!(parse_memory_size("2 MB"), Some(2 << 20));
    assert_eq!(parse_memory_size("7"), Some(7));
    assert_eq!(parse_memory_size("k"), None);
}

#[test]
fn hot_ratio_one_means_no_hot_entities() {
    let all = events(&[("bid.hot-ratio.auctions", "1"), ("bid.hot-ratio.bidders", "1")], 100_000);
    let bids: Vec<&Bid> = all.iter().filter_map(|e| e.bid.as_ref()).collect();
    let hot = bids.iter().filter(|b| (b.auction - FIRST_AUCTION_ID) % 100 == 0).count();
    // Uniform over ~110 auctions: about 1% land on a multiple of 100.
    assert!((hot as f64 / bids.len() as f64) < 0.03, "{hot} of {}", bids.len());
}
