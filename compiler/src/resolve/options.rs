//! Checking a table's `WITH (…)` options against its connector and formats, and `SET`
//! keys against the settings dflc knows.

use super::Resolver;
use crate::ast::{StrLit, TableOption};
use crate::catalog::connectors::{self, ConnectorSpec, OptionType, Role};
use crate::diagnostic::{Code, Diagnostic, did_you_mean, list_names};
use crate::span::Span;
use std::collections::BTreeMap;

/// The options of a table after validation: keys mapped from Flink's legacy
/// `connector.type` form, duplicates removed.
pub struct Checked {
    pub connector: &'static ConnectorSpec,
    pub options: BTreeMap<String, String>,
}

/// Flink's pre-1.11 option keys and their current names.
fn modern_key(key: &str, format: Option<&str>) -> Option<String> {
    match key {
        "connector.type" => Some("connector".into()),
        "format.type" => Some("format".into()),
        "update-mode" | "connector.version" | "connector.property-version" | "format.property-version" => None,
        _ => {
            if let Some(rest) = key.strip_prefix("connector.") {
                let rest = rest.strip_prefix("properties.").map_or(rest.to_string(), |p| format!("properties.{p}"));
                Some(rest)
            } else if let Some(rest) = key.strip_prefix("format.") {
                Some(format!("{}.{rest}", format.unwrap_or("format")))
            } else {
                Some(key.to_string())
            }
        }
    }
}

/// Validates `options` of table `table` (defined at `span`). Reports every problem;
/// returns `None` if the connector itself is missing or unknown.
pub fn check_table(
    r: &mut Resolver,
    table: &str,
    span: Span,
    options: &[TableOption],
    columns: &[&str],
) -> Option<Checked> {
    let legacy = options.iter().any(|o| o.key.value == "connector.type");
    let legacy_format = options.iter().find(|o| o.key.value == "format.type").map(|o| o.value.value.clone());
    let mut map: BTreeMap<String, &TableOption> = BTreeMap::new();
    for o in options {
        let key = if legacy { modern_key(&o.key.value, legacy_format.as_deref()) } else { Some(o.key.value.clone()) };
        let Some(key) = key else { continue };
        if let Some(first) = map.get(&key) {
            r.report(
                Diagnostic::error(Code::InvalidOptionValue, format!("option '{key}' is given twice"))
                    .at(o.key.span, "given again here")
                    .also(first.key.span, "first given here"),
            );
            continue;
        }
        map.insert(key, o);
    }
    let Some(connector_opt) = map.get("connector") else {
        r.report(
            Diagnostic::error(Code::MissingConnector, format!("table `{table}` has no 'connector' option"))
                .at(span, "no connector")
                .with_help(format!(
                    "add WITH ('connector' = '…'); connectors are {}",
                    list_names(&connectors::CONNECTORS.iter().map(|c| c.name).collect::<Vec<_>>())
                )),
        );
        return None;
    };
    let name = connector_opt.value.value.as_str();
    let Some(spec) = connectors::connector(name) else {
        let names: Vec<&str> = connectors::CONNECTORS.iter().map(|c| c.name).collect();
        let mut d = Diagnostic::error(Code::UnknownConnector, format!("unknown connector '{name}'"))
            .at(connector_opt.value.span, "not a connector dflc has");
        d = match did_you_mean(name, names.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean '{s}'? connectors are {}", list_names(&names))),
            None => d.with_help(format!("connectors are {}", list_names(&names))),
        };
        r.report(d);
        return None;
    };

    // Which formats the table uses, so that `json.*` options are checked against json.
    let mut formats: Vec<(String, &'static connectors::FormatSpec)> = Vec::new();
    if spec.takes_format {
        for key in ["format", "key.format", "value.format"] {
            let Some(o) = map.get(key) else { continue };
            let fmt = o.value.value.as_str();
            match connectors::format(fmt) {
                Some(f) => formats.push((key.trim_end_matches("format").to_string(), f)),
                None => {
                    let names: Vec<&str> = connectors::FORMATS.iter().map(|f| f.name).collect();
                    let mut d = Diagnostic::error(Code::UnknownFormat, format!("unknown format '{fmt}'"))
                        .at(o.value.span, "not a format dflc has");
                    if let Some(s) = did_you_mean(fmt, names.iter().copied()) {
                        d = d.with_help(format!("did you mean '{s}'? formats are {}", list_names(&names)));
                    } else {
                        d = d.with_help(format!("formats are {}", list_names(&names)));
                    }
                    r.report(d);
                }
            }
        }
    }

    for (key, o) in &map {
        if key == "connector" {
            continue;
        }
        let source_option =
            || can_read(spec).then(|| connectors::find_option(connectors::SOURCE_OPTIONS, key)).flatten();
        if let Some(opt) = connectors::find_option(spec.options, key).or_else(source_option) {
            // `fields.#.kind`: the `#` must be one of the table's columns.
            if let Some((prefix, suffix)) = opt.key.split_once('#') {
                let name = &key[prefix.len()..key.len() - suffix.len()];
                if !columns.contains(&name) {
                    let mut d = Diagnostic::error(
                        Code::UnknownOption,
                        format!("option '{key}' names `{name}`, which is not a column of `{table}`"),
                    )
                    .at(o.key.span, "no such column");
                    if let Some(s) = did_you_mean(name, columns.iter().copied()) {
                        d = d.with_help(format!("did you mean '{prefix}{s}{suffix}'?"));
                    }
                    r.report(d);
                    continue;
                }
            }
            check_value(r, key, opt.ty, &o.value);
            continue;
        }
        // `[key.|value.]<format>.<option>`
        let format_option = formats.iter().find_map(|(prefix, f)| {
            let rest = key.strip_prefix(prefix.as_str())?.strip_prefix(f.name)?.strip_prefix('.')?;
            Some((f, rest))
        });
        match format_option {
            Some((f, rest)) => match connectors::find_option(f.options, rest) {
                Some(opt) => check_value(r, key, opt.ty, &o.value),
                None => {
                    let valid: Vec<String> = f.options.iter().map(|x| format!("{}.{}", f.name, x.key)).collect();
                    unknown_option(r, key, &o.key, &format!("format '{}'", f.name), &valid);
                }
            },
            None => {
                let mut valid: Vec<String> = spec.options.iter().map(|x| x.key.to_string()).collect();
                if can_read(spec) {
                    valid.extend(connectors::SOURCE_OPTIONS.iter().map(|x| x.key.to_string()));
                }
                for (prefix, f) in &formats {
                    valid.extend(f.options.iter().map(|x| format!("{prefix}{}.{}", f.name, x.key)));
                }
                unknown_option(r, key, &o.key, &format!("connector '{}'", spec.name), &valid);
            }
        }
    }

    let missing: Vec<&str> =
        spec.options.iter().filter(|o| o.required && !map.contains_key(o.key)).map(|o| o.key).collect();
    for key in missing {
        let doc = connectors::find_option(spec.options, key).map(|o| o.doc).unwrap_or_default();
        r.report(
            Diagnostic::error(Code::MissingOption, format!("connector '{}' needs the option '{key}'", spec.name))
                .at(connector_opt.value.span, format!("'{key}' is missing"))
                .with_help(format!("add '{key}' = '…' to the WITH clause: {doc}")),
        );
    }
    for group in spec.one_of_required {
        if !group.iter().any(|k| map.contains_key(*k)) {
            r.report(
                Diagnostic::error(
                    Code::MissingOption,
                    format!("connector '{}' needs one of the options {}", spec.name, list_names(group)),
                )
                .at(connector_opt.value.span, "none of them is given"),
            );
        }
    }
    let options = map.into_iter().map(|(k, o)| (k, o.value.value.clone())).collect();
    Some(Checked { connector: spec, options })
}

fn check_value(r: &mut Resolver, key: &str, ty: OptionType, value: &StrLit) {
    if let Err(expected) = connectors::check_value(ty, &value.value) {
        r.report(
            Diagnostic::error(Code::InvalidOptionValue, format!("invalid value '{}' for option '{key}'", value.value))
                .at(value.span, format!("expected {expected}")),
        );
    }
}

fn unknown_option(r: &mut Resolver, key: &str, at: &StrLit, owner: &str, valid: &[String]) {
    let mut d = Diagnostic::error(Code::UnknownOption, format!("unknown option '{key}' for {owner}"))
        .at(at.span, "not an option of this table");
    let shown: Vec<&str> = valid.iter().map(String::as_str).collect();
    d = match did_you_mean(key, shown.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean '{s}'?")),
        None => {
            let mut list: Vec<&str> = shown.clone();
            list.truncate(30);
            let more = if shown.len() > 30 { format!(" (and {} more)", shown.len() - 30) } else { String::new() };
            d.with_help(format!("valid options are {}{more}", list_names(&list)))
        }
    };
    r.report(d);
}

/// Whether a connector can be read (`FROM`) / written (`INSERT INTO`).
pub fn can_read(spec: &ConnectorSpec) -> bool {
    matches!(spec.role, Role::Source | Role::Both)
}

pub fn can_write(spec: &ConnectorSpec) -> bool {
    matches!(spec.role, Role::Sink | Role::Both)
}

/// Pipeline settings dflc reads, with the type of their values.
pub const SETTINGS: &[(&str, OptionType)] = &[
    ("table.exec.state.ttl", OptionType::Duration),
    ("parallelism.default", OptionType::Integer),
    ("scale-out.mode", OptionType::Enum(&["partition", "none"])),
    ("scale-out.state.dir", OptionType::String),
    ("pipeline.name", OptionType::String),
    ("execution.runtime-mode", OptionType::Enum(&["streaming", "batch"])),
    ("execution.checkpointing.interval", OptionType::Duration),
    ("execution.checkpointing.mode", OptionType::Enum(&["EXACTLY_ONCE", "AT_LEAST_ONCE"])),
    ("execution.checkpointing.timeout", OptionType::Duration),
    ("execution.checkpointing.min-pause", OptionType::Duration),
    ("state.backend", OptionType::Enum(&["rocksdb", "memory", "hashmap"])),
    ("state.backend.type", OptionType::Enum(&["rocksdb", "memory", "hashmap"])),
    ("state.checkpoints.dir", OptionType::String),
    ("state.savepoints.dir", OptionType::String),
    ("state.checkpoints.num-retained", OptionType::Integer),
    ("table.exec.source.idle-timeout", OptionType::Duration),
    ("table.local-time-zone", OptionType::String),
    ("table.exec.sink.not-null-enforcer", OptionType::Enum(&["ERROR", "DROP"])),
    ("table.exec.mini-batch.enabled", OptionType::Boolean),
    ("table.exec.mini-batch.allow-latency", OptionType::Duration),
    ("table.exec.mini-batch.size", OptionType::Integer),
    ("table.optimizer.agg-phase-strategy", OptionType::Enum(&["AUTO", "ONE_PHASE", "TWO_PHASE"])),
    ("table.exec.emit.late-fire.enabled", OptionType::Boolean),
    ("pipeline.late-data.sink", OptionType::String),
    ("metrics.addr", OptionType::String),
    ("metrics.address", OptionType::String),
    ("sql-client.execution.result-mode", OptionType::Enum(&["table", "changelog", "tableau"])),
];

/// `SET 'key' = 'value'`: warns about keys dflc does not know, errors on bad values.
pub fn check_setting(r: &mut Resolver, key: &StrLit, value: &StrLit) {
    match SETTINGS.iter().find(|(k, _)| *k == key.value) {
        Some((k, ty)) => {
            check_value(r, k, *ty, value);
            if *k == "parallelism.default"
                && let Ok(n) = value.value.trim().parse::<i64>()
                && !(1..=128).contains(&n)
            {
                r.report(
                    Diagnostic::error(
                        Code::InvalidOptionValue,
                        format!("invalid value '{}' for option '{k}'", value.value),
                    )
                    .at(value.span, "expected a parallelism from 1 to 128 (the key groups)"),
                );
            }
        }
        None => {
            let mut d =
                Diagnostic::warning(Code::UnknownSetting, format!("dflc does not use the setting '{}'", key.value))
                    .at(key.span, "ignored");
            if let Some(s) = did_you_mean(&key.value, SETTINGS.iter().map(|(k, _)| *k)) {
                d = d.with_help(format!("did you mean '{s}'?"));
            }
            r.report(d);
        }
    }
}
