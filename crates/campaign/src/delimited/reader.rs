//! The streaming reader: input → (gunzip with a cap) → BOM removed → UTF-8 bytes → records.

use std::io::{self, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::encoding::{Encoding, Transcoder};
use super::{
    Dialect, MAX_QUALIFIED_FIELD_BYTES, MAX_QUALIFIED_FIELD_LINES, ReadError, ReadErrorKind,
    ReadLimits, Record, RecordError,
};

const BUF_SIZE: usize = 64 * 1024;

/// Counters of a [`DelimitedReader`], for the report and for progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Physical lines seen so far (a final line without terminator counts).
    pub physical_lines: u64,
    /// Lines skipped by `skip_rows`.
    pub skipped_lines: u64,
    /// Whitespace-only lines, skipped.
    pub blank_lines: u64,
    /// Records returned as [`Record`] (the header not included).
    pub records: u64,
    /// Records returned as [`RecordError`].
    pub rejected: u64,
    /// Input bytes consumed (compressed bytes for gzip input), for percent-by-bytes progress.
    pub bytes: u64,
    /// Line terminators seen, by kind.
    pub lf: u64,
    pub crlf: u64,
    pub cr: u64,
}

/// Counts the bytes read from the original input.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Debug)]
struct CapExceeded(u64);

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the decompressed content exceeds the limit of {} bytes",
            self.0
        )
    }
}

impl std::error::Error for CapExceeded {}

/// Fails once more than `cap` bytes came out of a decompressor (gzip bombs, IMP-5).
struct Capped<R> {
    inner: R,
    cap: u64,
    total: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.total > self.cap {
            return Err(io::Error::other(CapExceeded(self.cap)));
        }
        Ok(n)
    }
}

fn read_prefix(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match r.read(&mut prefix[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    prefix.truncate(got);
    Ok(prefix)
}

pub(crate) fn io_error(e: io::Error, line: u64, byte: u64) -> ReadError {
    let too_large = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<CapExceeded>().is_some());
    ReadError {
        kind: if too_large {
            ReadErrorKind::TooLarge
        } else {
            ReadErrorKind::Io
        },
        line,
        byte,
        message: e.to_string(),
    }
}

/// The input after gzip detection and decompression, before BOM handling.
pub(crate) struct Opened {
    pub(crate) stream: Box<dyn Read + Send>,
    pub(crate) bytes: Arc<AtomicU64>,
    pub(crate) gzip: bool,
}

pub(crate) fn open(
    input: impl Read + Send + 'static,
    max_decompressed_bytes: u64,
) -> Result<Opened, ReadError> {
    let bytes = Arc::new(AtomicU64::new(0));
    let mut counting = Counting {
        inner: input,
        count: bytes.clone(),
    };
    let magic =
        read_prefix(&mut counting, 2).map_err(|e| io_error(e, 1, bytes.load(Ordering::Relaxed)))?;
    let gzip = magic == [0x1f, 0x8b];
    let chained = Cursor::new(magic).chain(counting);
    let stream: Box<dyn Read + Send> = if gzip {
        Box::new(Capped {
            inner: flate2::read::MultiGzDecoder::new(chained),
            cap: max_decompressed_bytes,
            total: 0,
        })
    } else {
        Box::new(chained)
    };
    Ok(Opened {
        stream,
        bytes,
        gzip,
    })
}

/// Removes a BOM; returns the stream, the encoding to use and whether a BOM was there.
pub(crate) fn strip_bom(
    mut stream: Box<dyn Read + Send>,
    fallback: Encoding,
    bytes: &AtomicU64,
) -> Result<(Box<dyn Read + Send>, Encoding, bool), ReadError> {
    let prefix =
        read_prefix(&mut stream, 3).map_err(|e| io_error(e, 1, bytes.load(Ordering::Relaxed)))?;
    let (encoding, skip, bom) = match Encoding::from_bom(&prefix) {
        Some((enc, len)) => (enc, len, true),
        None => (fallback, 0, false),
    };
    let rest = prefix[skip..].to_vec();
    Ok((Box::new(Cursor::new(rest).chain(stream)), encoding, bom))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteSeen,
}

enum Parsed {
    /// Field `i` is `buf[ends[i-1]..ends[i]]`.
    Record {
        line: u64,
    },
    Unbalanced {
        line: u64,
        raw: Vec<u8>,
    },
}

/// A streaming reader of delimited records; see the module documentation.
pub struct DelimitedReader {
    source: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    delimiter: u8,
    qualifier: Option<u8>,
    /// Line of the next byte.
    line: u64,
    after_cr: bool,
    /// Discard bytes up to the next line terminator before the next record.
    skip_to_eol: bool,
    raw: Vec<u8>,
    field_buf: Vec<u8>,
    ends: Vec<usize>,
    /// The current record, decoded: its text and its fields' text (fields end at `ends`).
    raw_text: String,
    fields_text: String,
    headers: Option<Vec<String>>,
    max_record_bytes: usize,
    max_fields: usize,
    encoding: Encoding,
    bom: bool,
    gzip: bool,
    counts: Counts,
    bytes: Arc<AtomicU64>,
    finished: bool,
}

impl DelimitedReader {
    /// Opens `input` with `dialect`; reads the skipped rows and the header row right away.
    /// `max_decompressed_bytes` caps what a gzip input may expand to; the other caps are the
    /// defaults of [`ReadLimits`].
    pub fn new(
        input: impl Read + Send + 'static,
        dialect: &Dialect,
        max_decompressed_bytes: u64,
    ) -> Result<Self, ReadError> {
        let limits = ReadLimits {
            max_decompressed_bytes,
            ..ReadLimits::default()
        };
        DelimitedReader::with_limits(input, dialect, &limits)
    }

    /// [`DelimitedReader::new`] under the given caps.
    pub fn with_limits(
        input: impl Read + Send + 'static,
        dialect: &Dialect,
        limits: &ReadLimits,
    ) -> Result<Self, ReadError> {
        let bad_dialect = |message: String| ReadError {
            kind: ReadErrorKind::BadDialect,
            line: 0,
            byte: 0,
            message,
        };
        let is_usable = |c: char| c.is_ascii() && c != '\r' && c != '\n';
        if !is_usable(dialect.delimiter) {
            return Err(bad_dialect(format!(
                "the delimiter {:?} is not supported (an ASCII character other than CR/LF is needed)",
                dialect.delimiter
            )));
        }
        if let Some(q) = dialect
            .qualifier
            .filter(|&q| !is_usable(q) || q == dialect.delimiter)
        {
            {
                return Err(bad_dialect(format!(
                    "the text qualifier {q:?} is not supported (an ASCII character other than CR/LF and the delimiter is needed)"
                )));
            }
        }
        let opened = open(input, limits.max_decompressed_bytes)?;
        let (stream, encoding, bom) = strip_bom(opened.stream, dialect.encoding, &opened.bytes)?;
        let source = Transcoder::wrap(stream, encoding);
        let mut reader = DelimitedReader {
            source,
            buf: vec![0; BUF_SIZE],
            pos: 0,
            len: 0,
            eof: false,
            delimiter: dialect.delimiter as u8,
            qualifier: dialect.qualifier.map(|q| q as u8),
            line: 1,
            after_cr: false,
            skip_to_eol: false,
            raw: Vec::new(),
            field_buf: Vec::new(),
            ends: Vec::new(),
            raw_text: String::new(),
            fields_text: String::new(),
            headers: None,
            max_record_bytes: limits.max_record_bytes,
            max_fields: limits.max_fields.max(1),
            encoding,
            bom,
            gzip: opened.gzip,
            counts: Counts::default(),
            bytes: opened.bytes,
            finished: false,
        };
        for _ in 0..dialect.skip_rows {
            if !reader.skip_line()? {
                break;
            }
            reader.counts.skipped_lines += 1;
        }
        if dialect.header {
            match reader.advance()? {
                None => {}
                Some(Ok(_)) => {
                    reader.headers = Some(reader.view(0).fields().map(String::from).collect())
                }
                Some(Err(e)) => {
                    return Err(ReadError {
                        kind: ReadErrorKind::BadHeader,
                        line: e.line(),
                        byte: reader.bytes.load(Ordering::Relaxed),
                        message: format!(
                            "the header row cannot be read: {}",
                            match e {
                                RecordError::UnbalancedQuotes { .. } => "unbalanced quotes",
                                RecordError::Encoding { .. } =>
                                    "bytes invalid in the chosen encoding",
                            }
                        ),
                    });
                }
            }
        }
        Ok(reader)
    }

    /// The header row's fields, when the dialect has a header and the file is not empty.
    pub fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }

    /// The counters so far.
    pub fn counts(&self) -> Counts {
        Counts {
            bytes: self.bytes.load(Ordering::Relaxed),
            ..self.counts
        }
    }

    /// The encoding in use (the BOM's when there was one).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether a BOM was found (and removed).
    pub fn bom(&self) -> bool {
        self.bom
    }

    /// Whether the input was gzip-compressed.
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    fn error(&self, kind: ReadErrorKind, message: String) -> ReadError {
        ReadError {
            kind,
            line: self.line,
            byte: self.bytes.load(Ordering::Relaxed),
            message,
        }
    }

    #[inline]
    fn next_byte(&mut self) -> Result<Option<u8>, ReadError> {
        if self.pos < self.len {
            let b = self.buf[self.pos];
            self.pos += 1;
            return Ok(Some(b));
        }
        self.refill()
    }

    #[cold]
    fn refill(&mut self) -> Result<Option<u8>, ReadError> {
        if self.eof {
            return Ok(None);
        }
        if self.buf.len() < BUF_SIZE {
            self.buf.resize(BUF_SIZE, 0);
        }
        let n = loop {
            match self.source.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.eof = true;
                    return Err(io_error(e, self.line, self.bytes.load(Ordering::Relaxed)));
                }
            }
        };
        self.pos = 0;
        self.len = n;
        if n == 0 {
            self.eof = true;
            return Ok(None);
        }
        self.pos = 1;
        Ok(Some(self.buf[0]))
    }

    /// Accounts a CR or LF; returns false for the LF of a CRLF (not a new line).
    #[inline]
    fn terminator(&mut self, b: u8) -> bool {
        if b == b'\n' && self.after_cr {
            self.after_cr = false;
            self.counts.cr = self.counts.cr.saturating_sub(1);
            self.counts.crlf += 1;
            return false;
        }
        self.after_cr = b == b'\r';
        if self.after_cr {
            self.counts.cr += 1;
        } else {
            self.counts.lf += 1;
        }
        self.counts.physical_lines = self.counts.physical_lines.max(self.line);
        self.line += 1;
        true
    }

    #[inline]
    fn saw_content(&mut self) {
        self.after_cr = false;
        self.counts.physical_lines = self.counts.physical_lines.max(self.line);
    }

    /// Skips one physical line; false at end of input.
    fn skip_line(&mut self) -> Result<bool, ReadError> {
        let mut any = false;
        loop {
            let Some(b) = self.next_byte()? else {
                return Ok(any);
            };
            if b == b'\r' || b == b'\n' {
                if self.terminator(b) {
                    return Ok(true);
                }
                continue;
            }
            self.saw_content();
            any = true;
        }
    }

    /// Parses one record into `raw`, `field_buf` and `ends`.
    fn parse(&mut self) -> Result<Option<Parsed>, ReadError> {
        if self.skip_to_eol {
            self.skip_to_eol = false;
            if !self.skip_line()? {
                return Ok(None);
            }
        }
        self.raw.clear();
        self.field_buf.clear();
        self.ends.clear();
        let d = self.delimiter;
        let q = self.qualifier;
        let mut state = State::FieldStart;
        let mut start_line = self.line;
        let mut started = false;
        let mut q_line = 0u64;
        let mut q_bytes = 0usize;
        loop {
            let Some(b) = self.next_byte()? else {
                if !started {
                    return Ok(None);
                }
                if state == State::Quoted {
                    return Ok(Some(self.unbalanced(start_line)));
                }
                self.ends.push(self.field_buf.len());
                return Ok(Some(Parsed::Record { line: start_line }));
            };
            let is_term = b == b'\r' || b == b'\n';
            if !started {
                if b == b'\n' && self.after_cr {
                    self.terminator(b);
                    continue;
                }
                started = true;
                start_line = self.line;
            }
            if is_term {
                if state == State::Quoted {
                    self.terminator(b);
                    self.raw.push(b);
                    self.field_buf.push(b);
                    q_bytes += 1;
                    if self.line - q_line >= MAX_QUALIFIED_FIELD_LINES {
                        return Ok(Some(self.unbalanced(start_line)));
                    }
                    continue;
                }
                self.terminator(b);
                self.ends.push(self.field_buf.len());
                return Ok(Some(Parsed::Record { line: start_line }));
            }
            self.saw_content();
            self.raw.push(b);
            if self.raw.len() > self.max_record_bytes && state != State::Quoted {
                return Err(self.error(
                    ReadErrorKind::RecordTooLong,
                    format!(
                        "the record starting on line {start_line} is longer than {} bytes (max_line_bytes)",
                        self.max_record_bytes
                    ),
                ));
            }
            match state {
                State::FieldStart => {
                    if Some(b) == q {
                        state = State::Quoted;
                        q_line = self.line;
                        q_bytes = 0;
                    } else if b == d {
                        self.ends.push(self.field_buf.len());
                    } else {
                        self.field_buf.push(b);
                        state = State::Unquoted;
                    }
                }
                State::Unquoted => {
                    if b == d {
                        self.ends.push(self.field_buf.len());
                        state = State::FieldStart;
                    } else {
                        self.field_buf.push(b);
                    }
                }
                State::Quoted => {
                    if Some(b) == q {
                        state = State::QuoteSeen;
                    } else {
                        self.field_buf.push(b);
                        q_bytes += 1;
                        if q_bytes > MAX_QUALIFIED_FIELD_BYTES {
                            return Ok(Some(self.unbalanced(start_line)));
                        }
                    }
                }
                State::QuoteSeen => {
                    if Some(b) == q {
                        self.field_buf.push(b);
                        q_bytes += 1;
                        state = State::Quoted;
                    } else if b == d {
                        self.ends.push(self.field_buf.len());
                        state = State::FieldStart;
                    } else {
                        // Lenient: text after a closing qualifier is kept as is.
                        self.field_buf.push(b);
                        state = State::Unquoted;
                    }
                }
            }
            // `max_fields` fields ended at a delimiter: at least one more follows.
            if self.ends.len() >= self.max_fields {
                return Err(self.error(
                    ReadErrorKind::TooManyFields,
                    format!(
                        "the record starting on line {start_line} has more than {} fields (max_columns)",
                        self.max_fields
                    ),
                ));
            }
        }
    }

    /// Rejects the record starting on `start_line` and resumes on the physical line after it:
    /// what was consumed past that first line is read again.
    fn unbalanced(&mut self, start_line: u64) -> Parsed {
        let raw = std::mem::take(&mut self.raw);
        let first_end = raw.iter().position(|&b| b == b'\r' || b == b'\n');
        match first_end {
            Some(i) => {
                let term = if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                let mut replay = raw[i + term..].to_vec();
                replay.extend_from_slice(&self.buf[self.pos..self.len]);
                self.after_cr = raw[i] == b'\r' && term == 1 && i + 1 == raw.len();
                self.len = replay.len();
                self.pos = 0;
                self.buf = replay;
                self.line = start_line + 1;
                let mut first = raw;
                first.truncate(i);
                Parsed::Unbalanced {
                    line: start_line,
                    raw: first,
                }
            }
            None => {
                // The first line is not finished yet (too long) or ended the input.
                self.skip_to_eol = true;
                Parsed::Unbalanced {
                    line: start_line,
                    raw,
                }
            }
        }
    }

    /// The next record, blank lines included (they come back as records).
    /// Moves to the next record that is not blank (blank lines are counted and skipped):
    /// its line, decoded into `raw_text` and `fields_text`, or why it cannot be read.
    fn advance(&mut self) -> Result<Option<Result<u64, RecordError>>, ReadError> {
        loop {
            let Some(parsed) = self.parse()? else {
                return Ok(None);
            };
            let line = match parsed {
                Parsed::Unbalanced { line, raw } => {
                    return Ok(Some(Err(RecordError::UnbalancedQuotes {
                        line,
                        raw: String::from_utf8_lossy(&raw).into_owned(),
                    })));
                }
                Parsed::Record { line } => line,
            };
            // Fields are the record's text less qualifiers and delimiters (ASCII), so they
            // are valid UTF-8 when the record is; each buffer is checked once.
            let (Ok(raw), Ok(fields)) = (
                simdutf8::basic::from_utf8(&self.raw),
                simdutf8::basic::from_utf8(&self.field_buf),
            ) else {
                return Ok(Some(Err(RecordError::Encoding {
                    line,
                    raw: String::from_utf8_lossy(&self.raw).into_owned(),
                })));
            };
            if is_blank(raw) && !raw.contains(self.delimiter as char) {
                self.counts.blank_lines += 1;
                continue;
            }
            self.raw_text.clear();
            self.raw_text.push_str(raw);
            self.fields_text.clear();
            self.fields_text.push_str(fields);
            return Ok(Some(Ok(line)));
        }
    }

    fn view(&self, line: u64) -> RecordView<'_> {
        RecordView {
            line,
            raw: &self.raw_text,
            text: &self.fields_text,
            ends: &self.ends,
        }
    }

    /// The next record, borrowed: nothing is allocated per record or per field. The
    /// [`Iterator`] implementation gives the same records as owned [`Record`]s.
    #[allow(clippy::type_complexity)]
    pub fn next_record(
        &mut self,
    ) -> Option<Result<Result<RecordView<'_>, RecordError>, ReadError>> {
        if self.finished {
            return None;
        }
        match self.advance() {
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
            Ok(None) => {
                self.finished = true;
                None
            }
            Ok(Some(Err(e))) => {
                self.counts.rejected += 1;
                Some(Ok(Err(e)))
            }
            Ok(Some(Ok(line))) => {
                self.counts.records += 1;
                Some(Ok(Ok(self.view(line))))
            }
        }
    }
}

/// One record of the file, borrowed from the reader until the next call.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// 1-based physical line on which the record starts.
    pub line: u64,
    raw: &'a str,
    text: &'a str,
    ends: &'a [usize],
}

impl<'a> RecordView<'a> {
    /// The record's original text (decoded), without its line terminator.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The fields, qualifiers removed and doubled qualifiers undone.
    pub fn fields(&self) -> impl Iterator<Item = &'a str> + 'a {
        let text = self.text;
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            // `ends` are field boundaries in `text`, so always char boundaries.
            let field = text.get(start..end).unwrap_or_default();
            start = end;
            field
        })
    }

    /// The `i`-th field (0-based); `None` past the last.
    pub fn field(&self, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    pub fn to_record(&self) -> Record {
        Record {
            line: self.line,
            raw: self.raw.to_string(),
            fields: self.fields().map(String::from).collect(),
        }
    }
}

fn is_blank(raw: &str) -> bool {
    raw.chars().all(char::is_whitespace)
}

impl Iterator for DelimitedReader {
    type Item = Result<Result<Record, RecordError>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
            .map(|item| item.map(|record| record.map(|view| view.to_record())))
    }
}
