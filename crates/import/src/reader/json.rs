//! JSON array and NDJSON: a byte-level syntax checker finds the extent of each record without
//! building the whole document, then serde_json parses that one record.
//!
//! The checker is a state machine with an explicit stack of open containers: it never
//! recurses, so no nesting depth can overflow the thread's stack. It checks the complete JSON
//! grammar (RFC 8259), so every syntax error is a whole-file [`ReadError`] with its exact
//! position, and serde_json only ever sees syntactically valid text: what it can still refuse
//! (nesting deeper than its recursion limit, a number out of range, a lone surrogate escape)
//! concerns that record alone and becomes a per-record [`RecordError`].

use std::io::BufRead;

use serde_json::Value;
use userbridge_model::{ErrorCode, RecordError};

use super::source::{Pos, human_size, read_error_of};
use super::{RawRecord, ReadError};

/// serde_json's recursion limit: it parses at most this many nested arrays/objects.
pub const MAX_RECORD_DEPTH: usize = 127;
/// Deeper nesting than this fails the whole file: the checker's stack (one byte per level)
/// must stay small even inside a record too large to keep.
const MAX_SCAN_DEPTH: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Array,
    Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    /// After `-`: a digit must follow.
    Minus,
    /// A leading `0`: no more digits in the integer part.
    Zero,
    Int,
    /// After `.`: a digit must follow.
    Dot,
    Frac,
    /// After `e`/`E`: a sign or a digit must follow.
    Exp,
    /// After the exponent's sign: a digit must follow.
    ExpSign,
    ExpDigits,
}

impl Number {
    fn can_end(self) -> bool {
        matches!(
            self,
            Number::Zero | Number::Int | Number::Frac | Number::ExpDigits
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the outer `[` (array) / at the start of a line (NDJSON).
    TopStart,
    /// After the outer `]` (array) / after a line's value (NDJSON).
    TopEnd,
    /// After `[`: a value or `]`.
    ArrayFirst,
    /// After `,` in an array: a value.
    ArrayNext,
    /// After `{`: a key or `}`.
    ObjectFirst,
    /// After `,` in an object: a key.
    ObjectNext,
    /// After a key: `:`.
    Colon,
    /// After `:`: a value.
    Value,
    /// After a value inside a container: `,` or the closing bracket.
    After,
    Str {
        key: bool,
    },
    Escape {
        key: bool,
    },
    Hex {
        key: bool,
        left: u8,
    },
    Num(Number),
    Literal {
        word: &'static [u8],
        at: u8,
    },
}

/// What went wrong at the current byte.
enum Problem {
    /// The byte is not one of these.
    Expected(&'static str),
    Other(&'static str),
}

/// What the current byte did.
enum Effect {
    Consumed,
    /// A number ended before this byte, which must be looked at again in the new state.
    Again,
}

pub(crate) struct JsonScanner<R> {
    input: R,
    machine: Machine,
}

struct Machine {
    ndjson: bool,
    /// Stack height at which records live: 1 inside the outer array, 0 for NDJSON.
    record_level: usize,
    stack: Vec<Container>,
    state: State,
    /// Position of the next byte.
    pos: Pos,
    /// A value at record level has started at the last byte looked at.
    started: bool,
    /// The record in progress has just ended.
    ended: bool,
    in_record: bool,
    record_start: Pos,
    record_len: u64,
    record_depth: usize,
    buf: Vec<u8>,
    oversize: bool,
    max_record: usize,
    max_depth: usize,
    index: u64,
    /// Check the syntax and find the records, but do not build their values.
    syntax_only: bool,
}

impl<R: BufRead> JsonScanner<R> {
    pub(crate) fn new(input: R, ndjson: bool, start: Pos, max_record_bytes: usize) -> Self {
        JsonScanner {
            input,
            machine: Machine {
                ndjson,
                record_level: if ndjson { 0 } else { 1 },
                stack: Vec::new(),
                state: State::TopStart,
                pos: start,
                started: false,
                ended: false,
                in_record: false,
                record_start: start,
                record_len: 0,
                record_depth: 0,
                buf: Vec::new(),
                oversize: false,
                max_record: max_record_bytes,
                max_depth: MAX_RECORD_DEPTH,
                index: 0,
                syntax_only: false,
            },
        }
    }

    /// Yields `Value::Null` for every well-formed record instead of parsing it: for a pass
    /// that only checks the file (the import's pre-scan), at a fraction of the cost.
    /// Records nested deeper than `depth` (capped at [`MAX_RECORD_DEPTH`], what the parser
    /// can read) are per-record `FORMAT` errors.
    pub(crate) fn max_depth(mut self, depth: usize) -> Self {
        self.machine.max_depth = depth.clamp(1, MAX_RECORD_DEPTH);
        self
    }

    pub(crate) fn syntax_only(mut self, on: bool) -> Self {
        self.machine.syntax_only = on;
        self
    }

    /// The next record, `None` at the end; after an error the caller stops.
    pub(crate) fn next_record(&mut self) -> Option<Result<RawRecord, ReadError>> {
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) => return Some(Err(read_error_of(&e, self.machine.pos))),
            };
            if chunk.is_empty() {
                return self.machine.finish().transpose();
            }
            match self.machine.feed(chunk) {
                Ok((used, record)) => {
                    self.input.consume(used);
                    if record.is_some() {
                        return record.map(Ok);
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn is_plain_string_byte(b: u8) -> bool {
    b >= 0x20 && b != b'"' && b != b'\\'
}

impl Machine {
    /// Looks at `chunk` until it ends or a record ends; returns the bytes used and the record.
    fn feed(&mut self, chunk: &[u8]) -> Result<(usize, Option<RawRecord>), ReadError> {
        let mut segment = self.in_record.then_some(0);
        let mut i = 0;
        while i < chunk.len() {
            if let State::Str { .. } = self.state {
                let run = chunk[i..]
                    .iter()
                    .position(|&b| !is_plain_string_byte(b))
                    .unwrap_or(chunk.len() - i);
                if run > 0 {
                    self.pos.advance_in_line(&chunk[i..i + run]);
                    i += run;
                    continue;
                }
            }
            let b = chunk[i];
            let effect = self
                .byte(b)
                .map_err(|problem| self.error(problem, chunk, i))?;
            if std::mem::take(&mut self.started) {
                segment = Some(i);
                self.in_record = true;
                self.record_start = self.pos;
            }
            let end = match effect {
                Effect::Consumed => {
                    self.pos.step(b);
                    i + 1
                }
                Effect::Again => i,
            };
            if std::mem::take(&mut self.ended) {
                if let Some(from) = segment {
                    self.append(&chunk[from..end]);
                }
                return Ok((end, Some(self.take_record())));
            }
            i = end;
        }
        if let Some(from) = segment {
            self.append(&chunk[from..]);
        }
        Ok((chunk.len(), None))
    }

    fn append(&mut self, bytes: &[u8]) {
        self.record_len += bytes.len() as u64;
        if self.oversize {
            return;
        }
        if self.buf.len() + bytes.len() > self.max_record {
            self.oversize = true;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn take_record(&mut self) -> RawRecord {
        let index = self.index;
        self.index += 1;
        self.in_record = false;
        let line = self.record_start.line;
        let value = if self.oversize {
            Err(RecordError::new(
                ErrorCode::MaxLength,
                "",
                format!(
                    "the record is {} bytes long, more than the limit of {} (max_record_bytes)",
                    self.record_len,
                    human_size(self.max_record as u64)
                ),
            ))
        } else if self.record_depth > self.max_depth {
            Err(RecordError::new(
                ErrorCode::Format,
                "",
                format!(
                    "the record is nested {} levels deep; at most {} levels of objects and \
                     arrays are supported",
                    self.record_depth, self.max_depth
                ),
            ))
        } else if self.syntax_only {
            Ok(Value::Null)
        } else {
            serde_json::from_slice::<Value>(&self.buf).map_err(|e| {
                let text = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                let problem = text.strip_suffix(&suffix).unwrap_or(&text);
                let at = line + (e.line() as u64).saturating_sub(1);
                RecordError::new(
                    ErrorCode::Format,
                    "",
                    format!("the record cannot be read: {problem} (line {at})"),
                )
            })
        };
        self.buf.clear();
        self.oversize = false;
        self.record_len = 0;
        self.record_depth = 0;
        RawRecord { index, line, value }
    }

    /// End of input.
    fn finish(&mut self) -> Result<Option<RawRecord>, ReadError> {
        match self.state {
            State::TopStart | State::TopEnd => return Ok(None),
            State::Num(number) if self.ndjson && number.can_end() && self.stack.is_empty() => {
                self.state = State::TopEnd;
                return Ok(Some(self.take_record()));
            }
            _ => {}
        }
        let message = match self.state {
            State::Str { .. } | State::Escape { .. } | State::Hex { .. } => {
                "unexpected end of file inside a string"
            }
            State::Num(_) | State::Literal { .. } if self.stack.is_empty() => {
                "unexpected end of file inside a value"
            }
            _ if !self.ndjson && self.stack.len() == 1 => {
                "unexpected end of file: the array is not closed with ']'"
            }
            _ => "unexpected end of file: an object or array is not closed",
        };
        Err(self.pos.error(message))
    }

    fn error(&self, problem: Problem, chunk: &[u8], i: usize) -> ReadError {
        let message = match problem {
            Problem::Other(message) => message.to_string(),
            Problem::Expected(expected) => {
                let found = describe(chunk, i);
                let hint = match (self.state, chunk[i]) {
                    (
                        State::After,
                        b'{' | b'[' | b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n',
                    ) => " (missing ',' between values?)",
                    (State::TopEnd, _) if self.ndjson => " (NDJSON holds one value per line)",
                    _ => "",
                };
                format!("expected {expected}, found {found}{hint}")
            }
        };
        self.pos.error(message)
    }

    /// Starts a value at byte `b`.
    fn start_value(&mut self, b: u8) -> Result<(), Problem> {
        let at_record_level = self.stack.len() == self.record_level;
        self.state = match b {
            b'{' => self.open(Container::Object)?,
            b'[' => self.open(Container::Array)?,
            b'"' => State::Str { key: false },
            b'-' => State::Num(Number::Minus),
            b'0' => State::Num(Number::Zero),
            b'1'..=b'9' => State::Num(Number::Int),
            b't' => State::Literal {
                word: b"true",
                at: 1,
            },
            b'f' => State::Literal {
                word: b"false",
                at: 1,
            },
            b'n' => State::Literal {
                word: b"null",
                at: 1,
            },
            _ => return Err(Problem::Expected("a JSON value")),
        };
        if at_record_level {
            self.started = true;
            self.record_depth = usize::from(matches!(b, b'{' | b'['));
        }
        Ok(())
    }

    fn open(&mut self, container: Container) -> Result<State, Problem> {
        if self.stack.len() >= MAX_SCAN_DEPTH {
            return Err(Problem::Other(
                "objects and arrays are nested more than 1048576 levels deep",
            ));
        }
        self.stack.push(container);
        if self.in_record || self.stack.len() > self.record_level {
            let depth = self.stack.len() - self.record_level;
            self.record_depth = self.record_depth.max(depth);
        }
        Ok(match container {
            Container::Array => State::ArrayFirst,
            Container::Object => State::ObjectFirst,
        })
    }

    /// A value (scalar or container) has just ended.
    fn value_done(&mut self) {
        if self.stack.len() == self.record_level {
            self.ended = true;
        }
        self.state = if self.stack.is_empty() {
            State::TopEnd
        } else {
            State::After
        };
    }

    fn close(&mut self, container: Container) {
        self.stack.pop();
        if !self.ndjson && self.stack.is_empty() && container == Container::Array {
            // The outer array: no record ends here.
            self.state = State::TopEnd;
        } else {
            self.value_done();
        }
    }

    /// A line ends (NDJSON) where the grammar does not allow it.
    fn newline_inside_value(&self) -> Result<Effect, Problem> {
        Err(Problem::Other(
            "the line ends inside a JSON value; NDJSON needs each value on one line",
        ))
    }

    fn byte(&mut self, b: u8) -> Result<Effect, Problem> {
        let whitespace = matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        match self.state {
            State::Str { key } => match b {
                b'"' => {
                    if key {
                        self.state = State::Colon;
                    } else {
                        self.value_done();
                    }
                }
                b'\\' => self.state = State::Escape { key },
                b'\n' if self.ndjson => return self.newline_inside_value(),
                0..=0x1F => {
                    return Err(Problem::Other(
                        "control character in a string (it must be escaped, e.g. \\n)",
                    ));
                }
                _ => {}
            },
            State::Escape { key } => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    self.state = State::Str { key };
                }
                b'u' => self.state = State::Hex { key, left: 4 },
                _ => {
                    return Err(Problem::Expected(
                        "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)",
                    ));
                }
            },
            State::Hex { key, left } => {
                if !b.is_ascii_hexdigit() {
                    return Err(Problem::Expected("a hex digit in a \\u escape"));
                }
                self.state = if left == 1 {
                    State::Str { key }
                } else {
                    State::Hex {
                        key,
                        left: left - 1,
                    }
                };
            }
            State::Num(number) => {
                let next = match (number, b) {
                    (Number::Minus, b'0') => Number::Zero,
                    (Number::Minus, b'1'..=b'9') => Number::Int,
                    (Number::Int, b'0'..=b'9') => Number::Int,
                    (Number::Zero | Number::Int, b'.') => Number::Dot,
                    (Number::Dot | Number::Frac, b'0'..=b'9') => Number::Frac,
                    (Number::Zero | Number::Int | Number::Frac, b'e' | b'E') => Number::Exp,
                    (Number::Exp, b'+' | b'-') => Number::ExpSign,
                    (Number::Exp | Number::ExpSign | Number::ExpDigits, b'0'..=b'9') => {
                        Number::ExpDigits
                    }
                    (Number::Zero, b'0'..=b'9') => {
                        return Err(Problem::Other("a number cannot have a leading zero"));
                    }
                    (number, _) if number.can_end() => {
                        self.value_done();
                        return Ok(Effect::Again);
                    }
                    _ => return Err(Problem::Expected("a digit")),
                };
                self.state = State::Num(next);
            }
            State::Literal { word, at } => {
                let at = usize::from(at);
                if word.get(at) != Some(&b) {
                    return Err(Problem::Expected(match word {
                        b"true" => "'true'",
                        b"false" => "'false'",
                        _ => "'null'",
                    }));
                }
                if at + 1 == word.len() {
                    self.value_done();
                } else {
                    self.state = State::Literal {
                        word,
                        at: (at + 1) as u8,
                    };
                }
            }
            _ if whitespace => {
                if b == b'\n' && self.ndjson {
                    match self.state {
                        State::TopStart => {}
                        State::TopEnd => self.state = State::TopStart,
                        _ => return self.newline_inside_value(),
                    }
                }
            }
            State::TopStart if self.ndjson => self.start_value(b)?,
            State::TopStart => {
                if b != b'[' {
                    return Err(Problem::Expected("'[' (a users file is a JSON array)"));
                }
                self.state = self.open(Container::Array)?;
            }
            State::TopEnd if self.ndjson => return Err(Problem::Expected("the end of the line")),
            State::TopEnd => return Err(Problem::Expected("nothing after the end of the array")),
            State::ArrayFirst => {
                if b == b']' {
                    self.close(Container::Array);
                } else {
                    self.start_value(b)?;
                }
            }
            State::ArrayNext | State::Value => {
                if b == b']' && self.state == State::ArrayNext {
                    return Err(Problem::Other("trailing comma: a value must follow ','"));
                }
                self.start_value(b)?;
            }
            State::ObjectFirst | State::ObjectNext => match b {
                b'"' => self.state = State::Str { key: true },
                b'}' if self.state == State::ObjectFirst => self.close(Container::Object),
                b'}' => return Err(Problem::Other("trailing comma: a property must follow ','")),
                _ => return Err(Problem::Expected("a property name in double quotes")),
            },
            State::Colon => {
                if b != b':' {
                    return Err(Problem::Expected("':'"));
                }
                self.state = State::Value;
            }
            State::After => match (self.stack.last(), b) {
                (Some(Container::Array), b',') => self.state = State::ArrayNext,
                (Some(Container::Object), b',') => self.state = State::ObjectNext,
                (Some(Container::Array), b']') => self.close(Container::Array),
                (Some(Container::Object), b'}') => self.close(Container::Object),
                (Some(Container::Array), _) => return Err(Problem::Expected("',' or ']'")),
                _ => return Err(Problem::Expected("',' or '}'")),
            },
        }
        Ok(Effect::Consumed)
    }
}

/// How an unexpected byte is named in a message: `'x'`, `'é' (U+00E9)`, `U+0000`, `a line end`.
fn describe(chunk: &[u8], i: usize) -> String {
    let b = chunk[i];
    match b {
        b'\n' => "a line end".to_string(),
        b'\r' => "a carriage return".to_string(),
        0x21..=0x7E => format!("'{}'", char::from(b)),
        0..=0x7F => format!("U+{b:04X}"),
        _ => (2..=4)
            .filter_map(|len| chunk.get(i..i + len))
            .find_map(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|s| s.chars().next())
            .map_or_else(
                || format!("byte 0x{b:02X}"),
                |c| format!("'{c}' (U+{:04X})", u32::from(c)),
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scan(text: &str, ndjson: bool) -> (Vec<RawRecord>, Option<ReadError>) {
        let mut scanner = JsonScanner::new(text.as_bytes(), ndjson, Pos::START, 1 << 20);
        let mut records = Vec::new();
        while let Some(item) = scanner.next_record() {
            match item {
                Ok(record) => records.push(record),
                Err(e) => return (records, Some(e)),
            }
        }
        (records, None)
    }

    fn values(text: &str, ndjson: bool) -> Vec<Value> {
        let (records, err) = scan(text, ndjson);
        assert!(err.is_none(), "{text}: {err:?}");
        records.into_iter().map(|r| r.value.unwrap()).collect()
    }

    fn error(text: &str, ndjson: bool) -> ReadError {
        scan(text, ndjson)
            .1
            .unwrap_or_else(|| panic!("{text}: no error"))
    }

    #[test]
    fn scalars_and_containers_as_records() {
        let text =
            r#"[1, -0.5e+3, "a\"b\u00e9", true, false, null, [], {}, [1,[2]], {"a":{"b":[]}}, 0]"#;
        assert_eq!(
            values(text, false),
            vec![
                json!(1),
                json!(-500.0),
                json!("a\"bé"),
                json!(true),
                json!(false),
                json!(null),
                json!([]),
                json!({}),
                json!([1, [2]]),
                json!({"a": {"b": []}}),
                json!(0)
            ]
        );
        assert_eq!(values("  [ ]  ", false), Vec::<Value>::new());
        assert_eq!(values("", false), Vec::<Value>::new());
        assert_eq!(
            values("1\n\n  \"x\"  \r\n[2]\n{}", true),
            vec![json!(1), json!("x"), json!([2]), json!({})]
        );
        assert_eq!(values("7", true), vec![json!(7)]);
    }

    #[test]
    fn grammar_errors() {
        for (text, ndjson, needle) in [
            ("[1,]", false, "trailing comma"),
            ("[{\"a\":1,}]", false, "trailing comma"),
            ("[1 2]", false, "missing ','"),
            ("[01]", false, "leading zero"),
            ("[-]", false, "expected a digit"),
            ("[1.]", false, "expected a digit"),
            ("[1e]", false, "expected a digit"),
            ("[tru]", false, "'true'"),
            ("[nul", false, "end of file"),
            ("[\"a\\x\"]", false, "escape"),
            ("[\"\\u12G4\"]", false, "hex digit"),
            ("[\"a\tb\"]", false, "control character"),
            ("[{1:2}]", false, "property name"),
            ("[{\"a\" 2}]", false, "':'"),
            ("[{\"a\":2]", false, "',' or '}'"),
            ("[1}", false, "',' or ']'"),
            ("[1] x", false, "nothing after the end"),
            ("[1][2]", false, "nothing after the end"),
            ("{\"a\":1}", false, "'['"),
            ("[", false, "not closed"),
            ("[[1]", false, "not closed"),
            ("[\"abc", false, "inside a string"),
            ("{\"a\":1} {}", true, "one value per line"),
            ("{\"a\":\n1}", true, "NDJSON needs each value on one line"),
            ("[1,\n2]", true, "NDJSON needs each value on one line"),
            ("\"ab\ncd\"", true, "line ends inside"),
            ("{\"a\":1", true, "not closed"),
            ("tru", true, "inside a value"),
            ("x", true, "a JSON value"),
            ("[é]", false, "'é' (U+00E9)"),
        ] {
            let err = error(text, ndjson);
            assert!(err.message.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn error_positions() {
        let err = error("[\n  {\"a\": 1},\n  {\"a\" 1}\n]", false);
        assert_eq!((err.line, err.column, err.byte), (3, 8, 21));
        let err = error("[\"é€\", x]", false);
        assert_eq!((err.line, err.column, err.byte), (1, 8, 10));
        let err = error("[1,", false);
        assert_eq!((err.line, err.column, err.byte), (1, 4, 3));
    }

    #[test]
    fn record_lines_and_indexes() {
        let (records, _) = scan("[\n{\"a\":1},\n\n  {\"a\":2}, 3\n]", false);
        let lines: Vec<(u64, u64)> = records.iter().map(|r| (r.index, r.line)).collect();
        assert_eq!(lines, vec![(0, 2), (1, 4), (2, 4)]);
        let (records, _) = scan("\n{\"a\":1}\n\n{\"a\":2}\n", true);
        let lines: Vec<(u64, u64)> = records.iter().map(|r| (r.index, r.line)).collect();
        assert_eq!(lines, vec![(0, 2), (1, 4)]);
    }

    #[test]
    fn depth_limit_matches_serde_json() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let ok = nested(MAX_RECORD_DEPTH);
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(MAX_RECORD_DEPTH + 1)).is_err());
        let text = format!("[{ok}, {}, 1]", nested(MAX_RECORD_DEPTH + 1));
        let (records, err) = scan(&text, false);
        assert!(err.is_none());
        assert!(records[0].value.is_ok());
        let bad = records[1].value.as_ref().unwrap_err();
        assert_eq!((bad.code, bad.path.as_str()), (ErrorCode::Format, ""));
        assert!(bad.message.contains("128 levels deep"), "{}", bad.message);
        assert_eq!(records[2].value, Ok(json!(1)));
    }

    #[test]
    fn serde_refusals_are_per_record() {
        let (records, err) = scan("[1e999, \"\\ud800\", 2]", false);
        assert!(err.is_none());
        assert_eq!(records.len(), 3);
        assert!(
            records[0]
                .value
                .as_ref()
                .unwrap_err()
                .message
                .contains("out of range")
        );
        assert!(records[1].value.is_err());
        assert_eq!(records[2].value, Ok(json!(2)));
    }

    #[test]
    fn oversized_records_are_skipped_in_flat_memory() {
        let big = format!("\"{}\"", "x".repeat(5000));
        let text = format!("[{{\"a\":1}}, {big}, {{\"b\":2}}]");
        let mut scanner = JsonScanner::new(text.as_bytes(), false, Pos::START, 1000);
        let values: Vec<_> = std::iter::from_fn(|| scanner.next_record())
            .map(|r| r.unwrap().value)
            .collect();
        assert_eq!(values[0], Ok(json!({"a": 1})));
        let err = values[1].as_ref().unwrap_err();
        assert_eq!(err.code, ErrorCode::MaxLength);
        assert!(err.message.contains("5002 bytes"), "{}", err.message);
        assert_eq!(values[2], Ok(json!({"b": 2})));
    }

    /// Feeding one byte at a time gives the same records as feeding everything at once.
    #[test]
    fn chunk_boundaries_do_not_matter() {
        struct OneByte<'a>(&'a [u8]);
        impl std::io::Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let text = "[ 12 , -3.5e2,\"é\\u0041\" , {\"k\": [true, null]} ,0 ]";
        let reader = std::io::BufReader::with_capacity(1, OneByte(text.as_bytes()));
        let mut scanner = JsonScanner::new(reader, false, Pos::START, 1 << 20);
        let slow: Vec<_> = std::iter::from_fn(|| scanner.next_record())
            .map(|r| r.unwrap().value.unwrap())
            .collect();
        assert_eq!(slow, values(text, false));
        let text = "12\n-3\n\"x\"\n0";
        let reader = std::io::BufReader::with_capacity(1, OneByte(text.as_bytes()));
        let mut scanner = JsonScanner::new(reader, true, Pos::START, 1 << 20);
        let slow: Vec<_> = std::iter::from_fn(|| scanner.next_record())
            .map(|r| r.unwrap().value.unwrap())
            .collect();
        assert_eq!(slow, vec![json!(12), json!(-3), json!("x"), json!(0)]);
    }
}
