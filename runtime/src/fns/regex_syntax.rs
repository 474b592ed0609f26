//! The syntax half of [`super::regex`]: parsing a Java pattern and compiling it into a
//! program of instructions.

/// A set of characters tested by a function (`\d`, `\p{Alpha}`, …).
type Pred = fn(char) -> bool;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Fold {
    None,
    Ascii,
    Unicode,
}

#[derive(Debug, Clone)]
pub(super) struct Class {
    pub(super) ranges: Vec<(char, char)>,
    pub(super) preds: Vec<(Pred, bool)>,
    pub(super) nested: Vec<Class>,
    pub(super) negated: bool,
    pub(super) fold: Fold,
}

impl Class {
    fn new(fold: Fold) -> Self {
        Class { ranges: Vec::new(), preds: Vec::new(), nested: Vec::new(), negated: false, fold }
    }

    fn of(pred: Pred, negated: bool) -> Self {
        Class { preds: vec![(pred, negated)], ..Class::new(Fold::None) }
    }

    fn contains_exact(&self, c: char) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= c && c <= b)
            || self.preds.iter().any(|&(p, neg)| p(c) != neg)
            || self.nested.iter().any(|n| n.matches(c))
    }

    pub(super) fn matches(&self, c: char) -> bool {
        let hit = self.contains_exact(c)
            || match self.fold {
                Fold::None => false,
                Fold::Ascii => {
                    let o = swap_ascii_case(c);
                    o != c && self.contains_exact(o)
                }
                Fold::Unicode => other_cases(c).any(|o| self.contains_exact(o)),
            };
        hit != self.negated
    }
}

fn swap_ascii_case(c: char) -> char {
    if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
}

/// The single-character lower and upper case forms of `c` other than `c` itself.
fn other_cases(c: char) -> impl Iterator<Item = char> {
    fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
        match (it.next(), it.next()) {
            (Some(x), None) => Some(x),
            _ => None,
        }
    }
    [single(c.to_lowercase()), single(c.to_uppercase())].into_iter().flatten().filter(move |&o| o != c)
}

pub(super) fn chars_equal(a: char, b: char, fold: Fold) -> bool {
    a == b
        || match fold {
            Fold::None => false,
            Fold::Ascii => a.is_ascii() && a.eq_ignore_ascii_case(&b),
            Fold::Unicode => other_cases(a).any(|o| o == b),
        }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Look {
    /// `\A`, and `^` without MULTILINE.
    Start,
    /// `^` with MULTILINE.
    LineStart {
        unix: bool,
    },
    /// `\z`.
    End,
    /// `\Z`, and `$` without MULTILINE: the end, or before a final line terminator.
    EndZ {
        unix: bool,
    },
    /// `$` with MULTILINE.
    LineEnd {
        unix: bool,
    },
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum SubKind {
    Atomic,
    Ahead { negate: bool },
    Behind { negate: bool, min: usize, max: usize },
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char, Fold),
    Any { dotall: bool, unix: bool },
    Class(Class),
    Look(Look),
    Group(Box<Node>, Option<usize>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32>, greedy: bool },
    Sub(SubKind, Box<Node>),
}

impl Node {
    /// The least and most characters the node matches (`None`: unbounded).
    fn width(&self) -> (usize, Option<usize>) {
        match self {
            Node::Empty | Node::Look(_) | Node::Sub(..) => (0, Some(0)),
            Node::Char(..) | Node::Any { .. } | Node::Class(_) => (1, Some(1)),
            Node::Group(n, _) => n.width(),
            Node::Concat(v) => v.iter().fold((0, Some(0)), |(lo, hi), n| {
                let (a, b) = n.width();
                (lo + a, hi.zip(b).map(|(x, y)| x + y))
            }),
            Node::Alt(v) => v
                .iter()
                .map(Node::width)
                .reduce(|(a, b), (c, d)| (a.min(c), b.zip(d).map(|(x, y)| x.max(y))))
                .unwrap_or((0, Some(0))),
            Node::Repeat { node, min, max, .. } => {
                let (a, b) = node.width();
                (
                    a * *min as usize,
                    b.zip(*max).map(|(b, m)| b * m as usize).or(if b == Some(0) { Some(0) } else { None }),
                )
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Flags {
    icase: bool,
    unicode_case: bool,
    dotall: bool,
    multiline: bool,
    comments: bool,
    unix_lines: bool,
}

impl Flags {
    fn fold(self) -> Fold {
        match (self.icase, self.unicode_case) {
            (false, _) => Fold::None,
            (true, false) => Fold::Ascii,
            (true, true) => Fold::Unicode,
        }
    }
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    flags: Flags,
    groups: usize,
}

type PResult<T> = Result<T, String>;

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}
fn is_hspace(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{1680}' | '\u{180E}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}
fn is_vspace(c: char) -> bool {
    matches!(c, '\n' | '\x0B' | '\x0C' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}
pub(super) fn is_line_terminator(c: char, unix: bool) -> bool {
    if unix { c == '\n' } else { matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') }
}

/// The `\p{name}` classes: POSIX (ASCII) names and a few Unicode ones.
fn property(name: &str) -> Option<Pred> {
    let name = name.strip_prefix("Is").filter(|n| !n.is_empty()).unwrap_or(name);
    Some(match name {
        "Lower" => |c: char| c.is_ascii_lowercase(),
        "Upper" => |c: char| c.is_ascii_uppercase(),
        "ASCII" => |c: char| c.is_ascii(),
        "Alpha" => |c: char| c.is_ascii_alphabetic(),
        "Digit" => |c: char| c.is_ascii_digit(),
        "Alnum" => |c: char| c.is_ascii_alphanumeric(),
        "Punct" => |c: char| c.is_ascii_punctuation(),
        "Graph" => |c: char| c.is_ascii_graphic(),
        "Print" => |c: char| c.is_ascii_graphic() || c == ' ',
        "Blank" => |c: char| c == ' ' || c == '\t',
        "Cntrl" => |c: char| c.is_ascii_control(),
        "XDigit" => |c: char| c.is_ascii_hexdigit(),
        "Space" => is_space,
        "L" | "Letter" | "Alphabetic" => |c: char| c.is_alphabetic(),
        "Lu" | "Uppercase" => |c: char| c.is_uppercase(),
        "Ll" | "Lowercase" => |c: char| c.is_lowercase(),
        "N" | "Nd" | "Digit_" => |c: char| c.is_numeric(),
        "White_Space" | "WhiteSpace" => |c: char| c.is_whitespace(),
        "javaLowerCase" => |c: char| c.is_lowercase(),
        "javaUpperCase" => |c: char| c.is_uppercase(),
        "javaWhitespace" => |c: char| c.is_whitespace(),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> PResult<char> {
        let c = self.peek().ok_or("unexpected end of pattern")?;
        self.i += 1;
        Ok(c)
    }

    fn skip_comments(&mut self) {
        if !self.flags.comments {
            return;
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.i += 1;
            } else if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn alternation(&mut self) -> PResult<Node> {
        let mut alts = vec![self.concat()?];
        while self.eat('|') {
            alts.push(self.concat()?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Node::Empty) } else { Node::Alt(alts) })
    }

    fn concat(&mut self) -> PResult<Node> {
        let mut items = Vec::new();
        loop {
            self.skip_comments();
            match self.peek() {
                None | Some('|') | Some(')') => break,
                _ => {}
            }
            if let Some(atom) = self.atom()? {
                let atom = self.quantified(atom)?;
                items.push(atom);
            }
        }
        Ok(if items.len() == 1 { items.pop().unwrap_or(Node::Empty) } else { Node::Concat(items) })
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let text: String = self.chars[start..self.i].iter().collect();
        text.parse().ok()
    }

    fn quantified(&mut self, mut atom: Node) -> PResult<Node> {
        loop {
            self.skip_comments();
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    let save = self.i;
                    self.i += 1;
                    let min = self.number().ok_or("illegal repetition")?;
                    let max = if self.eat(',') {
                        if self.peek() == Some('}') { None } else { Some(self.number().ok_or("illegal repetition")?) }
                    } else {
                        Some(min)
                    };
                    if self.peek() != Some('}') {
                        self.i = save;
                        return Err("illegal repetition".into());
                    }
                    if max.is_some_and(|m| m < min) || min > 100_000 || max.is_some_and(|m| m > 100_000) {
                        return Err("illegal repetition range".into());
                    }
                    (min, max)
                }
                _ => return Ok(atom),
            };
            self.i += 1;
            if matches!(atom, Node::Look(_)) {
                // Java allows quantified anchors; they match the empty string at most once.
                atom = Node::Group(Box::new(atom), None);
            }
            let (greedy, possessive) = if self.eat('?') {
                (false, false)
            } else if self.eat('+') {
                (true, true)
            } else {
                (true, false)
            };
            let rep = Node::Repeat { node: Box::new(atom), min, max, greedy };
            atom = if possessive { Node::Sub(SubKind::Atomic, Box::new(rep)) } else { rep };
        }
    }

    fn atom(&mut self) -> PResult<Option<Node>> {
        let c = self.next()?;
        let f = self.flags;
        Ok(Some(match c {
            '(' => return self.group(),
            '[' => Node::Class(self.class()?),
            '.' => Node::Any { dotall: f.dotall, unix: f.unix_lines },
            '^' => Node::Look(if f.multiline { Look::LineStart { unix: f.unix_lines } } else { Look::Start }),
            '$' => Node::Look(if f.multiline {
                Look::LineEnd { unix: f.unix_lines }
            } else {
                Look::EndZ { unix: f.unix_lines }
            }),
            '\\' => self.escape()?,
            '*' | '+' | '?' => return Err(format!("dangling meta character '{c}'")),
            '{' => return Err("illegal repetition".into()),
            c => Node::Char(c, f.fold()),
        }))
    }

    /// After `(`: a group, or `None` for a flags-only `(?i)`.
    fn group(&mut self) -> PResult<Option<Node>> {
        let saved = self.flags;
        let node = if self.eat('?') {
            match self.next()? {
                ':' => Node::Group(Box::new(self.alternation()?), None),
                '>' => Node::Sub(SubKind::Atomic, Box::new(self.alternation()?)),
                '=' => Node::Sub(SubKind::Ahead { negate: false }, Box::new(self.alternation()?)),
                '!' => Node::Sub(SubKind::Ahead { negate: true }, Box::new(self.alternation()?)),
                '<' if matches!(self.peek(), Some('=' | '!')) => {
                    let negate = self.next()? == '!';
                    let body = self.alternation()?;
                    let (min, max) = body.width();
                    let max = max.ok_or("look-behind group does not have an obvious maximum length")?;
                    Node::Sub(SubKind::Behind { negate, min, max }, Box::new(body))
                }
                '<' => {
                    let start = self.i;
                    while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                        self.i += 1;
                    }
                    if self.i == start || !self.eat('>') {
                        return Err("bad named group".into());
                    }
                    self.groups += 1;
                    let index = self.groups;
                    Node::Group(Box::new(self.alternation()?), Some(index))
                }
                _ => {
                    self.i -= 1;
                    let mut on = true;
                    loop {
                        match self.next()? {
                            'i' => self.flags.icase = on,
                            'm' => self.flags.multiline = on,
                            's' => self.flags.dotall = on,
                            'x' => self.flags.comments = on,
                            'd' => self.flags.unix_lines = on,
                            'u' => self.flags.unicode_case = on,
                            'U' => {}
                            '-' if on => on = false,
                            ')' => return Ok(None),
                            ':' => break,
                            c => return Err(format!("unknown inline flag '{c}'")),
                        }
                    }
                    Node::Group(Box::new(self.alternation()?), None)
                }
            }
        } else {
            self.groups += 1;
            let index = self.groups;
            Node::Group(Box::new(self.alternation()?), Some(index))
        };
        if !self.eat(')') {
            return Err("unclosed group".into());
        }
        self.flags = saved;
        Ok(Some(node))
    }

    fn hex(&mut self, digits: usize) -> PResult<char> {
        let mut v = 0u32;
        for _ in 0..digits {
            let d = self.next()?.to_digit(16).ok_or("illegal hexadecimal escape")?;
            v = v * 16 + d;
        }
        char::from_u32(v).ok_or_else(|| "illegal code point".into())
    }

    /// An escape that stands for one character, after the `\` and its letter `c`.
    fn char_escape(&mut self, c: char) -> PResult<Option<char>> {
        Ok(Some(match c {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0C',
            'a' => '\x07',
            'e' => '\x1B',
            '0' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 3 && self.peek().is_some_and(|d| ('0'..='7').contains(&d)) && v * 8 < 256 {
                    v = v * 8 + self.next()?.to_digit(8).unwrap_or(0);
                    n += 1;
                }
                if n == 0 {
                    return Err("illegal octal escape".into());
                }
                char::from_u32(v).ok_or("illegal octal escape")?
            }
            'x' => {
                if self.eat('{') {
                    let start = self.i;
                    while self.peek().is_some_and(|c| c != '}') {
                        self.i += 1;
                    }
                    let text: String = self.chars[start..self.i].iter().collect();
                    if !self.eat('}') {
                        return Err("unclosed hexadecimal escape".into());
                    }
                    let v = u32::from_str_radix(&text, 16).map_err(|_| "illegal hexadecimal escape")?;
                    char::from_u32(v).ok_or("illegal code point")?
                } else {
                    self.hex(2)?
                }
            }
            'u' => self.hex(4)?,
            'c' => char::from_u32(u32::from(self.next()?) ^ 64).ok_or("illegal control escape")?,
            c if c.is_ascii_alphanumeric() => return Ok(None),
            c => c,
        }))
    }

    /// A class escape (`\d`, `\p{…}`, …) after the `\` and its letter `c`.
    fn class_escape(&mut self, c: char) -> PResult<Option<(Pred, bool)>> {
        Ok(Some(match c {
            'd' | 'D' => (is_digit as Pred, c == 'D'),
            'w' | 'W' => (is_word as Pred, c == 'W'),
            's' | 'S' => (is_space as Pred, c == 'S'),
            'h' | 'H' => (is_hspace as Pred, c == 'H'),
            'v' | 'V' => (is_vspace as Pred, c == 'V'),
            'p' | 'P' => {
                let name = if self.eat('{') {
                    let start = self.i;
                    while self.peek().is_some_and(|c| c != '}') {
                        self.i += 1;
                    }
                    let name: String = self.chars[start..self.i].iter().collect();
                    if !self.eat('}') {
                        return Err("unclosed character family".into());
                    }
                    name
                } else {
                    self.next()?.to_string()
                };
                let (name, negate) = match name.strip_prefix('^') {
                    Some(n) => (n.to_string(), c == 'p'),
                    None => (name, c == 'P'),
                };
                (property(&name).ok_or_else(|| format!("unsupported character property {name}"))?, negate)
            }
            _ => return Ok(None),
        }))
    }

    fn escape(&mut self) -> PResult<Node> {
        let c = self.next()?;
        let f = self.flags;
        if let Some((pred, neg)) = self.class_escape(c)? {
            return Ok(Node::Class(Class::of(pred, neg)));
        }
        Ok(match c {
            'b' => Node::Look(Look::WordBoundary),
            'B' => Node::Look(Look::NotWordBoundary),
            'A' => Node::Look(Look::Start),
            'z' => Node::Look(Look::End),
            'Z' => Node::Look(Look::EndZ { unix: f.unix_lines }),
            'R' => Node::Alt(vec![
                Node::Concat(vec![Node::Char('\r', Fold::None), Node::Char('\n', Fold::None)]),
                Node::Class(Class::of(is_vspace, false)),
            ]),
            '1'..='9' | 'k' => return Err("backreferences are not supported".into()),
            c => match self.char_escape(c)? {
                Some(ch) => Node::Char(ch, f.fold()),
                None => return Err(format!("illegal/unsupported escape sequence \\{c}")),
            },
        })
    }

    /// After `[`.
    fn class(&mut self) -> PResult<Class> {
        let mut class = Class::new(self.flags.fold());
        class.negated = self.eat('^');
        let mut first = true;
        loop {
            let c = self.next().map_err(|_| "unclosed character class".to_string())?;
            let lo = match c {
                ']' if !first => break,
                '[' => {
                    class.nested.push(self.class()?);
                    first = false;
                    continue;
                }
                '&' if self.peek() == Some('&') => return Err("class intersection is not supported".into()),
                '\\' => {
                    let e = self.next()?;
                    if let Some(p) = self.class_escape(e)? {
                        class.preds.push(p);
                        first = false;
                        continue;
                    }
                    self.char_escape(e)?.ok_or_else(|| format!("illegal/unsupported escape sequence \\{e}"))?
                }
                c => c,
            };
            first = false;
            // A range `lo-hi`, unless the `-` is last.
            if self.peek() == Some('-') && self.chars.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let hi = match self.next()? {
                    '\\' => {
                        let e = self.next()?;
                        self.char_escape(e)?.ok_or("illegal character range")?
                    }
                    '[' => return Err("illegal character range".into()),
                    h => h,
                };
                if hi < lo {
                    return Err("illegal character range".into());
                }
                class.ranges.push((lo, hi));
            } else {
                class.ranges.push((lo, lo));
            }
        }
        Ok(class)
    }
}

// ---------------------------------------------------------------------------------
// Program

#[derive(Debug, Clone)]
pub(super) enum Inst {
    Char(char, Fold),
    Any {
        dotall: bool,
        unix: bool,
    },
    Class(usize),
    Split(usize, usize),
    Jmp(usize),
    Save(usize),
    Assert(Look),
    /// Runs the body at `body` (ending with `SubEnd`) as a separate search, then goes on at `next`.
    Sub {
        kind: SubKind,
        body: usize,
        next: usize,
    },
    SubEnd,
    Match,
}

#[derive(Debug, Clone)]
pub(super) struct Prog {
    pub(super) insts: Vec<Inst>,
    pub(super) classes: Vec<Class>,
    /// Including group 0.
    pub(super) groups: usize,
    /// The pattern can only match at the start of the input.
    pub(super) anchored: bool,
    /// The characters a match can start with, when that is a short list of literals
    /// (a match cannot be empty then): other start positions are skipped.
    pub(super) first: Option<Vec<char>>,
}

const MAX_INSTS: usize = 200_000;

struct Compiler {
    insts: Vec<Inst>,
    classes: Vec<Class>,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> PResult<usize> {
        if self.insts.len() >= MAX_INSTS {
            return Err("pattern too large".into());
        }
        self.insts.push(i);
        Ok(self.insts.len() - 1)
    }

    fn emit(&mut self, node: &Node) -> PResult<()> {
        match node {
            Node::Empty => {}
            Node::Char(c, fold) => {
                self.push(Inst::Char(*c, *fold))?;
            }
            Node::Any { dotall, unix } => {
                self.push(Inst::Any { dotall: *dotall, unix: *unix })?;
            }
            Node::Class(c) => {
                self.classes.push(c.clone());
                self.push(Inst::Class(self.classes.len() - 1))?;
            }
            Node::Look(l) => {
                self.push(Inst::Assert(*l))?;
            }
            Node::Group(n, None) => self.emit(n)?,
            Node::Group(n, Some(g)) => {
                self.push(Inst::Save(2 * g))?;
                self.emit(n)?;
                self.push(Inst::Save(2 * g + 1))?;
            }
            Node::Concat(v) => {
                for n in v {
                    self.emit(n)?;
                }
            }
            Node::Alt(v) => {
                let mut jumps = Vec::new();
                for (k, alt) in v.iter().enumerate() {
                    if k + 1 < v.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.emit(alt)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        self.insts[split] = Inst::Split(split + 1, self.insts.len());
                    } else {
                        self.emit(alt)?;
                    }
                }
                let end = self.insts.len();
                for j in jumps {
                    self.insts[j] = Inst::Jmp(end);
                }
            }
            Node::Repeat { node, min, max, greedy } => {
                for _ in 0..*min {
                    self.emit(node)?;
                }
                match max {
                    None => {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.emit(node)?;
                        self.push(Inst::Jmp(split))?;
                        let end = self.insts.len();
                        self.insts[split] =
                            if *greedy { Inst::Split(split + 1, end) } else { Inst::Split(end, split + 1) };
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.emit(node)?;
                        }
                        let end = self.insts.len();
                        for s in splits {
                            self.insts[s] = if *greedy { Inst::Split(s + 1, end) } else { Inst::Split(end, s + 1) };
                        }
                    }
                }
            }
            Node::Sub(kind, body) => {
                let at = self.push(Inst::Sub { kind: *kind, body: 0, next: 0 })?;
                self.emit(body)?;
                self.push(Inst::SubEnd)?;
                self.insts[at] = Inst::Sub { kind: *kind, body: at + 1, next: self.insts.len() };
            }
        }
        Ok(())
    }
}

/// The literal characters every match starts with, following the program's empty
/// steps from the start; `None` when a match may start otherwise (a class, `.`, a
/// lookaround, an empty match, a case-insensitive non-ASCII letter) or with too many.
fn first_chars(insts: &[Inst]) -> Option<Vec<char>> {
    let mut out = Vec::new();
    let mut seen = vec![false; insts.len()];
    let mut todo = vec![0];
    while let Some(pc) = todo.pop() {
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match &insts[pc] {
            Inst::Save(_) | Inst::Assert(_) => todo.push(pc + 1),
            Inst::Jmp(a) => todo.push(*a),
            Inst::Split(a, b) => todo.extend([*a, *b]),
            Inst::Char(c, Fold::None) => out.push(*c),
            Inst::Char(c, Fold::Ascii) if c.is_ascii() => out.extend([c.to_ascii_lowercase(), c.to_ascii_uppercase()]),
            _ => return None,
        }
    }
    out.sort_unstable();
    out.dedup();
    (out.len() <= 8).then_some(out)
}

fn starts_anchored(node: &Node) -> bool {
    match node {
        Node::Look(Look::Start) => true,
        Node::Concat(v) => v.first().is_some_and(starts_anchored),
        Node::Group(n, _) => starts_anchored(n),
        Node::Alt(v) => v.iter().all(starts_anchored),
        _ => false,
    }
}

/// Java's first step: `\Q…\E` quotes become escaped characters.
fn remove_quoting(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find("\\") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let mut it = after[1..].chars();
        match it.next() {
            Some('Q') => {
                let quoted = &after[2..];
                let end = quoted.find("\\E").unwrap_or(quoted.len());
                for c in quoted[..end].chars() {
                    if !c.is_ascii_alphanumeric() {
                        out.push('\\');
                    }
                    out.push(c);
                }
                rest = quoted.get(end + 2..).unwrap_or("");
            }
            Some(c) => {
                out.push('\\');
                out.push(c);
                rest = it.as_str();
            }
            None => {
                out.push('\\');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn compile(pattern: &str) -> Result<Prog, String> {
    let pattern = &remove_quoting(pattern);
    let flags = Flags {
        icase: false,
        unicode_case: false,
        dotall: false,
        multiline: false,
        comments: false,
        unix_lines: false,
    };
    let mut p = Parser { chars: pattern.chars().collect(), i: 0, flags, groups: 0 };
    let node = p.alternation()?;
    if p.i < p.chars.len() {
        return Err("unmatched closing ')'".into());
    }
    let mut c = Compiler { insts: Vec::new(), classes: Vec::new() };
    c.push(Inst::Save(0))?;
    c.emit(&node)?;
    c.push(Inst::Save(1))?;
    c.push(Inst::Match)?;
    let first = first_chars(&c.insts);
    Ok(Prog { insts: c.insts, classes: c.classes, groups: p.groups + 1, anchored: starts_anchored(&node), first })
}
