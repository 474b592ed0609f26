//! The `datagen` connector: rows generated in memory, with Flink's options.
//!
//! * `rows-per-second` (default 10000): the pace, kept in real time by generating rows in
//!   steps of about a hundredth of a second's worth and sleeping between steps. `0`
//!   means as fast as possible (dflc extension; Flink rejects 0).
//! * `number-of-rows`: makes the table bounded; so does any `sequence` column (the
//!   source ends when the shortest sequence ends).
//! * `seed` (dflc extension): makes the values reproducible (default: from the clock).
//!   Timestamps stay relative to the current time.
//! * per column `fields.<name>.…`: `kind` = `random` (default) or `sequence` (`start` and
//!   `end` required: the whole numbers from start to end, for numeric and string columns);
//!   `min` / `max` for numeric columns (default: the type's range for integers, 0 to the
//!   type's largest value for FLOAT, DOUBLE and DECIMAL, as Flink); `length` (default
//!   100, at most the type's length) and `var-len` (lengths from 1 to `length`) for
//!   strings and byte strings (strings are random hex digits, as Flink's), and `length`
//!   as the element count of ARRAY and MAP columns; `max-past` for TIMESTAMP, DATE and
//!   TIME columns (random instants between now minus max-past and now); `null-rate` (0
//!   to 1) for any nullable column.
//!
//! ROW columns cannot be generated.

use crate::checkpoint::{Barriers, decode};
use crate::connectors::format::{Column, ColumnType};
use crate::connectors::{Source, SourceEvent};
use crate::error::Result;
use crate::options::TableOptions;
use crate::pipeline::Context;
use crate::types::{Date, Decimal, Str, Time, Timestamp};
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The generator the generated row builder draws values from.
pub struct RowGen {
    fields: Vec<FieldGen>,
    rng: Rng,
}

impl RowGen {
    /// The next value of column `column` (its position in `COLUMNS`): NULL at the
    /// column's `null-rate`, else a value of the column's kind.
    #[inline]
    pub fn next<T: Generate>(&mut self, column: usize) -> Option<T> {
        let field = &mut self.fields[column];
        if field.null_rate > 0.0 && self.rng.unit() < field.null_rate {
            field.sequence_next();
            return None;
        }
        Some(T::generate(field, &mut self.rng))
    }
}

/// A value type datagen can produce.
pub trait Generate: Sized {
    /// A value for `field` (NULLs are decided before).
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self;
}

/// The configuration and state of one column's generator.
#[derive(Debug, Clone)]
pub struct FieldGen {
    ty: ColumnType,
    null_rate: f64,
    /// The next and last values of a sequence.
    sequence: Option<(i128, i128)>,
    /// `min`/`max` of integer columns, and of DECIMAL columns in units of the scale.
    int_range: Option<(i128, i128)>,
    float_range: Option<(f64, f64)>,
    length: usize,
    var_len: bool,
    max_past_ms: i64,
    scratch: String,
}

/// A fast pseudo-random generator (xoshiro256**), and the time random instants are
/// relative to.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
    now_ms: i64,
}

impl Rng {
    fn seeded(mut seed: u64) -> Rng {
        let mut split = || {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng { s: [split(), split(), split(), split()], now_ms: crate::time::epoch_ms() }
    }

    /// 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) (`n` > 0).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [lo, hi].
    fn between(&mut self, lo: i128, hi: i128) -> i128 {
        let span = hi.wrapping_sub(lo) as u128 + 1;
        if span <= u128::from(u64::MAX) {
            lo + i128::from(self.below(span as u64))
        } else {
            let r = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
            lo.wrapping_add((r % span) as i128)
        }
    }
}

const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

impl FieldGen {
    fn new(ty: ColumnType) -> FieldGen {
        let length = match ty {
            ColumnType::Char(n) | ColumnType::Varchar(n) | ColumnType::Binary(n) | ColumnType::Varbinary(n) => {
                (n as usize).min(100)
            }
            _ => 100,
        };
        FieldGen {
            ty,
            null_rate: 0.0,
            sequence: None,
            int_range: None,
            float_range: None,
            length,
            var_len: false,
            max_past_ms: 0,
            scratch: String::new(),
        }
    }

    /// Takes the next value of a sequence column.
    #[inline]
    fn sequence_next(&mut self) -> Option<i128> {
        let (next, end) = self.sequence.as_mut()?;
        let v = *next;
        if *next < *end {
            *next += 1;
        }
        Some(v)
    }

    /// An integer: the sequence's next, or uniform in `min..=max` (default `lo..=hi`).
    pub fn int(&mut self, rng: &mut Rng, lo: i128, hi: i128) -> i128 {
        if let Some(v) = self.sequence_next() {
            return v;
        }
        let (lo, hi) = self.int_range.unwrap_or((lo, hi));
        rng.between(lo, hi)
    }

    /// A floating-point number: the sequence's next, or uniform in `min..=max`
    /// (default `0..=largest`).
    pub fn float(&mut self, rng: &mut Rng, largest: f64) -> f64 {
        if let Some(v) = self.sequence_next() {
            return v as f64;
        }
        let (lo, hi) = self.float_range.unwrap_or((0.0, largest));
        let u = rng.unit();
        lo * (1.0 - u) + hi * u
    }

    fn text_length(&self, rng: &mut Rng) -> usize {
        if self.var_len && self.length > 0 { 1 + rng.below(self.length as u64) as usize } else { self.length }
    }

    /// A random instant between now minus `max-past` and now, in milliseconds, cut to
    /// the column's precision.
    pub fn instant_ms(&mut self, rng: &mut Rng) -> i64 {
        let ms = rng.now_ms - rng.between(0, i128::from(self.max_past_ms)) as i64;
        match self.ty {
            ColumnType::Timestamp(0) | ColumnType::TimestampLtz(0) | ColumnType::Time(0) => ms - ms.rem_euclid(1000),
            _ => ms,
        }
    }
}

macro_rules! generate_int {
    ($($ty:ty),*) => {$(
        impl Generate for $ty {
            #[inline]
            fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
                field.int(rng, i128::from(<$ty>::MIN), i128::from(<$ty>::MAX)) as $ty
            }
        }
    )*};
}

generate_int!(i8, i16, i32, i64);

impl Generate for bool {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        field.sequence_next().map_or(rng.next_u64() & 1 == 1, |v| v != 0)
    }
}

impl Generate for f32 {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        field.float(rng, f64::from(f32::MAX)) as f32
    }
}

impl Generate for f64 {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        field.float(rng, f64::MAX)
    }
}

impl Generate for Decimal {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        let (precision, scale) = match field.ty {
            ColumnType::Decimal { precision, scale } => (precision.min(38), scale.min(precision).min(38)),
            _ => (18, 0),
        };
        if let Some(v) = field.sequence_next() {
            return Decimal::new(v.saturating_mul(POW10[usize::from(scale)]), scale);
        }
        let (lo, hi) = field.int_range.unwrap_or((0, POW10[usize::from(precision)] - 1));
        Decimal::new(rng.between(lo, hi), scale)
    }
}

impl Generate for Str {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        let mut text = std::mem::take(&mut field.scratch);
        text.clear();
        if let Some(v) = field.sequence_next() {
            use std::fmt::Write;
            let _ = write!(text, "{v}");
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut left = field.text_length(rng);
            while left > 0 {
                let mut bits = rng.next_u64();
                for _ in 0..left.min(16) {
                    text.push(char::from(HEX[(bits & 15) as usize]));
                    bits >>= 4;
                }
                left = left.saturating_sub(16);
            }
        }
        let value = Str::new(&text);
        field.scratch = text;
        value
    }
}

impl Generate for String {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        Str::generate(field, rng).to_string()
    }
}

impl Generate for Vec<u8> {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        let n = field.text_length(rng);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let bits = rng.next_u64().to_le_bytes();
            out.extend_from_slice(&bits[..(n - out.len()).min(8)]);
        }
        out
    }
}

impl Generate for Timestamp {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        Timestamp::from_millis(field.instant_ms(rng))
    }
}

impl Generate for Date {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        Timestamp::from_millis(field.instant_ms(rng)).date()
    }
}

impl Generate for Time {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        Timestamp::from_millis(field.instant_ms(rng)).time()
    }
}

/// ARRAY columns: `length` random elements (elements with default settings).
impl<T: Generate> Generate for Vec<Option<T>> {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        let mut element = FieldGen::new(ColumnType::Other);
        (0..field.length).map(|_| Some(T::generate(&mut element, rng))).collect()
    }
}

/// MAP columns: `length` random entries.
impl<K: Generate, V: Generate> Generate for Vec<(K, Option<V>)> {
    fn generate(field: &mut FieldGen, rng: &mut Rng) -> Self {
        let mut element = FieldGen::new(ColumnType::Other);
        (0..field.length).map(|_| (K::generate(&mut element, rng), Some(V::generate(&mut element, rng)))).collect()
    }
}

/// A `datagen` table: rows built by the generated code from a [`RowGen`]; see [`source`].
pub struct DatagenSource<R, F> {
    row_gen: RowGen,
    build: F,
    rows_per_second: u64,
    rows: Option<u64>,
    /// Rows generated before the checkpoint restored (generated again and dropped, so
    /// that the rows after them are the same).
    resume: u64,
    /// The table (its rows are counted for it).
    table: String,
    _row: PhantomData<fn() -> R>,
}

impl<R, F> DatagenSource<R, F> {
    /// How many rows it generates, if bounded.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }
}

/// The source of a `datagen` table with `columns`; `build` makes a row from a
/// [`RowGen`], drawing column `i` with `g.next(i)`. Checks every option.
pub fn source<R, F: FnMut(&mut RowGen) -> R>(
    opts: &TableOptions,
    columns: &[Column],
    build: F,
) -> Result<DatagenSource<R, F>> {
    let mut fields: Vec<FieldGen> = columns.iter().map(|c| FieldGen::new(c.ty)).collect();
    for (rest, _) in opts.with_prefix("fields.") {
        let key = format!("fields.{rest}");
        let known = rest.rsplit_once('.').is_some_and(|(name, option)| {
            columns.iter().any(|c| c.name == name)
                && ["kind", "min", "max", "max-past", "length", "var-len", "start", "end", "null-rate"]
                    .contains(&option)
        });
        if !known {
            let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
            let msg = format!("not a datagen option of a column (columns: {})", names.join(", "));
            return Err(opts.error(&key, msg));
        }
    }
    let mut bound = opts.u64("number-of-rows")?;
    for (column, field) in columns.iter().zip(&mut fields) {
        configure(opts, column, field)?;
        if let Some((start, end)) = field.sequence {
            let count = u64::try_from(end - start + 1).unwrap_or(u64::MAX);
            bound = Some(bound.map_or(count, |b| b.min(count)));
        }
    }
    let seed = match opts.u64("seed")? {
        Some(seed) => seed,
        None => {
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id()).rotate_left(32)
        }
    };
    Ok(DatagenSource {
        row_gen: RowGen { fields, rng: Rng::seeded(seed) },
        build,
        rows_per_second: opts.u64("rows-per-second")?.unwrap_or(10_000),
        rows: bound,
        resume: 0,
        table: opts.table.clone(),
        _row: PhantomData,
    })
}

/// Reads and checks the `fields.<column>.*` options of one column.
fn configure(opts: &TableOptions, column: &Column, field: &mut FieldGen) -> Result<()> {
    use ColumnType as T;
    let key = |option: &str| format!("fields.{}.{option}", column.name);
    let get = |option: &str| opts.get(&key(option)).map(str::trim);
    let ty = column.ty;
    let integer = matches!(ty, T::TinyInt | T::SmallInt | T::Int | T::BigInt);
    let numeric = integer || matches!(ty, T::Float | T::Double | T::Decimal { .. });
    let text = matches!(ty, T::Char(_) | T::Varchar(_) | T::Binary(_) | T::Varbinary(_));
    let temporal = matches!(ty, T::Date | T::Time(_) | T::Timestamp(_) | T::TimestampLtz(_));
    let other = ty == T::Other;
    let only = |option: &str, ok: bool, what: &str| -> Result<()> {
        if get(option).is_some() && !ok {
            return Err(opts.error(&key(option), format!("applies to {what} columns only, not {ty:?}")));
        }
        Ok(())
    };
    only("min", numeric, "numeric")?;
    only("max", numeric, "numeric")?;
    only("var-len", text, "string and binary")?;
    only("length", text || other, "string, binary, ARRAY and MAP")?;
    only("max-past", temporal, "TIMESTAMP, DATE and TIME")?;

    let (type_lo, type_hi): (i128, i128) = match ty {
        T::TinyInt => (i8::MIN.into(), i8::MAX.into()),
        T::SmallInt => (i16::MIN.into(), i16::MAX.into()),
        T::Int => (i32::MIN.into(), i32::MAX.into()),
        T::BigInt => (i64::MIN.into(), i64::MAX.into()),
        T::Decimal { precision, scale } => {
            let digits = POW10[usize::from(precision.min(38))];
            let units = digits / POW10[usize::from(scale.min(precision).min(38))];
            (-units, units)
        }
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    let whole = |option: &str| -> Result<Option<i128>> {
        get(option)
            .map(|v| {
                let n: i128 =
                    v.parse().map_err(|_| opts.error(&key(option), format!("'{v}' is not a whole number")))?;
                if n < type_lo || n > type_hi {
                    return Err(opts.error(&key(option), format!("{n} is out of range for {ty:?}")));
                }
                Ok(n)
            })
            .transpose()
    };

    match get("kind") {
        None => {}
        Some(k) if k.eq_ignore_ascii_case("random") => {}
        Some(k) if k.eq_ignore_ascii_case("sequence") => {
            if !(numeric || matches!(ty, T::Char(_) | T::Varchar(_))) {
                return Err(
                    opts.error(&key("kind"), format!("a sequence needs a numeric or string column, not {ty:?}"))
                );
            }
            let start = whole("start")?.ok_or_else(|| opts.error(&key("start"), "is required for a sequence"))?;
            let end = whole("end")?.ok_or_else(|| opts.error(&key("end"), "is required for a sequence"))?;
            if start > end {
                return Err(opts.error(&key("end"), format!("{end} is smaller than the start {start}")));
            }
            field.sequence = Some((start, end));
        }
        Some(k) => return Err(opts.error(&key("kind"), format!("'{k}' is not 'random' or 'sequence'"))),
    }
    for option in ["start", "end"] {
        if get(option).is_some() && field.sequence.is_none() {
            return Err(opts.error(&key(option), "applies to 'sequence' columns only"));
        }
    }

    match ty {
        T::Float | T::Double => {
            let float = |option: &str| -> Result<Option<f64>> {
                get(option)
                    .map(|v| v.parse::<f64>().map_err(|_| opts.error(&key(option), format!("'{v}' is not a number"))))
                    .transpose()
            };
            let largest = if ty == T::Float { f64::from(f32::MAX) } else { f64::MAX };
            let (lo, hi) = (float("min")?, float("max")?);
            if lo.is_some() || hi.is_some() {
                field.float_range = Some((lo.unwrap_or(0.0), hi.unwrap_or(largest)));
            }
        }
        T::Decimal { precision, scale } => {
            let units = |option: &str| -> Result<Option<i128>> {
                get(option)
                    .map(|v| {
                        let bad = |m: String| opts.error(&key(option), m);
                        let d: Decimal = v.parse().map_err(bad)?;
                        let d = d.rescale(scale).ok_or_else(|| bad(format!("'{v}' is out of range for {ty:?}")))?;
                        if d.exceeds(precision) {
                            return Err(bad(format!("'{v}' is out of range for {ty:?}")));
                        }
                        Ok(d.units())
                    })
                    .transpose()
            };
            let (lo, hi) = (units("min")?, units("max")?);
            if lo.is_some() || hi.is_some() {
                let largest = POW10[usize::from(precision.min(38))] - 1;
                field.int_range = Some((lo.unwrap_or(0), hi.unwrap_or(largest)));
            }
        }
        _ if integer => {
            let (lo, hi) = (whole("min")?, whole("max")?);
            if lo.is_some() || hi.is_some() {
                field.int_range = Some((lo.unwrap_or(type_lo), hi.unwrap_or(type_hi)));
            }
        }
        _ => {}
    }
    if let Some((lo, hi)) = field.int_range
        && lo > hi
    {
        return Err(opts.error(&key("max"), "is smaller than 'min'"));
    }
    if let Some((lo, hi)) = field.float_range
        && lo > hi
    {
        return Err(opts.error(&key("max"), "is smaller than 'min'"));
    }

    if let Some(length) = opts.u64(&key("length"))? {
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if let T::Char(n) | T::Varchar(n) | T::Binary(n) | T::Varbinary(n) = ty
            && length > n as usize
        {
            return Err(opts.error(&key("length"), format!("{length} is longer than the column's type allows ({n})")));
        }
        if other && length > 100_000 {
            return Err(opts.error(&key("length"), "is too large for a collection"));
        }
        field.length = length;
    }
    field.var_len = opts.bool(&key("var-len"))?.unwrap_or(false);
    if let Some(ms) = opts.duration_ms(&key("max-past"))? {
        field.max_past_ms = i64::try_from(ms).unwrap_or(i64::MAX);
    }
    if let Some(rate) = opts.f64(&key("null-rate"))? {
        if !(0.0..=1.0).contains(&rate) {
            return Err(opts.error(&key("null-rate"), format!("{rate} is not between 0 and 1")));
        }
        if rate > 0.0 && !column.nullable {
            return Err(opts.error(&key("null-rate"), "the column is NOT NULL"));
        }
        field.null_rate = rate;
    }
    Ok(())
}

impl<R, F: FnMut(&mut RowGen) -> R> Source for DatagenSource<R, F> {
    type Row = R;

    /// One split, 0, which ends after the last row of a bounded table; idle while pacing.
    fn run_events<E: FnMut(SourceEvent<R>) -> Result<()>>(mut self, cx: &Context, mut emit: E) -> Result<()> {
        let rate = self.rows_per_second;
        // About 10 ms worth of rows per step, at most 1024.
        let step = if rate == 0 { 1024 } else { (rate / 100).clamp(1, 1024) };
        let started = Instant::now();
        let mut done = self.resume;
        for _ in 0..done {
            (self.build)(&mut self.row_gen);
        }
        let mut barriers = Barriers::new(cx);
        let barrier = |done: u64, id: u64, barriers: &mut Barriers<'_>, emit: &mut E| barriers.emit(id, &done, emit);
        let meter = cx.metrics().source(&self.table);
        let count = |n: u64| {
            cx.counters.rows_in.fetch_add(n, Ordering::Relaxed);
            meter.add_records(n);
        };
        emit(SourceEvent::SplitStart(0))?;
        loop {
            let n = self.rows.map_or(step, |total| total.saturating_sub(done).min(step));
            if n == 0 {
                return emit(SourceEvent::SplitEnd(0));
            }
            self.row_gen.rng.now_ms = crate::time::epoch_ms();
            for i in 0..n {
                if let Err(e) = emit(SourceEvent::Row(0, (self.build)(&mut self.row_gen))) {
                    count(i);
                    return Err(e);
                }
                if let Some(id) = barriers.due() {
                    barrier(done + i + 1, id, &mut barriers, &mut emit)?;
                }
            }
            done += n;
            count(n);
            if cx.stopped() {
                return match barriers.at_stop() {
                    Some(id) => barrier(done, id, &mut barriers, &mut emit),
                    None => Ok(()),
                };
            }
            if rate > 0 {
                let due = started + Duration::from_secs_f64((done - self.resume) as f64 / rate as f64);
                loop {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    if cx.stopped() {
                        return match barriers.at_stop() {
                            Some(id) => barrier(done, id, &mut barriers, &mut emit),
                            None => Ok(()),
                        };
                    }
                    emit(SourceEvent::Idle)?;
                    if let Some(id) = barriers.due_idle() {
                        barrier(done, id, &mut barriers, &mut emit)?;
                    }
                    std::thread::sleep((due - now).min(Duration::from_millis(100)));
                }
            }
        }
    }

    /// Rows generated before the checkpoint: they are generated again (and dropped).
    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let mut input = position;
        self.resume = decode(&mut input)?;
        Ok(())
    }
}
