//! The filesystem, print, blackhole and datagen connectors and the JSON/CSV formats,
//! driven as generated pipelines drive them.

use dfl::Error;
use dfl::connectors::Source;
use dfl::connectors::format::{Column, ColumnType, Decoder, Encoder, Format};
use dfl::connectors::{blackhole, datagen, filesystem, print};
use dfl::options::TableOptions;
use dfl::pipeline::{Context, Sink};
use dfl::types::{Date, Decimal, Str, Time, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;

/// A row as the generator writes them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
struct Click {
    #[serde(rename = "user_id")]
    user_id: Option<i64>,
    #[serde(rename = "url")]
    url: Option<Str>,
    #[serde(rename = "ts")]
    ts: Option<Timestamp>,
    #[serde(rename = "amount")]
    amount: Option<Decimal>,
    #[serde(rename = "ok")]
    ok: Option<bool>,
    #[serde(rename = "score")]
    score: Option<f64>,
}

const COLUMNS: [Column; 6] = [
    Column { name: "user_id", ty: ColumnType::BigInt, nullable: true },
    Column { name: "url", ty: ColumnType::Varchar(2147483647), nullable: true },
    Column { name: "ts", ty: ColumnType::Timestamp(3), nullable: true },
    Column { name: "amount", ty: ColumnType::Decimal { precision: 10, scale: 2 }, nullable: true },
    Column { name: "ok", ty: ColumnType::Boolean, nullable: true },
    Column { name: "score", ty: ColumnType::Double, nullable: true },
];

fn ts(s: &str) -> Timestamp {
    serde_json::from_value(serde_json::Value::String(s.into())).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn clicks() -> Vec<Click> {
    vec![
        Click {
            user_id: Some(1),
            url: Some("https://a.example/x?q=1,2".into()),
            ts: Some(ts("2024-02-29 23:59:58.123")),
            amount: Some(dec("12.50")),
            ok: Some(true),
            score: Some(0.25),
        },
        Click {
            user_id: Some(2),
            url: Some("say \"hi\"".into()),
            ts: Some(ts("2024-03-01 00:00:00")),
            ..Default::default()
        },
        Click { user_id: None, url: None, ts: None, amount: Some(dec("-0.05")), ok: Some(false), score: Some(1e10) },
        Click {
            user_id: Some(i64::MAX),
            url: Some("line\nbreak".into()),
            amount: Some(dec("100")),
            ..Default::default()
        },
    ]
}

fn table(name: &str, pairs: &[(&str, &str)]) -> TableOptions {
    TableOptions::new(name, pairs)
}

fn context(tables: Vec<TableOptions>) -> Context {
    Context::new(tables, BTreeMap::new())
}

fn write_rows(opts: &TableOptions, batches: Vec<Vec<Click>>) {
    let mut sink = filesystem::sink::<Click>(opts, &COLUMNS).unwrap();
    for mut batch in batches {
        sink.write_batch(&mut batch).unwrap();
        assert!(batch.is_empty(), "write_batch drains the batch");
    }
    sink.flush().unwrap();
}

fn read_rows(cx: &Context, name: &str) -> dfl::Result<Vec<Click>> {
    let src = filesystem::source::<Click>(cx.table(name)?)?;
    let mut rows = Vec::new();
    src.run(cx, |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(rows)
}

fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Every visible file in `dir`, sorted.
fn visible_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

// ------------------------------------------------------------------------------------------
// Round trips
// ------------------------------------------------------------------------------------------

#[test]
fn json_round_trip_through_a_single_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/out.json");
    let opts = table("t", &[("path", &path_str(&file)), ("format", "json")]);
    write_rows(&opts, vec![clicks()[..2].to_vec(), clicks()[2..].to_vec()]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.starts_with(r#"{"user_id":1,"url":"https://a.example/x?q=1,2","ts":"2024-02-29 23:59:58.123","amount":12.50,"ok":true,"score":0.25}"#),
        "{text}"
    );
    assert!(text.contains(r#""amount":100.00"#), "DECIMAL(10, 2) keeps its scale: {text}");
    assert!(text.contains(r#""user_id":null"#), "{text}");

    let uri = format!("file://{}", path_str(&file));
    let cx = context(vec![table("t", &[("path", &uri), ("format", "json")])]);
    assert_eq!(read_rows(&cx, "t").unwrap(), clicks());
    assert_eq!(cx.counters.rows_in.load(Ordering::Relaxed), 4);
    assert_eq!(all_files(file.parent().unwrap()), vec!["out.json"], "no temporary files left");
}

#[test]
fn json_round_trip_through_a_folder_of_part_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = format!("{}/out/", path_str(dir.path()));
    let opts = table("t", &[("path", &out), ("format", "json")]);
    let mut sink = filesystem::sink::<Click>(&opts, &COLUMNS).unwrap();
    sink.write_batch(&mut clicks()[..3].to_vec()).unwrap();
    assert!(visible_files(&dir.path().join("out")).is_empty(), "nothing visible before the flush");
    sink.flush().unwrap();
    sink.write_batch(&mut clicks()[3..].to_vec()).unwrap();
    sink.flush().unwrap();
    sink.flush().unwrap();
    drop(sink);
    let parts = visible_files(&dir.path().join("out"));
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(parts.iter().all(|p| p.starts_with("part-") && p.ends_with(".json")), "{parts:?}");
    assert_eq!(all_files(&dir.path().join("out")).len(), 2, "no temporary files left");
    // A stray hidden file and an underscore file are not read.
    std::fs::write(dir.path().join("out/.hidden.json"), "garbage\n").unwrap();
    std::fs::write(dir.path().join("out/_SUCCESS"), "").unwrap();

    let cx = context(vec![table("t", &[("path", &out), ("format", "json")])]);
    assert_eq!(read_rows(&cx, "t").unwrap(), clicks());
}

#[test]
fn csv_round_trip_with_null_literal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.csv");
    let pairs = [("path", path_str(&file)), ("format", "csv".into()), ("csv.null-literal", "\\N".into())];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    write_rows(&table("t", &pairs), vec![clicks()]);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r#"1,"https://a.example/x?q=1,2",2024-02-29 23:59:58.123,12.50,true,0.25"#);
    assert_eq!(lines[1], r#"2,"say ""hi""",2024-03-01 00:00:00,\N,\N,\N"#);
    assert_eq!(lines[2], r#"\N,\N,\N,-0.05,false,1.0E10"#);
    let cx = context(vec![table("t", &pairs)]);
    assert_eq!(read_rows(&cx, "t").unwrap(), clicks());
}

#[test]
fn csv_empty_fields_are_null_except_for_strings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(&file, "7,,,,,\n,x, 2024-01-02 03:04:05 , 1.5 ,TRUE, 2.5 \n8\n").unwrap();
    let pairs = [("path", path_str(&file)), ("format", "csv".into())];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cx = context(vec![table("t", &pairs)]);
    let err = read_rows(&cx, "t").unwrap_err();
    match &err {
        Error::BadRecord { line, reason, .. } => {
            assert_eq!(*line, 3);
            assert!(reason.contains("1 fields") && reason.contains("6 columns"), "{reason}");
        }
        other => panic!("{other}"),
    }
    std::fs::write(&file, "7,,,,,\n,x, 2024-01-02 03:04:05 , 1.5 ,TRUE, 2.5 \n").unwrap();
    let rows = read_rows(&cx, "t").unwrap();
    assert_eq!(rows[0], Click { user_id: Some(7), url: Some("".into()), ..Default::default() });
    assert_eq!(
        rows[1],
        Click {
            user_id: None,
            url: Some("x".into()),
            ts: Some(ts("2024-01-02 03:04:05")),
            amount: Some(dec("1.5")),
            ok: Some(true),
            score: Some(2.5)
        }
    );
}

#[test]
fn csv_options_delimiter_quote_comments_and_arrays() {
    #[derive(Debug, PartialEq, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Tagged {
        id: Option<i32>,
        tags: Option<Vec<Option<Str>>>,
        nums: Option<Vec<Option<i32>>>,
        name: Option<Str>,
    }
    let columns = [
        Column { name: "id", ty: ColumnType::Int, nullable: true },
        Column { name: "tags", ty: ColumnType::Other, nullable: true },
        Column { name: "nums", ty: ColumnType::Other, nullable: true },
        Column { name: "name", ty: ColumnType::Varchar(10), nullable: true },
    ];
    let opts = table(
        "t",
        &[
            ("format", "csv"),
            ("path", "unused"),
            ("csv.field-delimiter", "\\t"),
            ("csv.quote-character", "'"),
            ("csv.allow-comments", "true"),
            ("csv.array-element-delimiter", "|"),
        ],
    );
    let format = Format::from_options(&opts, "").unwrap();
    let mut enc = Encoder::new(&format, &columns);
    let row = Tagged {
        id: Some(1),
        tags: Some(vec![Some("a".into()), Some("b".into())]),
        nums: Some(vec![Some(1), None, Some(3)]),
        name: Some("it's\tme".into()),
    };
    let mut out = Vec::new();
    enc.encode(&row, &mut out).unwrap();
    assert_eq!(String::from_utf8_lossy(&out), "1\ta|b\t1||3\t'it''s\tme'");
    let mut decoder = Decoder::<Tagged>::new(&format);
    assert_eq!(decoder.decode(&out).unwrap(), row);
    assert!(decoder.decode(b"# a comment\n").is_err(), "a comment is no record");
    assert!(
        format!("{:?}", Format::from_options(&table("t", &[("format", "csv"), ("csv.field-delimiter", "ab")]), ""))
            .contains("single ASCII character")
    );
    let both = table("t", &[("format", "csv"), ("csv.disable-quote-character", "true"), ("csv.quote-character", "'")]);
    assert!(Format::from_options(&both, "").is_err());
}

// ------------------------------------------------------------------------------------------
// JSON specifics
// ------------------------------------------------------------------------------------------

fn json_decoder(pairs: &[(&str, &str)]) -> Decoder<Click> {
    let mut all = vec![("format", "json")];
    all.extend_from_slice(pairs);
    Decoder::new(&Format::from_options(&table("t", &all), "").unwrap())
}

#[test]
fn json_missing_fields_are_null_unless_required() {
    let mut decoder = json_decoder(&[]);
    let row = decoder.decode_str(r#"{"user_id": 5, "extra": [1, {"a": 2}]}"#).unwrap();
    assert_eq!(row, Click { user_id: Some(5), ..Default::default() });
    let mut strict = json_decoder(&[("json.fail-on-missing-field", "true")]);
    let err = strict.decode_str(r#"{"user_id": 5}"#).unwrap_err();
    assert!(err.contains("missing field `url`"), "{err}");
    let full = r#"{"user_id":1,"url":null,"ts":null,"amount":null,"ok":null,"score":null}"#;
    assert!(strict.decode_str(full).is_ok());
    let both =
        table("t", &[("format", "json"), ("json.fail-on-missing-field", "true"), ("json.ignore-parse-errors", "true")]);
    assert!(Format::from_options(&both, "").is_err());
}

#[test]
fn json_reads_like_flink() {
    let mut decoder = json_decoder(&[]);
    // Numbers and booleans in strings, and numbers for strings; ISO-8601 timestamps.
    let row = decoder
        .decode_str(r#"{"user_id": "42", "url": 17, "ts": "2024-01-02T03:04:05.5Z", "amount": "1.25", "ok": "true", "score": "2.5"}"#)
        .unwrap();
    assert_eq!(
        row,
        Click {
            user_id: Some(42),
            url: Some("17".into()),
            ts: Some(ts("2024-01-02 03:04:05.500")),
            amount: Some(dec("1.25")),
            ok: Some(true),
            score: Some(2.5)
        }
    );
    let err = decoder.decode_str(r#"{"user_id": "forty-two"}"#).unwrap_err();
    assert!(err.contains("user_id") && err.contains("i64"), "{err}");
    let err = decoder.decode_str(r#"{"user_id": 1,"#).unwrap_err();
    assert!(err.contains("EOF"), "{err}");
    let err = decoder.decode_str(r#"[1, 2]"#).unwrap_err();
    assert!(err.contains("expected a JSON object"), "{err}");
    // Ignoring parse errors nulls the field that cannot be read.
    let mut lenient = json_decoder(&[("json.ignore-parse-errors", "true")]);
    let row = lenient.decode_str(r#"{"user_id": "forty-two", "url": "u", "ts": "yesterday"}"#).unwrap();
    assert_eq!(row, Click { url: Some("u".into()), ..Default::default() });
}

#[test]
fn json_writes_iso_timestamps_ltz_and_skips_nulls() {
    #[derive(Serialize)]
    struct Out {
        a: Option<Timestamp>,
        b: Option<Timestamp>,
        c: Option<i32>,
        d: Option<Decimal>,
        e: Option<Date>,
        f: Option<Time>,
    }
    let columns = [
        Column { name: "a", ty: ColumnType::Timestamp(3), nullable: true },
        Column { name: "b", ty: ColumnType::TimestampLtz(3), nullable: true },
        Column { name: "c", ty: ColumnType::Int, nullable: true },
        Column { name: "d", ty: ColumnType::Decimal { precision: 20, scale: 3 }, nullable: true },
        Column { name: "e", ty: ColumnType::Date, nullable: true },
        Column { name: "f", ty: ColumnType::Time(0), nullable: true },
    ];
    let row = Out {
        a: Some(ts("2020-12-30 12:13:14.123")),
        b: Some(ts("2020-12-30 12:13:14")),
        c: None,
        d: Some(dec("12345678901234567.891")),
        e: Some(Date(0)),
        f: Some(Time(3_600_000_000_000)),
    };
    let opts = table(
        "t",
        &[
            ("format", "json"),
            ("json.timestamp-format.standard", "ISO-8601"),
            ("json.encode.ignore-null-fields", "true"),
        ],
    );
    let mut enc = Encoder::new(&Format::from_options(&opts, "").unwrap(), &columns);
    let mut out = Vec::new();
    enc.encode(&row, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"a":"2020-12-30T12:13:14.123","b":"2020-12-30T12:13:14Z","d":12345678901234567.891,"e":"1970-01-01","f":"01:00:00"}"#
    );
    let mut sql = Encoder::new(&Format::from_options(&table("t", &[("format", "json")]), "").unwrap(), &columns);
    let mut out = Vec::new();
    sql.encode(&row, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(r#"{"a":"2020-12-30 12:13:14.123","b":"2020-12-30 12:13:14Z","c":null,"#), "{text}");
}

// ------------------------------------------------------------------------------------------
// Unreadable records
// ------------------------------------------------------------------------------------------

const MIXED: &str = "{\"user_id\": 1}\n\
                     {\"user_id\": 2, \"ts\": \"not a time\"}\n\
                     \n\
                     {\"user_id\": 3\n\
                     {\"user_id\": 4}\r\n";

#[test]
fn a_bad_record_fails_the_run_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.json");
    std::fs::write(&file, MIXED).unwrap();
    let cx = context(vec![table("t", &[("path", &path_str(&file)), ("format", "json")])]);
    let err = read_rows(&cx, "t").unwrap_err();
    match &err {
        Error::BadRecord { file: f, line, reason } => {
            assert_eq!(f, &file);
            assert_eq!(*line, 2);
            assert!(reason.contains("field `ts`") && reason.contains("not a time"), "{reason}");
        }
        other => panic!("{other}"),
    }
    let message = err.to_string();
    assert!(message.contains("in.json:2: cannot read record"), "{message}");
}

#[test]
fn ignore_parse_errors_skips_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.json");
    std::fs::write(&file, MIXED).unwrap();
    let cx = context(vec![table(
        "t",
        &[("path", &path_str(&file)), ("format", "json"), ("json.ignore-parse-errors", "true")],
    )]);
    let rows = read_rows(&cx, "t").unwrap();
    // Line 2's bad field becomes NULL (Flink); line 4 cannot be read at all and is skipped.
    let ids: Vec<Option<i64>> = rows.iter().map(|r| r.user_id).collect();
    assert_eq!(ids, vec![Some(1), Some(2), Some(4)]);
    assert_eq!(rows[1].ts, None);
    assert_eq!(cx.counters.skipped.load(Ordering::Relaxed), 1);
    assert_eq!(cx.counters.rows_in.load(Ordering::Relaxed), 3);
}

#[test]
fn dead_letters_keep_the_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.json"), MIXED).unwrap();
    std::fs::write(input.join("b.csv.json"), "{\"user_id\": 5}\nnope\n").unwrap();
    let dlq = dir.path().join("dlq/bad.jsonl");
    let cx = context(vec![table(
        "clicks",
        &[("path", &path_str(&input)), ("format", "json"), ("source.dead-letter.path", &path_str(&dlq))],
    )]);
    let rows = read_rows(&cx, "clicks").unwrap();
    assert_eq!(rows.iter().map(|r| r.user_id.unwrap()).collect::<Vec<_>>(), vec![1, 4, 5]);
    assert_eq!(cx.counters.skipped.load(Ordering::Relaxed), 3);
    let letters: Vec<serde_json::Value> =
        std::fs::read_to_string(&dlq).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(letters.len(), 3);
    assert_eq!(letters[0]["table"], "clicks");
    assert_eq!(letters[0]["file"], path_str(&input.join("a.json")));
    assert_eq!(letters[0]["line"], 2);
    assert_eq!(letters[0]["record"], r#"{"user_id": 2, "ts": "not a time"}"#);
    assert!(letters[0]["reason"].as_str().unwrap().contains("field `ts`"), "{:?}", letters[0]);
    assert_eq!(letters[1]["line"], 4);
    assert_eq!(letters[2]["line"], 2);
    assert_eq!(letters[2]["record"], "nope");
}

#[test]
fn csv_bad_records_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(&file, "1,a\n2,b,x\n3,c,,12.345.6\n").unwrap();
    let cx = context(vec![table("t", &[("path", &path_str(&file)), ("format", "csv")])]);
    let err = read_rows(&cx, "t").unwrap_err();
    match err {
        Error::BadRecord { line, reason, .. } => {
            assert_eq!(line, 1, "too few fields");
            assert!(reason.contains("2 fields"), "{reason}");
        }
        other => panic!("{other}"),
    }
    std::fs::write(&file, "1,a,,,,\n3,c,2024-01-01 00:00:00,12.345.6,,\n").unwrap();
    let err = read_rows(&cx, "t").unwrap_err();
    match err {
        Error::BadRecord { line, reason, .. } => {
            assert_eq!(line, 2);
            assert!(reason.contains("field `amount` (column 4)") && reason.contains("12.345.6"), "{reason}");
        }
        other => panic!("{other}"),
    }
    let cx = context(vec![table(
        "t",
        &[("path", &path_str(&file)), ("format", "csv"), ("csv.ignore-parse-errors", "true")],
    )]);
    let rows = read_rows(&cx, "t").unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].amount, None, "an unreadable field is NULL");
    assert_eq!(rows[1].ts, Some(ts("2024-01-01 00:00:00")));
}

#[test]
fn source_options_are_checked() {
    let bad = |pairs: &[(&str, &str)]| filesystem::source::<Click>(&table("t", pairs)).err().unwrap().to_string();
    assert!(bad(&[("format", "json")]).contains("'path'"));
    assert!(bad(&[("path", "/x"), ("format", "avro")]).contains("avro"));
    assert!(bad(&[("path", "s3://bucket/x"), ("format", "json")]).contains("s3://"));
    assert!(bad(&[("path", "/x"), ("format", "json"), ("source.path.regex-pattern", "(")]).contains("regex-pattern"));
    let cx = context(vec![table("t", &[("path", "/definitely/not/here"), ("format", "json")])]);
    assert!(matches!(read_rows(&cx, "t"), Err(Error::Io { .. })));
}

#[test]
fn regex_pattern_selects_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "{\"user_id\": 1}\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/b.json"), "{\"user_id\": 2}\n").unwrap();
    std::fs::write(dir.path().join("c.txt"), "{\"user_id\": 3}\n").unwrap();
    let root = path_str(dir.path());
    let cx = context(vec![table("t", &[("path", &root), ("format", "json")])]);
    assert_eq!(read_rows(&cx, "t").unwrap().len(), 3, "nested folders are read too");
    let cx =
        context(vec![table("t", &[("path", &root), ("format", "json"), ("source.path.regex-pattern", ".*\\.json")])]);
    let ids: Vec<i64> = read_rows(&cx, "t").unwrap().iter().map(|r| r.user_id.unwrap()).collect();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn a_failed_run_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.json");
    let opts = table("t", &[("path", &path_str(&file)), ("format", "json")]);
    let mut sink = filesystem::sink::<Click>(&opts, &COLUMNS).unwrap();
    sink.write_batch(&mut clicks()).unwrap();
    assert!(visible_files(dir.path()).is_empty());
    drop(sink);
    assert!(all_files(dir.path()).is_empty(), "{:?}", all_files(dir.path()));
    // A run without rows still produces its (empty) file.
    let mut sink = filesystem::sink::<Click>(&opts, &COLUMNS).unwrap();
    sink.flush().unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
    // Rows written after a flush extend the single file.
    let mut sink = filesystem::sink::<Click>(&opts, &COLUMNS).unwrap();
    sink.write_batch(&mut clicks()[..1].to_vec()).unwrap();
    sink.flush().unwrap();
    sink.write_batch(&mut clicks()[1..].to_vec()).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
    sink.flush().unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);
    assert_eq!(all_files(dir.path()), vec!["out.json"]);
}

// ------------------------------------------------------------------------------------------
// print and blackhole
// ------------------------------------------------------------------------------------------

#[test]
fn print_writes_flink_rows() {
    #[derive(Serialize)]
    struct Inner {
        x: Option<i32>,
        y: Option<Str>,
    }
    #[derive(Serialize)]
    struct Out {
        id: Option<i64>,
        name: Option<Str>,
        ts: Option<Timestamp>,
        price: Option<Decimal>,
        d: Option<f64>,
        f: Option<f32>,
        tags: Option<Vec<Option<Str>>>,
        nested: Option<Inner>,
        day: Option<Date>,
    }
    let columns = [
        Column { name: "id", ty: ColumnType::BigInt, nullable: true },
        Column { name: "name", ty: ColumnType::Varchar(100), nullable: true },
        Column { name: "ts", ty: ColumnType::Timestamp(3), nullable: true },
        Column { name: "price", ty: ColumnType::Decimal { precision: 10, scale: 2 }, nullable: true },
        Column { name: "d", ty: ColumnType::Double, nullable: true },
        Column { name: "f", ty: ColumnType::Float, nullable: true },
        Column { name: "tags", ty: ColumnType::Other, nullable: true },
        Column { name: "nested", ty: ColumnType::Other, nullable: true },
        Column { name: "day", ty: ColumnType::Date, nullable: true },
    ];
    let rows = vec![
        Out {
            id: Some(1),
            name: Some("alice, bob".into()),
            ts: Some(ts("2024-01-01 10:00:00")),
            price: Some(dec("3")),
            d: Some(1.0),
            f: Some(0.1),
            tags: Some(vec![Some("a".into()), None]),
            nested: Some(Inner { x: Some(1), y: None }),
            day: Some(Date(19_723)),
        },
        Out {
            id: None,
            name: None,
            ts: None,
            price: None,
            d: Some(1e-5),
            f: None,
            tags: None,
            nested: None,
            day: None,
        },
    ];
    let opts = table("out", &[("print-identifier", "job")]);
    let mut sink = print::sink_to(&opts, &columns, Vec::new()).unwrap();
    Sink::<Out>::write_batch(&mut sink, &mut rows.into_iter().collect()).unwrap();
    assert_eq!(
        String::from_utf8(sink.into_inner()).unwrap(),
        "job> +I[1, alice, bob, 2024-01-01 10:00:00.000, 3.00, 1.0, 0.1, [a, null], (1, null), 2024-01-01]\n\
         job> +I[null, null, null, null, 1.0E-5, null, null, null, null]\n"
    );
    let mut plain = print::sink_to(&table("out", &[]), &[], Vec::new()).unwrap();
    Sink::<(i32, Str)>::write_batch(&mut plain, &mut vec![(1, "x".into())]).unwrap();
    assert_eq!(String::from_utf8(plain.into_inner()).unwrap(), "+I[1, x]\n");
    assert!(print::sink::<Out>(&table("out", &[("standard-error", "maybe")]), &columns).is_err());
}

#[test]
fn blackhole_drops_rows() {
    let mut sink = blackhole::sink::<Click>();
    let mut rows = clicks();
    sink.write_batch(&mut rows).unwrap();
    assert!(rows.is_empty());
    sink.flush().unwrap();
}

// ------------------------------------------------------------------------------------------
// datagen
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct Gen {
    id: Option<i32>,
    small: Option<i16>,
    name: Option<Str>,
    price: Option<Decimal>,
    ratio: Option<f64>,
    ts: Option<Timestamp>,
    flag: Option<bool>,
    bytes: Option<Vec<u8>>,
    label: Option<Str>,
}

const GEN_COLUMNS: [Column; 9] = [
    Column { name: "id", ty: ColumnType::Int, nullable: false },
    Column { name: "small", ty: ColumnType::SmallInt, nullable: true },
    Column { name: "name", ty: ColumnType::Varchar(2147483647), nullable: true },
    Column { name: "price", ty: ColumnType::Decimal { precision: 6, scale: 2 }, nullable: true },
    Column { name: "ratio", ty: ColumnType::Double, nullable: true },
    Column { name: "ts", ty: ColumnType::Timestamp(3), nullable: true },
    Column { name: "flag", ty: ColumnType::Boolean, nullable: true },
    Column { name: "bytes", ty: ColumnType::Varbinary(8), nullable: true },
    Column { name: "label", ty: ColumnType::Varchar(5), nullable: true },
];

fn generate(pairs: &[(&str, &str)]) -> dfl::Result<Vec<Gen>> {
    let opts = table("g", pairs);
    let cx = context(vec![opts.clone()]);
    let src = datagen::source(&opts, &GEN_COLUMNS, |g: &mut datagen::RowGen| Gen {
        id: g.next(0),
        small: g.next(1),
        name: g.next(2),
        price: g.next(3),
        ratio: g.next(4),
        ts: g.next(5),
        flag: g.next(6),
        bytes: g.next(7),
        label: g.next(8),
    })?;
    let mut rows = Vec::new();
    src.run(&cx, |r| {
        rows.push(r);
        Ok(())
    })?;
    assert_eq!(cx.counters.rows_in.load(Ordering::Relaxed), rows.len() as u64);
    Ok(rows)
}

#[test]
fn datagen_honours_field_options() {
    let rows = generate(&[
        ("rows-per-second", "0"),
        ("fields.id.kind", "sequence"),
        ("fields.id.start", "10"),
        ("fields.id.end", "2009"),
        ("fields.small.min", "-5"),
        ("fields.small.max", "5"),
        ("fields.name.length", "12"),
        ("fields.name.null-rate", "0.5"),
        ("fields.price.min", "1.5"),
        ("fields.price.max", "2"),
        ("fields.ratio.min", "0"),
        ("fields.ratio.max", "1"),
        ("fields.ts.max-past", "1 h"),
        ("fields.bytes.var-len", "true"),
        ("fields.label.kind", "sequence"),
        ("fields.label.start", "1"),
        ("fields.label.end", "100000"),
    ])
    .unwrap();
    assert_eq!(rows.len(), 2000, "bounded by the shortest sequence");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut nulls = 0;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.id, Some(10 + i as i32));
        assert_eq!(r.label.as_deref(), Some((1 + i).to_string().as_str()));
        assert!((-5..=5).contains(&r.small.unwrap()));
        match &r.name {
            None => nulls += 1,
            Some(n) => assert!(n.len() == 12 && n.chars().all(|c| c.is_ascii_hexdigit()), "{n}"),
        }
        let p = r.price.unwrap();
        assert!(p >= dec("1.5") && p <= dec("2") && p.scale() == 2, "{p}");
        assert!((0.0..=1.0).contains(&r.ratio.unwrap()));
        let ms = r.ts.unwrap().millis();
        assert!(ms <= now + 1000 && ms >= now - 3_600_000 - 60_000, "{ms} vs {now}");
        let b = r.bytes.as_ref().unwrap();
        assert!((1..=8).contains(&b.len()));
    }
    assert!((800..1200).contains(&nulls), "null-rate 0.5 gave {nulls} NULLs of 2000");
    assert!(rows.iter().any(|r| r.small == Some(-5)) && rows.iter().any(|r| r.small == Some(5)));
}

#[test]
fn datagen_number_of_rows_seed_and_pace() {
    let opts = [("number-of-rows", "500"), ("rows-per-second", "0"), ("seed", "42")];
    let a = generate(&opts).unwrap();
    let b = generate(&opts).unwrap();
    assert_eq!(a.len(), 500);
    let strip = |rows: &[Gen]| rows.iter().map(|r| Gen { ts: None, ..r.clone() }).collect::<Vec<_>>();
    assert_eq!(strip(&a), strip(&b), "the same seed gives the same rows");
    let c = generate(&[("number-of-rows", "500"), ("rows-per-second", "0"), ("seed", "43")]).unwrap();
    assert_ne!(strip(&a), strip(&c));
    assert!(a.iter().all(|r| r.name.as_ref().unwrap().len() == 100 && r.label.as_ref().unwrap().len() == 5));
    // 300 rows at 1000 rows/s take about 0.3 s.
    let started = std::time::Instant::now();
    assert_eq!(generate(&[("number-of-rows", "300"), ("rows-per-second", "1000")]).unwrap().len(), 300);
    let secs = started.elapsed().as_secs_f64();
    assert!((0.25..1.5).contains(&secs), "{secs} s");
}

#[test]
fn datagen_rejects_bad_options() {
    let err = |pairs: &[(&str, &str)]| generate(pairs).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err(&[("fields.nope.kind", "random")]).contains("fields.nope.kind"));
    assert!(err(&[("fields.id.colour", "red")]).contains("fields.id.colour"));
    assert!(err(&[("fields.id.kind", "sequence"), ("fields.id.start", "1")]).contains("fields.id.end"));
    assert!(
        err(&[("fields.id.kind", "sequence"), ("fields.id.start", "5"), ("fields.id.end", "1")])
            .contains("fields.id.end")
    );
    assert!(err(&[("fields.id.kind", "shuffle")]).contains("fields.id.kind"));
    assert!(err(&[("fields.small.max", "40000")]).contains("fields.small.max"));
    assert!(err(&[("fields.small.min", "3"), ("fields.small.max", "2")]).contains("fields.small.max"));
    assert!(err(&[("fields.name.min", "3")]).contains("fields.name.min"));
    assert!(err(&[("fields.label.length", "6")]).contains("fields.label.length"));
    assert!(err(&[("fields.id.null-rate", "0.1")]).contains("NOT NULL"));
    assert!(err(&[("fields.small.null-rate", "2")]).contains("fields.small.null-rate"));
    assert!(
        err(&[("fields.flag.kind", "sequence"), ("fields.flag.start", "0"), ("fields.flag.end", "1")])
            .contains("fields.flag.kind")
    );
    assert!(err(&[("fields.ts.max-past", "soon")]).contains("fields.ts.max-past"));
    assert!(err(&[("fields.price.max", "10000")]).contains("fields.price.max"));
    assert!(err(&[("rows-per-second", "fast")]).contains("rows-per-second"));
}

#[test]
fn datagen_stops_when_asked() {
    let opts = table("g", &[("rows-per-second", "0")]);
    let cx = context(vec![opts.clone()]);
    let src = datagen::source(&opts, &GEN_COLUMNS[..1], |g: &mut datagen::RowGen| g.next::<i32>(0)).unwrap();
    let mut n = 0u64;
    src.run(&cx, |_| {
        n += 1;
        if n == 5000 {
            cx.request_stop();
        }
        Ok(())
    })
    .unwrap();
    assert!((5000..=6024).contains(&n), "{n}");
}

#[test]
fn a_pipeline_as_generated_code_writes_it() {
    use dfl::pipeline::{SharedSink, Task, run_tasks};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, "{\"user_id\": 1, \"url\": \"a\"}\n{\"user_id\": 2}\n").unwrap();
    let out = format!("{}/out/", path_str(dir.path()));
    let cx = context(vec![
        table("clicks", &[("path", &path_str(&input)), ("format", "json")]),
        table(
            "gen",
            &[
                ("number-of-rows", "3"),
                ("rows-per-second", "0"),
                ("fields.user_id.kind", "sequence"),
                ("fields.user_id.start", "10"),
                ("fields.user_id.end", "20"),
            ],
        ),
        table("out", &[("path", &out), ("format", "csv")]),
    ]);
    let run = |cx: &Context| -> dfl::Result<()> {
        let sink = SharedSink::new(filesystem::sink::<Click>(cx.table("out")?, &COLUMNS)?);
        let (s1, s2) = (sink.clone(), sink.clone());
        let tasks: Vec<Task<'_>> = vec![
            Box::new(move |cx: &Context| {
                let src = filesystem::source::<Click>(cx.table("clicks")?)?;
                let mut w = s1.writer(cx);
                src.run(cx, |row| w.write(row))?;
                w.flush()
            }),
            Box::new(move |cx: &Context| {
                let src = datagen::source(cx.table("gen")?, &COLUMNS, |g: &mut datagen::RowGen| Click {
                    user_id: g.next(0),
                    url: None,
                    ..Default::default()
                })?;
                let mut w = s2.writer(cx);
                src.run(cx, |row| w.write(row))?;
                w.flush()
            }),
        ];
        run_tasks(cx, tasks)?;
        sink.flush()
    };
    run(&cx).unwrap();
    assert_eq!(cx.counters.rows_in.load(Ordering::Relaxed), 5);
    assert_eq!(cx.counters.rows_out.load(Ordering::Relaxed), 5);
    let cx2 = context(vec![table("out", &[("path", &out), ("format", "csv")])]);
    let mut ids: Vec<i64> = read_rows(&cx2, "out").unwrap().iter().map(|r| r.user_id.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 10, 11, 12]);
    let mut printed = print::sink_to(&table("p", &[]), &COLUMNS, Vec::new()).unwrap();
    Sink::<Click>::write_batch(&mut printed, &mut read_rows(&cx2, "out").unwrap()).unwrap();
    let text = String::from_utf8(printed.into_inner()).unwrap();
    assert!(text.contains("+I[1, a, null, null, null, null]\n"), "{text}");
    assert!(text.contains("+I[2, , null, null, null, null]\n"), "CSV reads the empty url as '': {text}");
}
