//! Encodings of delimited files (IMP-6..IMP-9): labels, BOMs and a transcoder that turns any
//! supported encoding into UTF-8 bytes for the parser. Bytes that are invalid in the source
//! encoding come out as the byte `0xFF`, which is never valid UTF-8, so the record holding them
//! is rejected as an encoding error instead of getting replacement characters.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

/// A character encoding a delimited file can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
    /// Strict ISO-8859-1: every byte is the code point of the same value.
    Iso8859_1,
}

impl Encoding {
    /// The canonical label, as shown to users and saved in definitions.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Iso8859_1 => "ISO-8859-1",
        }
    }

    /// The encoding named by a byte order mark at the start of `bytes`, and the BOM's length.
    pub fn from_bom(bytes: &[u8]) -> Option<(Encoding, usize)> {
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            Some((Encoding::Utf8, 3))
        } else if bytes.starts_with(&[0xFF, 0xFE]) {
            Some((Encoding::Utf16Le, 2))
        } else if bytes.starts_with(&[0xFE, 0xFF]) {
            Some((Encoding::Utf16Be, 2))
        } else {
            None
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An encoding label that is not (yet) supported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown or unsupported encoding {0:?} (supported: UTF-8, UTF-16LE, UTF-16BE, windows-1252, ISO-8859-1)"
)]
pub struct UnknownEncoding(pub String);

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let label = s.trim().to_ascii_lowercase().replace('_', "-");
        let enc = match label.as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" | "unicode11utf8" | "unicode20utf8"
            | "x-unicode20utf8" => Encoding::Utf8,
            "utf-16le" | "utf16le" | "utf-16" | "utf16" | "unicode" | "ucs-2" | "csunicode"
            | "iso-10646-ucs-2" | "unicodefeff" => Encoding::Utf16Le,
            "utf-16be" | "utf16be" | "unicodefffe" => Encoding::Utf16Be,
            "windows-1252" | "cp1252" | "x-cp1252" | "win1252" | "ansi" | "us-ascii" | "ascii"
            | "ansi-x3.4-1968" => Encoding::Windows1252,
            "iso-8859-1" | "iso8859-1" | "iso88591" | "latin1" | "latin-1" | "l1" | "cp819"
            | "ibm819" | "iso-ir-100" | "csisolatin1" | "iso-8859-1:1987" => Encoding::Iso8859_1,
            _ => return Err(UnknownEncoding(s.to_string())),
        };
        Ok(enc)
    }
}

enum Kind {
    Latin1,
    Decoder(encoding_rs::Decoder),
}

/// Turns a stream in a non-UTF-8 encoding into UTF-8 bytes (invalid input → `0xFF`).
pub(crate) struct Transcoder {
    inner: Box<dyn Read + Send>,
    kind: Kind,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl Transcoder {
    /// `None` for UTF-8, which needs no transcoding (it is validated per record).
    pub(crate) fn wrap(inner: Box<dyn Read + Send>, encoding: Encoding) -> Box<dyn Read + Send> {
        let kind = match encoding {
            Encoding::Utf8 => return inner,
            Encoding::Iso8859_1 => Kind::Latin1,
            Encoding::Windows1252 => {
                Kind::Decoder(encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling())
            }
            Encoding::Utf16Le => {
                Kind::Decoder(encoding_rs::UTF_16LE.new_decoder_without_bom_handling())
            }
            Encoding::Utf16Be => {
                Kind::Decoder(encoding_rs::UTF_16BE.new_decoder_without_bom_handling())
            }
        };
        Box::new(Transcoder {
            inner,
            kind,
            inbuf: vec![0; 32 * 1024],
            out: Vec::with_capacity(64 * 1024),
            out_pos: 0,
            done: false,
        })
    }

    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        let n = loop {
            match self.inner.read(&mut self.inbuf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let last = n == 0;
        let out = &mut self.out;
        match &mut self.kind {
            Kind::Latin1 => {
                for &b in &self.inbuf[..n] {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(char::from(b).encode_utf8(&mut tmp).as_bytes());
                }
            }
            Kind::Decoder(decoder) => {
                let mut src = &self.inbuf[..n];
                loop {
                    let need = decoder
                        .max_utf8_buffer_length_without_replacement(src.len())
                        .unwrap_or(src.len().saturating_mul(3).saturating_add(16))
                        .max(16);
                    let start = out.len();
                    out.resize(start + need, 0);
                    let (result, read, written) =
                        decoder.decode_to_utf8_without_replacement(src, &mut out[start..], last);
                    out.truncate(start + written);
                    src = &src[read..];
                    match result {
                        encoding_rs::DecoderResult::InputEmpty => break,
                        encoding_rs::DecoderResult::OutputFull => continue,
                        encoding_rs::DecoderResult::Malformed(_, _) => out.push(0xFF),
                    }
                }
            }
        }
        if last {
            self.done = true;
        }
        Ok(())
    }
}

impl Read for Transcoder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for (label, enc) in [
            ("utf-8", Encoding::Utf8),
            ("UTF8", Encoding::Utf8),
            ("utf-16le", Encoding::Utf16Le),
            ("UTF-16BE", Encoding::Utf16Be),
            ("windows-1252", Encoding::Windows1252),
            ("cp1252", Encoding::Windows1252),
            ("iso-8859-1", Encoding::Iso8859_1),
            ("latin1", Encoding::Iso8859_1),
            ("ISO_8859-1", Encoding::Iso8859_1),
        ] {
            assert_eq!(label.parse::<Encoding>(), Ok(enc), "{label}");
            assert_eq!(enc.to_string().parse::<Encoding>(), Ok(enc));
        }
        assert!("ebcdic".parse::<Encoding>().is_err());
    }

    fn transcode(bytes: &[u8], enc: Encoding) -> Vec<u8> {
        let mut out = Vec::new();
        Transcoder::wrap(Box::new(io::Cursor::new(bytes.to_vec())), enc)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn transcodes() {
        assert_eq!(
            transcode(b"caf\xe9 \x80", Encoding::Windows1252),
            "café €".as_bytes()
        );
        assert_eq!(
            transcode(b"caf\xe9 \x80", Encoding::Iso8859_1),
            "café \u{80}".as_bytes()
        );
        assert_eq!(transcode(b"a\0b\0", Encoding::Utf16Le), b"ab");
        assert_eq!(transcode(b"\0a\0b", Encoding::Utf16Be), b"ab");
        // A lone surrogate is marked invalid, not replaced.
        assert_eq!(transcode(b"a\0\x00\xd8b\0", Encoding::Utf16Le), b"a\xffb");
    }
}
