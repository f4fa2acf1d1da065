//! A minimal reader of the JSON criterion writes and the benches' flat summaries (no
//! dependency: the report builds in seconds).

/// Skips ASCII whitespace from `at`.
pub(crate) fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at = at.saturating_add(1);
    }
    at
}

/// The end (exclusive) of the JSON string starting with the quote at `at`.
pub(crate) fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at.checked_add(1)?;
    loop {
        match bytes.get(i)? {
            b'\\' => i = i.checked_add(2)?,
            b'"' => return i.checked_add(1),
            _ => i = i.checked_add(1)?,
        }
    }
}

/// Where the value of the key `key` starts, searching only the object that opens at `open`
/// (the index of its `{`) and only among that object's own keys, not those of nested objects.
pub(crate) fn member(bytes: &[u8], open: usize, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => depth = depth.saturating_add(1),
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b'"' => {
                let end = string_end(bytes, i)?;
                let colon = skip_ws(bytes, end);
                if depth == 1
                    && bytes.get(colon) == Some(&b':')
                    && bytes.get(i..end) == Some(quoted.as_bytes())
                {
                    return Some(skip_ws(bytes, colon.saturating_add(1)));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i = i.saturating_add(1);
    }
    None
}

/// The number starting at `at`, or `None` (criterion writes `null` for absent estimates).
pub(crate) fn number(bytes: &[u8], at: usize) -> Option<f64> {
    let len = bytes
        .get(at..)?
        .iter()
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        .count();
    let text = std::str::from_utf8(bytes.get(at..at.checked_add(len)?)?).ok()?;
    text.parse().ok()
}

/// `estimate.point_estimate` of a criterion `estimates.json`: `{"mean":{"confidence_interval":
/// {…},"point_estimate":N,"standard_error":N},"median":{…},…}`.
pub(crate) fn point_estimate(json: &str, estimate: &str) -> Option<f64> {
    let bytes = json.as_bytes();
    let open = skip_ws(bytes, 0);
    if bytes.get(open) != Some(&b'{') {
        return None;
    }
    let inner = member(bytes, open, estimate)?;
    if bytes.get(inner) != Some(&b'{') {
        return None;
    }
    number(bytes, member(bytes, inner, "point_estimate")?)
}

/// A flat JSON object of numbers, as the benches write their summaries:
/// `{"key": number, …}`. `None` if it is not one.
pub(crate) fn flat_numbers(json: &str) -> Option<Vec<(String, f64)>> {
    let bytes = json.as_bytes();
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut fields = Vec::new();
    at = skip_ws(bytes, at.saturating_add(1));
    if bytes.get(at) == Some(&b'}') {
        return Some(fields);
    }
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let end = string_end(bytes, at)?;
        let key = std::str::from_utf8(bytes.get(at.saturating_add(1)..end.saturating_sub(1))?)
            .ok()?
            .to_owned();
        at = skip_ws(bytes, end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at.saturating_add(1));
        let len = bytes
            .get(at..)?
            .iter()
            .take_while(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        fields.push((key, number(bytes, at)?));
        at = skip_ws(bytes, at.saturating_add(len));
        match bytes.get(at) {
            Some(b',') => at = skip_ws(bytes, at.saturating_add(1)),
            Some(b'}') => return Some(fields),
            _ => return None,
        }
    }
}
