//! The JSON mapping of Cloud KMS messages as Google's REST front end reads it: field names in
//! camelCase (snake_case proto names accepted too), bytes as base64 (standard or URL-safe),
//! int64 as a string or a number, enums as their name or their number (the official Rust
//! client sends numbers, with `$alt=json;enum-encoding=int`), durations as `"7776000s"`,
//! timestamps in RFC 3339. Unknown fields and wrong types are refused as Google does.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::error::{GcpError, GcpResult};

/// An enum's values: name and number.
pub type EnumTable = &'static [(&'static str, i64)];

/// A request body (a JSON object), checked against the fields the method takes.
#[derive(Debug, Clone, Default)]
pub struct Body {
    map: Map<String, Value>,
}

/// `snake_case` → `camelCase` (proto field names are accepted like their JSON names).
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl Body {
    /// Parses `bytes` (empty: an empty message) as an object of the `allowed` fields.
    ///
    /// # Errors
    /// [`GcpError::bad_json`] for anything else.
    pub fn parse(bytes: &[u8], allowed: &[&str]) -> GcpResult<Self> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| GcpError::bad_json(format!("Syntax error: {e}")))?;
        Self::from_value(value, allowed, "")
    }

    fn from_value(value: Value, allowed: &[&str], at: &str) -> GcpResult<Self> {
        let Value::Object(raw) = value else {
            return Err(GcpError::bad_json(format!(
                "Invalid value{at}: expected a JSON object."
            )));
        };
        let mut map = Map::new();
        for (k, v) in raw {
            let name = camel(&k);
            if !allowed.contains(&name.as_str()) {
                return Err(GcpError::bad_json(format!(
                    "Unknown name \"{k}\"{at}: Cannot find field."
                )));
            }
            map.insert(name, v);
        }
        Ok(Self { map })
    }

    fn field(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn wrong(name: &str, kind: &str) -> GcpError {
        GcpError::bad_json(format!("Invalid value at '{name}' ({kind})."))
    }

    /// True when the field is present (and not null).
    pub fn has(&self, name: &str) -> bool {
        self.field(name).is_some()
    }

    /// A string field.
    pub fn string(&self, name: &str) -> GcpResult<Option<&str>> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Self::wrong(name, "TYPE_STRING")),
        }
    }

    /// A bool field.
    pub fn boolean(&self, name: &str) -> GcpResult<Option<bool>> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Self::wrong(name, "TYPE_BOOL")),
        }
    }

    /// A bytes field (base64), wiped on drop.
    pub fn bytes(&self, name: &str) -> GcpResult<Option<Zeroizing<Vec<u8>>>> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::String(s)) => decode_b64(s)
                .map(Some)
                .ok_or_else(|| Self::wrong(name, "TYPE_BYTES")),
            Some(_) => Err(Self::wrong(name, "TYPE_BYTES")),
        }
    }

    /// An int64 field (string or number).
    pub fn int64(&self, name: &str) -> GcpResult<Option<i64>> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::wrong(name, "TYPE_INT64")),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| Self::wrong(name, "TYPE_INT64")),
            Some(_) => Err(Self::wrong(name, "TYPE_INT64")),
        }
    }

    /// An enum field: its name, given as the name or the number.
    pub fn enumeration(&self, name: &str, table: EnumTable) -> GcpResult<Option<&'static str>> {
        let Some(v) = self.field(name) else {
            return Ok(None);
        };
        let found = match v {
            Value::String(s) => table.iter().find(|(n, _)| n == s),
            Value::Number(n) => n
                .as_i64()
                .and_then(|i| table.iter().find(|(_, num)| *num == i)),
            _ => None,
        };
        found
            .map(|(n, _)| Some(*n))
            .ok_or_else(|| Self::wrong(name, "TYPE_ENUM"))
    }

    /// A nested message with the `allowed` fields.
    pub fn message(&self, name: &str, allowed: &[&str]) -> GcpResult<Option<Body>> {
        match self.field(name) {
            None => Ok(None),
            Some(v) => Self::from_value(v.clone(), allowed, &format!(" at '{name}'")).map(Some),
        }
    }

    /// A `map<string, string>` field.
    pub fn string_map(&self, name: &str) -> GcpResult<Option<BTreeMap<String, String>>> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(Self::wrong(&format!("{name}[{k}]"), "TYPE_STRING")),
                })
                .collect::<GcpResult<_>>()
                .map(Some),
            Some(_) => Err(Self::wrong(name, "TYPE_MESSAGE")),
        }
    }

    /// A repeated field: its elements.
    pub fn list(&self, name: &str) -> GcpResult<Vec<Value>> {
        match self.field(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(Self::wrong(name, "TYPE_MESSAGE (repeated)")),
        }
    }

    /// A repeated string field.
    pub fn strings(&self, name: &str) -> GcpResult<Vec<String>> {
        self.list(name)?
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(Self::wrong(name, "TYPE_STRING")),
            })
            .collect()
    }

    /// Wraps a repeated message element.
    pub fn element(value: Value, name: &str, allowed: &[&str]) -> GcpResult<Body> {
        Self::from_value(value, allowed, &format!(" at '{name}'"))
    }
}

/// Decodes base64 in any of the alphabets Google accepts.
pub fn decode_b64(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .map(Zeroizing::new)
}

/// Standard base64.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The query string of a request, as pairs.
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Parses the query of `uri`.
    ///
    /// # Errors
    /// [`GcpError::invalid`] for a malformed query string.
    pub fn of(uri: &axum::http::Uri) -> GcpResult<Self> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|q| Self(q.0))
            .map_err(|_| GcpError::invalid("Invalid query string."))
    }

    /// The query without the parameter `name` (in any spelling).
    pub fn without(&self, name: &str) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(k, _)| camel(k) != name)
                .cloned()
                .collect(),
        )
    }

    /// The last value of `name` (a `camelCase` or `snake_case` parameter).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| camel(k) == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// An integer parameter.
    ///
    /// # Errors
    /// [`GcpError::invalid`] when it is not a number.
    pub fn int(&self, name: &str) -> GcpResult<Option<i64>> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| GcpError::invalid(format!("Invalid value for {name}: {v}")))
            })
            .transpose()
    }
}

/// RFC 3339, as Google writes timestamps.
pub fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp.
///
/// # Errors
/// [`GcpError::bad_json`] naming the field.
pub fn parse_timestamp(field: &str, s: &str) -> GcpResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| GcpError::bad_json(format!("Invalid value at '{field}' (type.googleapis.com/google.protobuf.Timestamp), Field '{field}', Invalid time format")))
}

/// A protobuf Duration in its JSON form (`"86400s"`, `"1.5s"`).
pub fn duration(secs: i64) -> String {
    format!("{secs}s")
}

/// Parses a JSON Duration, in whole seconds (fractions are refused).
///
/// # Errors
/// [`GcpError::bad_json`] naming the field.
pub fn parse_duration(field: &str, s: &str) -> GcpResult<i64> {
    let bad = || {
        GcpError::bad_json(format!(
            "Invalid value at '{field}' (type.googleapis.com/google.protobuf.Duration), Field '{field}', Illegal duration format; duration must end with 's'"
        ))
    };
    let digits = s.strip_suffix('s').ok_or_else(bad)?;
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if !frac.bytes().all(|b| b == b'0') {
        return Err(GcpError::invalid(format!(
            "{field} must be a whole number of seconds"
        )));
    }
    whole.parse().map_err(|_| bad())
}

/// CRC32C of `bytes`, as Cloud KMS's integrity fields carry it.
pub fn crc(bytes: &[u8]) -> i64 {
    i64::from(crc32c::crc32c(bytes))
}

/// Checks an optional request CRC32C against the data it covers.
///
/// # Errors
/// [`GcpError::invalid`] on a mismatch, as Cloud KMS answers.
pub fn check_crc(field: &str, given: Option<i64>, data: &[u8]) -> GcpResult<bool> {
    match given {
        None => Ok(false),
        Some(c) if c == crc(data) => Ok(true),
        Some(_) => Err(GcpError::invalid(format!(
            "The checksum in field {field} did not match the data computed by the server. The data may have been corrupted in transit."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_take_both_spellings_and_refuse_unknown_fields_and_wrong_types() {
        let b = Body::parse(
            br#"{"plaintext":"aGk=","additional_authenticated_data":"YQ","plaintextCrc32c":"12","purpose":1}"#,
            &[
                "plaintext",
                "additionalAuthenticatedData",
                "plaintextCrc32c",
                "purpose",
            ],
        )
        .unwrap();
        assert_eq!(b.bytes("plaintext").unwrap().unwrap().as_slice(), b"hi");
        assert_eq!(
            b.bytes("additionalAuthenticatedData")
                .unwrap()
                .unwrap()
                .as_slice(),
            b"a"
        );
        assert_eq!(b.int64("plaintextCrc32c").unwrap(), Some(12));
        let table: EnumTable = &[("ENCRYPT_DECRYPT", 1), ("MAC", 9)];
        assert_eq!(
            b.enumeration("purpose", table).unwrap(),
            Some("ENCRYPT_DECRYPT")
        );

        let e = Body::parse(br#"{"nope":1}"#, &["plaintext"]).unwrap_err();
        assert!(e.message.starts_with("Invalid JSON payload received."));
        let b = Body::parse(br#"{"plaintext":5}"#, &["plaintext"]).unwrap();
        assert_eq!(b.bytes("plaintext").unwrap_err().http.as_u16(), 400);
        assert!(Body::parse(b"{not json", &[]).is_err());
        assert!(Body::parse(b"[1]", &[]).is_err());
        assert!(Body::parse(b"", &[]).is_ok());
    }

    #[test]
    fn durations_timestamps_and_crcs() {
        assert_eq!(parse_duration("d", "86400s").unwrap(), 86400);
        assert_eq!(parse_duration("d", "86400.000s").unwrap(), 86400);
        assert!(parse_duration("d", "1.5s").is_err());
        assert!(parse_duration("d", "86400").is_err());
        assert_eq!(duration(60), "60s");
        let t = parse_timestamp("t", "2030-01-02T03:04:05Z").unwrap();
        assert_eq!(timestamp(t), "2030-01-02T03:04:05Z");
        assert!(parse_timestamp("t", "yesterday").is_err());
        assert_eq!(crc(b"123456789"), 0xE306_9283);
        assert!(check_crc("c", Some(crc(b"x")), b"x").unwrap());
        assert!(!check_crc("c", None, b"x").unwrap());
        assert!(check_crc("c", Some(1), b"x").is_err());
    }
}
