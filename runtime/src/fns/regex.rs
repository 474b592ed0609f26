//! Java-flavoured regular expressions (`java.util.regex` syntax), for REGEXP,
//! REGEXP_EXTRACT, REGEXP_REPLACE and STR_TO_MAP.
//!
//! A small backtracking engine: the pattern compiles once into a program of
//! instructions, which runs with an explicit stack and a visited set of (instruction,
//! position) states, so that a search takes time linear in the input for a given
//! pattern (no exponential blow-up) while keeping Java's leftmost, first-alternative
//! semantics.
//!
//! Supported: literals and escapes (`\t \n \r \f \a \e \0oo \xhh \x{h…} \uhhhh \cX`,
//! `\Q…\E`), `.`, classes `[…]` / `[^…]` with ranges, nested classes and escapes,
//! `\d \D \w \W \s \S \h \H \v \V`, POSIX and a few Unicode `\p{…}` / `\P{…}` classes,
//! anchors `^ $ \A \z \Z \b \B`, `\R`, groups (capturing, `(?:…)`, named `(?<name>…)`),
//! alternation, greedy, lazy and possessive quantifiers `* + ? {m} {m,} {m,n}`, atomic
//! groups `(?>…)`, lookahead `(?=…)` `(?!…)`, bounded lookbehind `(?<=…)` `(?<!…)` and
//! the inline flags `i m s x d u` (`(?i)`, `(?i:…)`, `(?-i)`).
//!
//! Not supported (the pattern is then invalid): backreferences (`\1`, `\k<name>`),
//! class intersection (`&&`), `\G`, `\X`, `\N{…}` and the remaining Unicode properties.
//! Case-insensitive matching folds ASCII letters only, as Java does without the `u` flag.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use super::regex_syntax::{Inst, Look, Prog, SubKind, chars_equal, compile, is_line_terminator};

/// A compiled pattern. An invalid pattern still gives a `Regex`, one that reports its
/// [`error`](Regex::error) and never matches: the SQL functions then return NULL (FALSE
/// for REGEXP), as Flink does when Java rejects the pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    source: Box<str>,
    prog: Result<Prog, String>,
}

/// A compiled pattern for a call site whose pattern is a literal, meant for a `static`:
///
/// ```
/// use dfl::fns::{RegexCache, regexp_extract_with};
/// static RE: RegexCache = RegexCache::new();
/// let url = Some("https://www.nexmark.com/x?a=b&channel_id=abc&x=1".into());
/// let id = regexp_extract_with(RE.get("(&|^)channel_id=([^&]*)"), url, Some(2));
/// assert_eq!(id.as_deref(), Some("abc"));
/// ```
///
/// The pattern is compiled on the first call; later calls must pass the same pattern
/// (they are not compared).
#[derive(Debug, Default)]
pub struct RegexCache {
    cell: OnceLock<Regex>,
}

impl RegexCache {
    /// An empty cache.
    pub const fn new() -> Self {
        RegexCache { cell: OnceLock::new() }
    }

    /// The compiled `pattern`, compiled on first use.
    pub fn get(&self, pattern: &str) -> &Regex {
        self.cell.get_or_init(|| Regex::new(pattern))
    }
}

/// Runs `f` with the compiled `pattern`, from a small per-thread cache of the patterns
/// used most recently (patterns that come from data rather than literals).
pub(crate) fn with_regex<R>(pattern: &str, f: impl FnOnce(&Regex) -> R) -> R {
    const SIZE: usize = 16;
    thread_local! {
        static CACHE: RefCell<Vec<(Box<str>, Rc<Regex>)>> = const { RefCell::new(Vec::new()) };
    }
    let re = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(i) = c.iter().position(|(p, _)| &**p == pattern) {
            let hit = c.remove(i);
            let re = hit.1.clone();
            c.push(hit);
            return re;
        }
        let re = Rc::new(Regex::new(pattern));
        if c.len() == SIZE {
            c.remove(0);
        }
        c.push((pattern.into(), re.clone()));
        re
    });
    f(&re)
}

/// Capture positions of one match: `caps[2 * g]..caps[2 * g + 1]` is group `g` (byte
/// offsets); group 0 is the whole match.
type Caps = Vec<Option<usize>>;

impl Regex {
    /// Compiles `pattern`; see [`Regex::error`] for whether it is valid.
    pub fn new(pattern: &str) -> Regex {
        Regex { source: pattern.into(), prog: compile(pattern) }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Why the pattern is invalid, or `None` when it is valid.
    pub fn error(&self) -> Option<&str> {
        self.prog.as_ref().err().map(|e| e.as_str())
    }

    /// Whether the pattern compiled.
    pub fn is_valid(&self) -> bool {
        self.prog.is_ok()
    }

    /// The number of capturing groups (not counting group 0); 0 if invalid.
    pub fn groups(&self) -> usize {
        self.prog.as_ref().map_or(0, |p| p.groups - 1)
    }

    /// Whether some part of `text` matches (Java's `Matcher.find()`).
    pub fn is_match(&self, text: &str) -> bool {
        self.find_at(text, 0).is_some()
    }

    /// The text of group `group` (0: the whole match) of the first match; `None` when
    /// nothing matches, the group does not exist or did not take part in the match.
    pub fn extract<'t>(&self, text: &'t str, group: usize) -> Option<&'t str> {
        let caps = self.find_at(text, 0)?;
        Some(&text[(*caps.get(2 * group)?)?..(*caps.get(2 * group + 1)?)?])
    }

    /// The first match starting at or after byte `start`, with its groups.
    fn find_at(&self, text: &str, start: usize) -> Option<Caps> {
        let prog = self.prog.as_ref().ok()?;
        Exec::new(prog, text).find(start)
    }

    /// Every match of `text`, left to right, as Java's repeated `find()` sees them: after
    /// an empty match the next search starts one character further.
    fn find_all(&self, text: &str, mut each: impl FnMut(&Caps)) {
        let Ok(prog) = &self.prog else { return };
        let mut exec = Exec::new(prog, text);
        let mut from = 0;
        while from <= text.len() {
            let Some(caps) = exec.find(from) else { break };
            let (s, e) = (caps[0].unwrap_or(from), caps[1].unwrap_or(from));
            each(&caps);
            from = if e == s { e + text[e..].chars().next().map_or(1, char::len_utf8) } else { e };
        }
    }

    /// `text` with every match replaced by `replacement`, taken literally (Flink quotes
    /// the replacement, so `$1` is not a group reference).
    pub fn replace_all_literal(&self, text: &str, replacement: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        self.find_all(text, |caps| {
            let (s, e) = (caps[0].unwrap_or(0), caps[1].unwrap_or(0));
            out.push_str(&text[last..s]);
            out.push_str(replacement);
            last = e;
        });
        out.push_str(&text[last..]);
        out
    }

    /// Java's `String.split(regex, limit)`: at most `limit` pieces when `limit > 0`;
    /// with `limit == 0` trailing empty pieces are dropped. A zero-width match at the
    /// start never makes an empty first piece.
    pub fn split<'t>(&self, text: &'t str, limit: usize) -> Vec<&'t str> {
        let mut pieces = Vec::new();
        let mut last = 0;
        let mut done = false;
        self.find_all(text, |caps| {
            let (s, e) = (caps[0].unwrap_or(0), caps[1].unwrap_or(0));
            if done || (limit > 0 && pieces.len() + 1 >= limit) {
                done = true;
                return;
            }
            if s == 0 && e == 0 {
                return;
            }
            pieces.push(&text[last..s]);
            last = e;
        });
        if pieces.is_empty() && last == 0 {
            return vec![text];
        }
        pieces.push(&text[last..]);
        if limit == 0 {
            while pieces.len() > 1 && pieces.last() == Some(&"") {
                pieces.pop();
            }
            if pieces.len() == 1 && pieces[0].is_empty() && !text.is_empty() {
                pieces.clear();
            }
        }
        pieces
    }
}

// ---------------------------------------------------------------------------------
// Execution

/// Which (instruction, position) states a run has explored, with the range of positions
/// touched so that clearing costs only what was used.
struct Visited {
    bits: Vec<u64>,
    lo: usize,
    hi: usize,
}

impl Visited {
    fn new(len: usize) -> Self {
        Visited { bits: vec![0; len.div_ceil(64)], lo: usize::MAX, hi: 0 }
    }

    /// Marks `index`; `false` if it already was.
    fn insert(&mut self, index: usize) -> bool {
        let (w, b) = (index / 64, 1u64 << (index % 64));
        if self.bits[w] & b != 0 {
            return false;
        }
        self.bits[w] |= b;
        self.lo = self.lo.min(w);
        self.hi = self.hi.max(w);
        true
    }

    fn clear(&mut self) {
        if self.lo <= self.hi {
            self.bits[self.lo..=self.hi].fill(0);
        }
        self.lo = usize::MAX;
        self.hi = 0;
    }
}

enum Job {
    Explore(usize, usize),
    Restore(usize, Option<usize>),
}

struct Exec<'a> {
    prog: &'a Prog,
    text: &'a str,
    /// One visited set per nesting depth of lookaround / atomic sub-searches.
    visited: Vec<Visited>,
    /// The backtracking stacks, per depth, kept to reuse their allocations.
    stacks: Vec<Vec<Job>>,
}

impl<'a> Exec<'a> {
    fn new(prog: &'a Prog, text: &'a str) -> Self {
        Exec { prog, text, visited: Vec::new(), stacks: Vec::new() }
    }

    fn find(&mut self, from: usize) -> Option<Caps> {
        let mut caps = vec![None; 2 * self.prog.groups];
        let mut pos = from;
        let skip = |pos: &mut usize| match &self.prog.first {
            // Jump to the next character a match can start with.
            Some(first) => match self.text.get(*pos..).and_then(|rest| rest.find(first.as_slice())) {
                Some(i) => {
                    *pos += i;
                    true
                }
                None => false,
            },
            None => true,
        };
        let found = loop {
            if pos > self.text.len() || !skip(&mut pos) {
                break false;
            }
            if self.run(0, 0, pos, &mut caps, None).is_some() {
                break true;
            }
            if self.prog.anchored {
                break false;
            }
            pos += self.text[pos..].chars().next().map_or(1, char::len_utf8);
        };
        if let Some(v) = self.visited.get_mut(0) {
            v.clear();
        }
        found.then_some(caps)
    }

    fn next_char(&self, pos: usize) -> Option<char> {
        self.text[pos..].chars().next()
    }

    fn prev_char(&self, pos: usize) -> Option<char> {
        self.text[..pos].chars().next_back()
    }

    fn is_word_at(&self, c: Option<char>) -> bool {
        c.is_some_and(|c| c.is_alphanumeric() || c == '_')
    }

    fn look(&self, l: Look, pos: usize) -> bool {
        let len = self.text.len();
        match l {
            Look::Start => pos == 0,
            Look::End => pos == len,
            Look::LineStart { unix } => {
                pos == 0
                    || (pos < len
                        && self.prev_char(pos).is_some_and(|p| is_line_terminator(p, unix))
                        && !(self.prev_char(pos) == Some('\r') && self.next_char(pos) == Some('\n') && !unix))
            }
            Look::EndZ { unix } => {
                let rest = &self.text[pos..];
                pos == len
                    || (if unix {
                        rest == "\n"
                    } else {
                        matches!(rest, "\n" | "\r\n" | "\r" | "\u{85}" | "\u{2028}" | "\u{2029}")
                            && !(rest == "\n" && self.prev_char(pos) == Some('\r'))
                    })
            }
            Look::LineEnd { unix } => match self.next_char(pos) {
                None => true,
                Some(c) => is_line_terminator(c, unix) && !(c == '\n' && !unix && self.prev_char(pos) == Some('\r')),
            },
            Look::WordBoundary | Look::NotWordBoundary => {
                let b = self.is_word_at(self.prev_char(pos)) != self.is_word_at(self.next_char(pos));
                b == (l == Look::WordBoundary)
            }
        }
    }

    /// Runs from instruction `pc` at byte `pos`; the end position on success. A nested
    /// run (`depth > 0`) succeeds at `SubEnd`, at position `target` if given.
    fn run(&mut self, depth: usize, pc: usize, pos: usize, caps: &mut Caps, target: Option<usize>) -> Option<usize> {
        let n_insts = self.prog.insts.len();
        if self.visited.len() <= depth {
            let size = (self.text.len() + 1) * n_insts;
            self.visited.push(Visited::new(size));
        }
        if self.stacks.len() <= depth {
            self.stacks.push(Vec::new());
        }
        let mut stack = std::mem::take(&mut self.stacks[depth]);
        stack.clear();
        stack.push(Job::Explore(pc, pos));
        let result = 'outer: loop {
            let Some(job) = stack.pop() else { break None };
            let (mut pc, mut pos) = match job {
                Job::Restore(slot, v) => {
                    caps[slot] = v;
                    continue;
                }
                Job::Explore(pc, pos) => (pc, pos),
            };
            loop {
                if !self.visited[depth].insert(pos * n_insts + pc) {
                    break;
                }
                match &self.prog.insts[pc] {
                    Inst::Char(c, fold) => match self.next_char(pos) {
                        Some(n) if chars_equal(*c, n, *fold) => {
                            pos += n.len_utf8();
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Any { dotall, unix } => match self.next_char(pos) {
                        Some(n) if *dotall || !is_line_terminator(n, *unix) => {
                            pos += n.len_utf8();
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Class(i) => match self.next_char(pos) {
                        Some(n) if self.prog.classes[*i].matches(n) => {
                            pos += n.len_utf8();
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Split(a, b) => {
                        stack.push(Job::Explore(*b, pos));
                        pc = *a;
                    }
                    Inst::Jmp(a) => pc = *a,
                    Inst::Save(slot) => {
                        stack.push(Job::Restore(*slot, caps[*slot]));
                        caps[*slot] = Some(pos);
                        pc += 1;
                    }
                    Inst::Assert(l) => {
                        if !self.look(*l, pos) {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::Sub { kind, body, next } => {
                        let (kind, body, next) = (*kind, *body, *next);
                        match self.sub(depth, kind, body, pos, caps) {
                            Some((end, inner)) => {
                                for (slot, v) in inner.into_iter().enumerate() {
                                    if caps[slot] != v {
                                        stack.push(Job::Restore(slot, caps[slot]));
                                        caps[slot] = v;
                                    }
                                }
                                pos = end;
                                pc = next;
                            }
                            None => break,
                        }
                    }
                    Inst::SubEnd | Inst::Match => {
                        if depth == 0 || target.is_none_or(|t| t == pos) {
                            break 'outer Some(pos);
                        }
                        break;
                    }
                }
            }
        };
        self.stacks[depth] = stack;
        if depth > 0 {
            self.visited[depth].clear();
        }
        result
    }

    /// A sub-search: on success, where it ends and the captures to adopt.
    fn sub(&mut self, depth: usize, kind: SubKind, body: usize, pos: usize, caps: &Caps) -> Option<(usize, Caps)> {
        let mut inner = caps.clone();
        match kind {
            SubKind::Atomic => {
                let end = self.run(depth + 1, body, pos, &mut inner, None)?;
                Some((end, inner))
            }
            SubKind::Ahead { negate } => {
                let hit = self.run(depth + 1, body, pos, &mut inner, None).is_some();
                match (hit, negate) {
                    (true, false) => Some((pos, inner)),
                    (false, true) => Some((pos, caps.clone())),
                    _ => None,
                }
            }
            SubKind::Behind { negate, min, max } => {
                // Start positions from `max` characters back to `min` characters back.
                let mut starts = vec![pos];
                let mut p = pos;
                for _ in 0..max {
                    match self.prev_char(p) {
                        Some(c) => {
                            p -= c.len_utf8();
                            starts.push(p);
                        }
                        None => break,
                    }
                }
                let mut hit = false;
                for (back, &start) in starts.iter().enumerate().rev() {
                    if back < min {
                        break;
                    }
                    if self.run(depth + 1, body, start, &mut inner, Some(pos)).is_some() {
                        hit = true;
                        break;
                    }
                }
                match (hit, negate) {
                    (true, false) => Some((pos, inner)),
                    (false, true) => Some((pos, caps.clone())),
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex<'t>(p: &str, t: &'t str, g: usize) -> Option<&'t str> {
        let re = Regex::new(p);
        assert!(re.is_valid(), "{p}: {:?}", re.error());
        re.extract(t, g)
    }

    #[test]
    fn nexmark_q21() {
        let url = "https://www.nexmark.com/x?channel_id=abc&x=1";
        // As in Java: `channel_id` follows `?`, neither `&` nor the start.
        assert_eq!(ex("(&|^)channel_id=([^&]*)", url, 2), None);
        let url = "https://www.nexmark.com/x?a=b&channel_id=abc&x=1";
        assert_eq!(ex("(&|^)channel_id=([^&]*)", url, 2), Some("abc"));
        assert_eq!(ex("(&|^)channel_id=([^&]*)", url, 1), Some("&"));
        assert_eq!(ex("(&|^)channel_id=([^&]*)", "channel_id=9&a=b", 2), Some("9"));
        assert_eq!(ex("(&|^)channel_id=([^&]*)", "a=1&channel_id=", 2), Some(""));
        assert_eq!(ex("(&|^)channel_id=([^&]*)", "xchannel_id=1", 2), None);
    }

    #[test]
    fn literals_classes_and_escapes() {
        assert_eq!(ex("b.d", "abcde", 0), Some("bcd"));
        assert_eq!(ex("\\d+", "ab123cd", 0), Some("123"));
        assert_eq!(ex("[a-c]+", "xxbcaay", 0), Some("bcaa"));
        assert_eq!(ex("[^a-c]+", "abxyzc", 0), Some("xyz"));
        assert_eq!(ex("\\w+@\\w+\\.com", "mail me: joe@site.com!", 0), Some("joe@site.com"));
        assert_eq!(ex("\\s+", "a \t b", 0), Some(" \t "));
        assert_eq!(ex("\\D\\W\\S", "1a!x", 0), Some("a!x"));
        assert_eq!(ex("[\\d.]+", "v1.25x", 0), Some("1.25"));
        assert_eq!(ex("[-a]+", "b-a-c", 0), Some("-a-"));
        assert_eq!(ex("[a-]+", "b-a-c", 0), Some("-a-"));
        assert_eq!(ex("\\.\\*\\\\", "x.*\\y", 0), Some(".*\\"));
        assert_eq!(ex("\\x41\\u0042\\t", "xAB\ty", 0), Some("AB\t"));
        assert_eq!(ex("\\Qa.b\\E+", "acbb a.bbb", 0), Some("a.bbb"));
        assert_eq!(ex("[\\Q]-\\E]+", "a-]-b", 0), Some("-]-"));
        assert_eq!(ex("\\p{Alpha}+", "12abc3", 0), Some("abc"));
        assert_eq!(ex("[\\p{Digit}x]+", "ab1x2c", 0), Some("1x2"));
        assert_eq!(ex("é+", "caféé!", 0), Some("éé"));
        assert_eq!(ex(".", "日本", 0), Some("日"));
        assert_eq!(ex("[а-я]+", "abc привет", 0), Some("привет"));
    }

    #[test]
    fn anchors_and_boundaries() {
        assert_eq!(ex("^ab", "abab", 0), Some("ab"));
        assert_eq!(ex("^b", "ab", 0), None);
        assert_eq!(ex("b$", "abab", 0), Some("b"));
        assert_eq!(ex("b$", "ab\n", 0), Some("b"));
        assert_eq!(ex("b\\z", "ab\n", 0), None);
        assert_eq!(ex("^$", "", 0), Some(""));
        assert_eq!(ex("(?m)^b.*$", "a\nbc\nd", 0), Some("bc"));
        assert_eq!(ex("\\bcat\\b", "concat cat", 0), Some("cat"));
        assert_eq!(Regex::new("\\bcat\\b").find_at("concat cat", 0).unwrap()[0], Some(7));
        assert_eq!(ex("\\Bcat", "concat", 0), Some("cat"));
        assert_eq!(ex("a.c", "a\nc", 0), None);
        assert_eq!(ex("(?s)a.c", "a\nc", 0), Some("a\nc"));
    }

    #[test]
    fn groups_and_alternation() {
        assert_eq!(ex("(a|ab)(c|bcd)(d*)", "abcd", 0), Some("abcd"));
        assert_eq!(ex("(a|ab)(c|bcd)(d*)", "abcd", 1), Some("a"));
        assert_eq!(ex("(a|ab)(c|bcd)(d*)", "abcd", 2), Some("bcd"));
        assert_eq!(ex("cat|dog", "hotdog cat", 0), Some("dog"));
        assert_eq!(ex("(x)?y", "y", 1), None);
        assert_eq!(ex("(?:ab)+", "ababa", 0), Some("abab"));
        assert_eq!(ex("(?<year>\\d{4})-(\\d\\d)", "on 2024-05-01", 2), Some("05"));
        assert_eq!(ex("(a)|b", "b", 5), None);
        assert_eq!(Regex::new("(a)(b(c))").groups(), 3);
        assert_eq!(ex("(a*)*b", "aaab", 0), Some("aaab"));
        assert_eq!(ex("(a|)*b", "aab", 0), Some("aab"));
    }

    #[test]
    fn greedy_lazy_and_counted() {
        assert_eq!(ex("<.+>", "<a><b>", 0), Some("<a><b>"));
        assert_eq!(ex("<.+?>", "<a><b>", 0), Some("<a>"));
        assert_eq!(ex("a*?b", "aaab", 0), Some("aaab"));
        assert_eq!(ex("a??", "a", 0), Some(""));
        assert_eq!(ex("a{2}", "aaaa", 0), Some("aa"));
        assert_eq!(ex("a{2,}", "aaaa", 0), Some("aaaa"));
        assert_eq!(ex("a{1,3}", "aaaa", 0), Some("aaa"));
        assert_eq!(ex("a{1,3}?", "aaaa", 0), Some("a"));
        assert_eq!(ex("x{0}y", "xy", 0), Some("y"));
        assert_eq!(ex("(\\d{1,3})(\\d*)", "12345", 1), Some("123"));
        assert_eq!(ex("a++a", "aaa", 0), None);
        assert_eq!(ex("(?>a|ab)c", "abc", 0), None);
        assert_eq!(ex("(?>ab|a)c", "abc", 0), Some("abc"));
    }

    #[test]
    fn lookaround_and_flags() {
        assert_eq!(ex("\\w+(?=!)", "hi there!", 0), Some("there"));
        assert_eq!(ex("\\d+(?!px)\\b", "10px 20 em", 0), Some("20"));
        assert_eq!(ex("\\d+(?!px)\\b", "10px 20em", 0), None);
        assert_eq!(ex("(?<=\\$)\\d+", "cost: $42", 0), Some("42"));
        assert_eq!(ex("(?<!\\$)\\b\\d+", "$42 17", 0), Some("17"));
        assert_eq!(ex("(?i)hello", "Say HeLLo", 0), Some("HeLLo"));
        assert_eq!(ex("(?i:[a-c]+)d", "ABCd ABCD", 0), Some("ABCd"));
        assert_eq!(ex("a(?i)b", "aB", 0), Some("aB"));
        assert_eq!(ex("(?x) a b # comment", "ab", 0), Some("ab"));
    }

    #[test]
    fn invalid_patterns() {
        for p in ["(", "a)", "[a-", "*a", "a{2,1}", "\\1", "(?<=a*)b", "[z-a]", "a{", "\\y", "[a&&b]"] {
            let re = Regex::new(p);
            assert!(!re.is_valid(), "{p} should be invalid");
            assert!(!re.is_match("a"));
        }
    }

    #[test]
    fn no_exponential_blowup() {
        let text = format!("{}!", "a".repeat(5000));
        assert!(!Regex::new("(a+)+$").is_match(&text));
        assert!(!Regex::new("(a|aa)*c").is_match(&text));
        assert!(!Regex::new("(?=(a+)+b)").is_match(&text[..200]));
    }

    #[test]
    fn replace_and_split() {
        let r = |p: &str, t: &str, s: &str| Regex::new(p).replace_all_literal(t, s);
        assert_eq!(r("\\d+", "a1b22c", "#"), "a#b#c");
        assert_eq!(r("x*", "abc", "-"), "-a-b-c-");
        assert_eq!(r("b*", "abc", "-"), "-a--c-");
        assert_eq!(r("a", "aaa", "$1"), "$1$1$1");
        assert_eq!(r("z", "abc", "-"), "abc");
        let s = |p: &str, t: &str, n| Regex::new(p).split(t, n).into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(s(",", "a,b,,c,,", 0), ["a", "b", "", "c"]);
        assert_eq!(s(",", "a,b,,c,,", 2), ["a", "b,,c,,"]);
        assert_eq!(s(",", "a,b,,c,,", usize::MAX), ["a", "b", "", "c", "", ""]);
        assert_eq!(s(",", "", 0), [""]);
        assert_eq!(s(",", ",", 0), Vec::<String>::new());
        assert_eq!(s("", "abc", 0), ["a", "b", "c"]);
        assert_eq!(s("=", "k=v=w", 2), ["k", "v=w"]);
        assert_eq!(s("=", "k", 2), ["k"]);
        assert_eq!(s(",", ",a", 0), ["", "a"]);
    }

    #[test]
    fn caches() {
        static RE: RegexCache = RegexCache::new();
        assert_eq!(RE.get("a(b)").extract("xab", 1), Some("b"));
        assert_eq!(RE.get("a(b)").extract("ab", 0), Some("ab"));
        assert_eq!(with_regex("c+", |re| re.extract("acccd", 0).map(String::from)), Some("ccc".into()));
        for i in 0..40 {
            let p = format!("x{i}");
            assert!(with_regex(&p, |re| re.is_match(&p)));
        }
    }
}
