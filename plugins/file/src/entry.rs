//! The content of a value file, in Vault's file-backend format: `{"Value":"<base64>"}`.
//!
//! Values are secrets: nothing here puts any part of a file's content into an error
//! message, only what kind of damage was found and where.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// The JSON document holding `value`: `{"Value":"<standard base64 with padding>"}`,
/// byte-for-byte what Vault's file backend writes, without the newline Go's encoder adds.
pub(crate) fn encode(value: &[u8]) -> String {
    // The base64 alphabet (`A-Z a-z 0-9 + / =`) needs no JSON escaping.
    format!("{{\"Value\":\"{}\"}}", STANDARD.encode(value))
}

/// The value held by a file's content, or what is wrong with it.
///
/// Accepts what Vault writes: any JSON whitespace (Go's encoder adds a newline), unknown
/// fields (ignored), and `"Value": null` (Go's encoding of a nil byte slice, an empty
/// value). A missing `Value` field is refused rather than read as empty.
pub(crate) fn decode(content: &[u8]) -> Result<Vec<u8>, String> {
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err("the file is empty".into());
    }
    let doc: serde_json::Value = serde_json::from_slice(content).map_err(|e| {
        // Only the category and position: serde_json's messages hold no content today,
        // but the file is a secret, so do not rely on that.
        let kind = match e.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated document",
        };
        format!(
            "not valid JSON ({kind} at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let serde_json::Value::Object(fields) = doc else {
        return Err("not a JSON object".into());
    };
    match fields.get("Value") {
        None => Err("no \"Value\" field".into()),
        Some(serde_json::Value::Null) => Ok(Vec::new()),
        // The decoder's own error names the offending byte: leave it out.
        Some(serde_json::Value::String(b64)) => STANDARD
            .decode(b64)
            .map_err(|_| "the \"Value\" field is not valid standard base64".into()),
        Some(_) => Err("the \"Value\" field is not a string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for value in [&b""[..], b"x", b"hello", &[0u8, 255, 10, 13]] {
            assert_eq!(decode(encode(value).as_bytes()).unwrap(), value);
        }
        assert_eq!(encode(b"hello"), r#"{"Value":"aGVsbG8="}"#);
        assert_eq!(encode(b""), r#"{"Value":""}"#);
    }

    #[test]
    fn reads_what_vault_writes() {
        assert_eq!(decode(b"{\"Value\":\"aGVsbG8=\"}\n").unwrap(), b"hello");
        assert_eq!(decode(b"{\"Value\":null}\n").unwrap(), b"");
        assert_eq!(
            decode(br#"{"Key":"k","Value":"aGk=","seal_wrap":true}"#).unwrap(),
            b"hi"
        );
        // Go escapes nothing in base64, but any JSON escape is still fine.
        assert_eq!(decode(br#"{"Value":"aGk\u003d"}"#).unwrap(), b"hi");
    }

    #[test]
    fn damage_is_described_without_content() {
        let cases: [&[u8]; 9] = [
            b"",
            b"  \n",
            b"{\"Value\":\"c2VjcmV0",
            b"sekrit-material",
            b"[\"c2VjcmV0\"]",
            b"{}",
            b"{\"Value\":42}",
            b"{\"Value\":\"not base64!sekrit\"}",
            b"{\"Value\":\"aGVsbG8\"}",
        ];
        for content in cases {
            let why = decode(content).unwrap_err();
            assert!(
                !why.contains("sekrit") && !why.contains("c2VjcmV0"),
                "{why}"
            );
        }
    }
}
