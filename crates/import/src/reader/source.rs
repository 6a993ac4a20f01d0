//! The byte pipeline under every format: raw bytes → gzip (when the magic bytes say so) → size
//! cap → encoding check (BOM) → UTF-8 validation with exact positions → detection prefix.
//!
//! Every stage reads through a fixed-size buffer, so memory does not depend on the file size.
//! Errors raised below the UTF-8 guard travel as [`io::Error`]s whose payload is a
//! [`SourceError`] (a finished message); the guard turns them into [`ReadError`]s carrying the
//! position reached, and the format parsers recover that [`ReadError`] with [`read_error_of`].

use std::fmt;
use std::io::{self, BufRead, Read};

use super::{InputFormat, ReadError};

/// Size of the UTF-8 guard's buffer (the unit in which the file is read).
const CHUNK: usize = 64 * 1024;
/// Format detection reads at most this much of the first line before deciding CSV vs TSV.
const DETECT_LIMIT: usize = 1024 * 1024;

/// A position in the decompressed, decoded input. `byte` counts from the start of the
/// decompressed data, a UTF-8 BOM included (so it is the offset an editor shows); `line` and
/// `column` are 1-based and `column` counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
    pub(crate) byte: u64,
}

impl Pos {
    pub(crate) const START: Pos = Pos {
        line: 1,
        column: 1,
        byte: 0,
    };

    /// Moves past one byte.
    #[inline]
    pub(crate) fn step(&mut self, b: u8) {
        self.byte += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if !is_continuation(b) {
            self.column += 1;
        }
    }

    /// Moves past `bytes`.
    pub(crate) fn advance(&mut self, bytes: &[u8]) {
        self.byte += bytes.len() as u64;
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.line += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                self.column = 1 + count_chars(&bytes[last + 1..]);
            }
            None => self.column += count_chars(bytes),
        }
    }

    /// Moves past `bytes`, which hold no `\n`.
    #[inline]
    pub(crate) fn advance_in_line(&mut self, bytes: &[u8]) {
        self.byte += bytes.len() as u64;
        self.column += count_chars(bytes);
    }

    pub(crate) fn error(self, message: impl Into<String>) -> ReadError {
        ReadError {
            line: self.line,
            column: self.column,
            byte: self.byte,
            message: message.into(),
        }
    }
}

#[inline]
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

fn count_chars(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| !is_continuation(b)).count() as u64
}

/// `1 GiB`, `64 MiB`, `512 KiB` or `1000 bytes`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// An I/O error payload whose message is final (it is shown as is).
#[derive(Debug)]
struct SourceError(String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

fn final_error(message: String) -> io::Error {
    io::Error::other(SourceError(message))
}

/// The message of an error raised below the UTF-8 guard.
fn source_message(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<SourceError>())
    {
        Some(source) => source.0.clone(),
        None => format!("cannot read the input: {error}"),
    }
}

/// The [`ReadError`] an I/O error from the guard carries, or one at `fallback` naming it.
pub(crate) fn read_error_of(error: &io::Error, fallback: Pos) -> ReadError {
    match error.get_ref().and_then(|e| e.downcast_ref::<ReadError>()) {
        Some(read_error) => read_error.clone(),
        None => fallback.error(source_message(error)),
    }
}

/// Reads up to `n` bytes (fewer only at the end of the input).
fn read_up_to(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0; n];
    let mut got = 0;
    while got < n {
        match reader.read(&mut out[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.truncate(got);
    Ok(out)
}

/// gzip decompression whose errors say so.
struct GzSource(flate2::read::MultiGzDecoder<Box<dyn Read + Send>>);

impl Read for GzSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                final_error(format!("cannot decompress the gzip data: {e}"))
            }
        })
    }
}

/// Fails once more than `limit` bytes have passed: the gzip-bomb cap (also applied to plain
/// input).
struct CapReader {
    inner: Box<dyn Read + Send>,
    left: u64,
    limit: u64,
    gzip: bool,
}

impl Read for CapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // One byte more than allowed is enough to know the limit is exceeded.
        let want =
            usize::try_from(self.left.saturating_add(1)).map_or(buf.len(), |w| w.min(buf.len()));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            let what = if self.gzip {
                "the decompressed data"
            } else {
                "the file"
            };
            let hint = if self.gzip { " (a gzip bomb?)" } else { "" };
            return Err(final_error(format!(
                "{what} is larger than the limit of {} (max_decompressed_bytes){hint}",
                human_size(self.limit)
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Passes on only valid UTF-8 and knows the position of the first byte it has not passed on.
/// Invalid UTF-8 is reported at its exact position, after every valid byte before it.
struct Utf8Guard {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    /// `buf[start..valid]` is validated and not yet consumed; `buf[valid..filled]` is the start
    /// of a character split by the read (at most 3 bytes).
    start: usize,
    valid: usize,
    filled: usize,
    /// Position of `buf[valid]`.
    pos: Pos,
    /// The error to report once the valid bytes before it are consumed; kept after that.
    error: Option<ReadError>,
}

impl Utf8Guard {
    fn new(inner: Box<dyn Read + Send>, start: Pos) -> Utf8Guard {
        Utf8Guard {
            inner,
            buf: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            valid: 0,
            filled: 0,
            pos: start,
            error: None,
        }
    }

    fn fail(&mut self, error: ReadError) -> io::Error {
        self.error = Some(error.clone());
        io::Error::new(io::ErrorKind::InvalidData, error)
    }
}

impl Read for Utf8Guard {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Utf8Guard {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.start == self.valid {
            if let Some(error) = &self.error {
                return Err(io::Error::new(io::ErrorKind::InvalidData, error.clone()));
            }
            let tail = self.filled - self.valid;
            self.buf.copy_within(self.valid..self.filled, 0);
            self.start = 0;
            self.valid = 0;
            self.filled = tail;
            let n = match self.inner.read(&mut self.buf[tail..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let error = self.pos.error(source_message(&e));
                    return Err(self.fail(error));
                }
            };
            if n == 0 {
                if tail == 0 {
                    return Ok(&[]);
                }
                let error = self.pos.error(format!(
                    "invalid UTF-8: the file ends inside a character ({}); the file must be UTF-8",
                    hex_bytes(&self.buf[..tail])
                ));
                return Err(self.fail(error));
            }
            self.filled += n;
            match std::str::from_utf8(&self.buf[..self.filled]) {
                Ok(_) => self.valid = self.filled,
                Err(e) => {
                    self.valid = e.valid_up_to();
                    if let Some(len) = e.error_len() {
                        let at = self.valid;
                        let mut pos = self.pos;
                        pos.advance(&self.buf[..at]);
                        self.error = Some(pos.error(format!(
                            "invalid UTF-8 ({}); the file must be UTF-8",
                            hex_bytes(&self.buf[at..at + len])
                        )));
                    }
                }
            }
            self.pos.advance(&self.buf[..self.valid]);
        }
        Ok(&self.buf[self.start..self.valid])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.valid);
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("0x{b:02X}")).collect();
    format!(
        "byte{} {}",
        if bytes.len() == 1 { "" } else { "s" },
        hex.join(" ")
    )
}

/// The decoded byte stream a [`RecordReader`](super::RecordReader) parses: decompressed, BOM
/// removed, checked to be UTF-8, limited in size. Opaque; it is a [`BufRead`].
pub struct Input {
    /// Bytes read ahead by format detection, served before the guard's.
    prefix: Vec<u8>,
    at: usize,
    guard: Utf8Guard,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("position", &self.guard.pos)
            .finish_non_exhaustive()
    }
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at < self.prefix.len() {
            return Ok(&self.prefix[self.at..]);
        }
        self.guard.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if self.at < self.prefix.len() {
            self.at += amount;
            if self.at >= self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
        } else {
            self.guard.consume(amount);
        }
    }
}

/// What [`open_input`] found.
pub(crate) struct Opened {
    pub(crate) input: Input,
    pub(crate) gzip: bool,
    pub(crate) format: InputFormat,
    /// Position of the first byte `input` yields.
    pub(crate) start: Pos,
}

/// Builds the pipeline over `raw` and, when `format` is `Auto`, detects the format.
pub(crate) fn open_input(
    raw: Box<dyn Read + Send>,
    format: InputFormat,
    max_decompressed_bytes: u64,
) -> Result<Opened, ReadError> {
    let mut raw = raw;
    let magic = read_up_to(&mut raw, 2)
        .map_err(|e| Pos::START.error(format!("cannot read the input: {e}")))?;
    let gzip = magic == [0x1f, 0x8b];
    let raw: Box<dyn Read + Send> = Box::new(io::Cursor::new(magic).chain(raw));
    let decoded: Box<dyn Read + Send> = if gzip {
        Box::new(GzSource(flate2::read::MultiGzDecoder::new(raw)))
    } else {
        raw
    };
    let mut capped: Box<dyn Read + Send> = Box::new(CapReader {
        inner: decoded,
        left: max_decompressed_bytes,
        limit: max_decompressed_bytes,
        gzip,
    });
    let head = read_up_to(&mut capped, 4).map_err(|e| Pos::START.error(source_message(&e)))?;
    let bom = check_encoding(&head).map_err(|message| Pos::START.error(message))?;
    let start = Pos {
        byte: bom as u64,
        ..Pos::START
    };
    let rest = head[bom..].to_vec();
    let guard = Utf8Guard::new(Box::new(io::Cursor::new(rest).chain(capped)), start);
    let mut input = Input {
        prefix: Vec::new(),
        at: 0,
        guard,
    };
    let (format, start) = match format {
        InputFormat::Auto => input.detect(start)?,
        other => (other, start),
    };
    Ok(Opened {
        input,
        gzip,
        format,
        start,
    })
}

impl Input {
    /// Reads ahead into `prefix` until the format is known: the first non-whitespace byte `[` →
    /// JSON array, `{` → NDJSON, otherwise CSV when the first line has more commas than tabs,
    /// TSV otherwise; no content at all → an (empty) JSON array. Leading blank lines that are
    /// dropped to keep the prefix small move the returned start position.
    fn detect(&mut self, start: Pos) -> Result<(InputFormat, Pos), ReadError> {
        let mut base = start;
        let mut eof = false;
        loop {
            if let Some(first) = self.prefix.iter().position(|&b| !is_json_whitespace(b)) {
                match self.prefix[first] {
                    b'[' => return Ok((InputFormat::JsonArray, base)),
                    b'{' => return Ok((InputFormat::Ndjson, base)),
                    _ => {}
                }
                let line_start = self.prefix[..first]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let line_end = self.prefix[first..].iter().position(|&b| b == b'\n');
                if line_end.is_some() || eof || self.prefix.len() >= DETECT_LIMIT {
                    let end = line_end.map_or(self.prefix.len(), |e| first + e);
                    let line = &self.prefix[line_start..end];
                    let commas = line.iter().filter(|&&b| b == b',').count();
                    let tabs = line.iter().filter(|&&b| b == b'\t').count();
                    let format = if commas > tabs {
                        InputFormat::Csv
                    } else {
                        InputFormat::Tsv
                    };
                    return Ok((format, base));
                }
            } else {
                if eof {
                    return Ok((InputFormat::JsonArray, base));
                }
                // Only whitespace so far: drop whole lines of it (all of it when it is huge).
                let drop = match self.prefix.iter().rposition(|&b| b == b'\n') {
                    Some(last) => last + 1,
                    None if self.prefix.len() >= DETECT_LIMIT => self.prefix.len(),
                    None => 0,
                };
                base.advance(&self.prefix[..drop]);
                self.prefix.drain(..drop);
            }
            let chunk = self.guard.fill_buf().map_err(|e| read_error_of(&e, base))?;
            if chunk.is_empty() {
                eof = true;
            } else {
                let n = chunk.len();
                self.prefix.extend_from_slice(chunk);
                self.guard.consume(n);
            }
        }
    }
}

pub(crate) fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Length of a UTF-8 BOM to skip, or why the file is not UTF-8 (UTF-16/32 with or without a
/// BOM; without one, recognised by the NUL bytes between ASCII characters).
fn check_encoding(head: &[u8]) -> Result<usize, String> {
    const UTF16: &str = "the file is UTF-16; save it as UTF-8";
    const UTF32: &str = "the file is UTF-32; save it as UTF-8";
    let ascii = |b: u8| b != 0 && b.is_ascii();
    match head {
        [0xEF, 0xBB, 0xBF, ..] => Ok(3),
        [0xFF, 0xFE, 0, 0] | [0, 0, 0xFE, 0xFF] => Err(UTF32.into()),
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => Err(UTF16.into()),
        [a, 0, 0, 0] | [0, 0, 0, a] if ascii(*a) => Err(UTF32.into()),
        [a, 0, b, 0] | [0, a, 0, b] if ascii(*a) && ascii(*b) => Err(UTF16.into()),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard_over(bytes: &[u8]) -> Utf8Guard {
        Utf8Guard::new(Box::new(io::Cursor::new(bytes.to_vec())), Pos::START)
    }

    /// Reads the guard with a tiny output buffer, so characters are split between reads.
    fn drain(guard: &mut Utf8Guard) -> (Vec<u8>, Option<ReadError>) {
        let mut out = Vec::new();
        let mut small = [0u8; 1];
        loop {
            match guard.read(&mut small) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&small[..n]),
                Err(e) => return (out, Some(read_error_of(&e, Pos::START))),
            }
        }
    }

    #[test]
    fn guard_passes_valid_utf8_and_stops_at_the_first_invalid_byte() {
        let (out, err) = drain(&mut guard_over("añb\n€c".as_bytes()));
        assert_eq!(out, "añb\n€c".as_bytes());
        assert!(err.is_none());

        let mut bytes = b"ab\ncd".to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice(b"zz");
        let (out, err) = drain(&mut guard_over(&bytes));
        assert_eq!(out, b"ab\ncd");
        let err = err.unwrap();
        assert_eq!((err.line, err.column, err.byte), (2, 3, 5));
        assert!(err.message.contains("0xFF"), "{err}");

        let (out, err) = drain(&mut guard_over(&[b'x', 0xE2, 0x82]));
        assert_eq!(out, b"x");
        assert!(err.unwrap().message.contains("ends inside a character"));
    }

    #[test]
    fn guard_reassembles_characters_split_between_reads() {
        // A reader that hands out one byte at a time.
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 == self.0.len() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        let text = "€😀é";
        let mut guard = Utf8Guard::new(Box::new(Trickle(text.as_bytes().to_vec(), 0)), Pos::START);
        let (out, err) = drain(&mut guard);
        assert_eq!(out, text.as_bytes());
        assert!(err.is_none());
        assert_eq!(
            guard.pos,
            Pos {
                line: 1,
                column: 4,
                byte: 9
            }
        );
    }

    #[test]
    fn positions_count_characters() {
        let mut pos = Pos::START;
        pos.advance("é\nab€".as_bytes());
        assert_eq!(
            pos,
            Pos {
                line: 2,
                column: 4,
                byte: 8
            }
        );
        let mut stepped = Pos::START;
        for &b in "é\nab€".as_bytes() {
            stepped.step(b);
        }
        assert_eq!(stepped, pos);
    }

    #[test]
    fn encodings() {
        assert_eq!(check_encoding(&[0xEF, 0xBB, 0xBF, b'[']), Ok(3));
        assert_eq!(check_encoding(b"[{\"a"), Ok(0));
        assert_eq!(check_encoding(b""), Ok(0));
        assert!(
            check_encoding(&[0xFF, 0xFE, b'[', 0])
                .unwrap_err()
                .contains("UTF-16")
        );
        assert!(
            check_encoding(&[0xFE, 0xFF, 0, b'['])
                .unwrap_err()
                .contains("UTF-16")
        );
        assert!(
            check_encoding(&[0xFF, 0xFE, 0, 0])
                .unwrap_err()
                .contains("UTF-32")
        );
        assert!(
            check_encoding(&[b'[', 0, b'{', 0])
                .unwrap_err()
                .contains("UTF-16")
        );
        assert!(
            check_encoding(&[0, b'[', 0, b'{'])
                .unwrap_err()
                .contains("UTF-16")
        );
        assert!(
            check_encoding(&[b'[', 0, 0, 0])
                .unwrap_err()
                .contains("UTF-32")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(4 << 30), "4 GiB");
        assert_eq!(human_size(64 << 20), "64 MiB");
        assert_eq!(human_size(1536), "1536 bytes");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(0), "0 bytes");
    }
}
