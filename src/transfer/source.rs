//! Reading statement files the way other LRSs export them: JSON lines (one
//! statement per line), a top-level JSON array, or a statement result
//! object `{"statements": [...]}` as `GET /statements` answers.

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde_json::Value;

/// Where a record sits in its file, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of a JSON-lines file.
    Line(usize),
    /// 1-based position in a JSON array (or `statements` array).
    Item(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Item(n) => write!(f, "item {n}"),
        }
    }
}

/// One statement's worth of input: its JSON, or why it is not JSON.
#[derive(Debug)]
pub struct Record {
    pub location: Location,
    pub value: Result<Value, String>,
    /// Bytes of input consumed up to the end of this record (for progress).
    pub offset: u64,
}

/// Yields the records of `reader`. A whole-document format (array, result
/// object) is read at once; JSON lines are streamed. A document that is not
/// valid JSON at all is an `Err`.
pub fn records<R: Read + 'static>(
    reader: R,
) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<Record>>>> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    // The first non-blank line decides: a complete JSON object on its own
    // line means JSON lines; anything else is one JSON document.
    let mut head = String::new();
    let mut consumed = 0u64;
    let mut blank_lines = 0usize;
    loop {
        head.clear();
        let n = reader.read_line(&mut head)?;
        consumed += n as u64;
        if n == 0 || !head.trim().is_empty() {
            break;
        }
        blank_lines += 1;
    }
    let first = head.trim();
    let first_is_statement = first.starts_with('{')
        && matches!(
            crate::xapi::json::from_slice(first.as_bytes()),
            Ok(Value::Object(ref o)) if !is_statement_result(o)
        );
    if first.is_empty() {
        return Ok(Box::new(std::iter::empty()));
    }
    if first_is_statement {
        let first_record = Record {
            location: Location::Line(blank_lines + 1),
            value: parse(first.as_bytes()),
            offset: consumed,
        };
        let lines = JsonLines {
            reader,
            line: blank_lines + 1,
            offset: consumed,
        };
        return Ok(Box::new(std::iter::once(Ok(first_record)).chain(lines)));
    }
    let head_len = head.len() as u64;
    let mut text = head.into_bytes();
    reader.read_to_end(&mut text)?;
    let total = consumed - head_len + text.len() as u64;
    let items = match crate::xapi::json::from_slice(&text) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Object(o)) if is_statement_result(&o) => {
            match o.into_iter().find(|(k, _)| k == "statements") {
                Some((_, Value::Array(items))) => items,
                _ => Vec::new(),
            }
        }
        Ok(Value::Object(o)) => vec![Value::Object(o)],
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "expected JSON lines, a JSON array of statements or {\"statements\": [...]}",
            ))
        }
        Err(e) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not valid JSON: {e}"),
            ))
        }
    };
    Ok(Box::new(items.into_iter().enumerate().map(
        move |(i, value)| {
            Ok(Record {
                location: Location::Item(i + 1),
                value: Ok(value),
                offset: total,
            })
        },
    )))
}

fn is_statement_result(o: &serde_json::Map<String, Value>) -> bool {
    o.get("statements").is_some_and(Value::is_array)
}

fn parse(bytes: &[u8]) -> Result<Value, String> {
    crate::xapi::json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

struct JsonLines<R> {
    reader: R,
    line: usize,
    offset: u64,
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = std::io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(n) => {
                    self.line += 1;
                    self.offset += n as u64;
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok(Record {
                        location: Location::Line(self.line),
                        value: parse(buf.trim_ascii()),
                        offset: self.offset,
                    }));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(Location, Result<Value, String>)> {
        records(std::io::Cursor::new(text.as_bytes().to_vec()))
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.location, r.value)
            })
            .collect()
    }

    #[test]
    fn json_lines_keep_their_line_numbers_and_report_bad_lines() {
        let got = read("\n{\"a\":1}\n\n{oops\n{\"b\":2}\n");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, Location::Line(2));
        assert_eq!(got[1].0, Location::Line(4));
        assert!(got[1].1.is_err());
        assert_eq!(got[2].0, Location::Line(5));
        assert_eq!(got[2].1.as_ref().unwrap()["b"], 2);
    }

    #[test]
    fn arrays_and_statement_results_are_read_whole() {
        let got = read("[\n {\"a\":1},\n {\"a\":2}\n]");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, Location::Item(2));
        let got = read("{\"statements\": [{\"a\":1}], \"more\": \"\"}");
        assert_eq!(got.len(), 1);
        let got = read("{\n  \"statements\": [\n {\"a\":1}, {\"a\": 2}\n], \"more\": \"\"}\n");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_document_that_is_not_json_is_an_error() {
        assert!(records(std::io::Cursor::new(b"[{\"a\":1},".to_vec())).is_err());
    }
}
