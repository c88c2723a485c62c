//! "Did you mean …?": the closest known name to a misspelt one, for messages of the compiler and the
//! runtime alike.

/// Names longer than this get no suggestion: edit distances cost the product of the lengths.
const LONGEST_NAME: usize = 60;

/// The closest name to `name` among `candidates`, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Edit distances cost the product of the lengths: no suggestions for absurdly long names.
    if name.len() > LONGEST_NAME {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c.len().abs_diff(name.len()) > c.len().max(name.len()) / 3 + 1 {
            continue; // too different in length to be close enough
        }
        let d = edit_distance(&name.to_lowercase(), &c.to_lowercase());
        let limit = (c.len().max(name.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}
