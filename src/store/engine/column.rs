//! Dictionary-encoded text columns and bit sets, the building blocks of a segment. Code 0 of every
//! dictionary is "not set" (SQL NULL or ''), which all the query semantics treat alike.

/// Fixed-width codes, as narrow as the dictionary allows: most dimensions have under 256 values
/// in a day, paths and cities under 65,536.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    /// Codes of a family of correlated columns (a visit's browser, version, OS, OS version and
    /// device, say), shared by its members, each of which maps a family code to its own: a byte
    /// per visit for the family instead of one per member.
    Mapped {
        family: u8,
        codes: std::sync::Arc<Codes>,
        map: Box<[u32]>,
    },
}

impl Codes {
    /// Small counts (pageviews of a visit, a duration), as narrow as the largest allows.
    pub fn of_counts(values: Vec<u32>) -> Self {
        let max = values.iter().copied().max().unwrap_or(0) as usize;
        Self::from_u32(values, max + 1)
    }

    /// Codes of a dictionary with `values` entries.
    pub fn from_u32(codes: Vec<u32>, values: usize) -> Self {
        if values <= 1 << 8 {
            Self::U8(codes.into_iter().map(|c| c as u8).collect())
        } else if values <= 1 << 16 {
            Self::U16(codes.into_iter().map(|c| c as u16).collect())
        } else {
            Self::U32(codes)
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        match self {
            Self::U8(v) => u32::from(v[i]),
            Self::U16(v) => u32::from(v[i]),
            Self::U32(v) => v[i],
            Self::Mapped { codes, map, .. } => map[codes.get(i) as usize],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::U32(v) => v.len(),
            Self::Mapped { codes, .. } => codes.len(),
        }
    }

    /// Bytes per code held by this column itself.
    pub fn width(&self) -> usize {
        match self {
            Self::U8(_) => 1,
            Self::U16(_) => 2,
            Self::U32(_) => 4,
            Self::Mapped { .. } => 0,
        }
    }

    /// Memory of the codes (a family's shared codes are counted with the family).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Self::Mapped { map, .. } => map.len() * 4,
            other => other.len() * other.width(),
        }
    }

    /// The largest code, plus one.
    pub fn bound(&self) -> usize {
        (0..self.len())
            .map(|i| self.get(i) as usize + 1)
            .max()
            .unwrap_or(0)
    }
}

/// A text column: a dictionary (entry 0 is "") and one code per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub dict: Vec<Box<str>>,
    pub codes: Codes,
}

impl Column {
    #[inline]
    pub fn code(&self, row: usize) -> u32 {
        self.codes.get(row)
    }

    pub fn value(&self, code: u32) -> &str {
        self.dict.get(code as usize).map_or("", |v| v)
    }

    /// The code of `value`, if this column holds it.
    pub fn find(&self, value: &str) -> Option<u32> {
        self.dict
            .iter()
            .position(|v| &**v == value)
            .map(|i| i as u32)
    }

    /// A mask over the dictionary: which codes `keep` accepts.
    pub fn mask(&self, keep: impl Fn(&str) -> bool) -> Vec<bool> {
        self.dict.iter().map(|v| keep(v)).collect()
    }

    pub fn heap_bytes(&self) -> usize {
        self.codes.heap_bytes() + self.dict.iter().map(|v| v.len() + 16).sum::<usize>()
    }
}

/// Builds a column from row values, assigning codes in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct ColumnBuilder {
    index: std::collections::HashMap<Box<str>, u32>,
    dict: Vec<Box<str>>,
    codes: Vec<u32>,
}

impl ColumnBuilder {
    pub fn new() -> Self {
        let mut b = Self::default();
        b.dict.push("".into());
        b.index.insert("".into(), 0);
        b
    }

    #[cfg(test)]
    pub fn push(&mut self, value: Option<&str>) {
        let code = self.code_of(value.unwrap_or(""));
        self.codes.push(code);
    }

    /// The code of a value, adding it to the dictionary if new (without adding a row).
    pub fn code_of(&mut self, value: &str) -> u32 {
        match self.index.get(value) {
            Some(&c) => c,
            None => {
                let c = self.dict.len() as u32;
                self.dict.push(value.into());
                self.index.insert(value.into(), c);
                c
            }
        }
    }

    pub fn push_code(&mut self, code: u32) {
        self.codes.push(code);
    }

    pub fn finish(self) -> Column {
        let values = self.dict.len();
        Column {
            dict: self.dict,
            codes: Codes::from_u32(self.codes, values),
        }
    }
}

/// A fixed-size set of row numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    pub fn new(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub fn from_words(words: Vec<u64>, len: usize) -> Option<Self> {
        (words.len() == len.div_ceil(64)).then_some(Self { words, len })
    }

    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.words[i >> 6] >> (i & 63) & 1 == 1
    }

    #[inline]
    pub fn set(&mut self, i: usize) {
        self.words[i >> 6] |= 1 << (i & 63);
    }

    #[inline]
    pub fn clear(&mut self, i: usize) {
        self.words[i >> 6] &= !(1 << (i & 63));
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn heap_bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// Every bit set.
    pub fn ones_all(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if !len.is_multiple_of(64)
            && let Some(last) = words.last_mut()
        {
            *last = (1 << (len % 64)) - 1;
        }
        Self { words, len }
    }

    /// `self & other`, word by word.
    pub fn and(&self, other: &Bits) -> Bits {
        Bits {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & b)
                .collect(),
            len: self.len,
        }
    }

    /// The set positions, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| Ones {
            word: w,
            base: i * 64,
        })
    }
}

struct Ones {
    word: u64,
    base: usize,
}

impl Iterator for Ones {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.word == 0 {
            return None;
        }
        let bit = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.base + bit)
    }
}

/// Builds a bit set from booleans.
pub(crate) fn bits_of(flags: &[bool]) -> Bits {
    let mut b = Bits::new(flags.len());
    for (i, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
        b.set(i);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_as_narrow_as_the_dictionary_allows() {
        assert_eq!(Codes::from_u32(vec![0, 255], 256).width(), 1);
        assert_eq!(Codes::from_u32(vec![0, 256], 257).width(), 2);
        assert_eq!(Codes::from_u32(vec![0, 70_000], 70_001).width(), 4);
        assert_eq!(Codes::from_u32(vec![3, 70_000], 70_001).get(1), 70_000);
    }

    #[test]
    fn unset_and_empty_share_code_zero() {
        let mut b = ColumnBuilder::new();
        b.push(None);
        b.push(Some(""));
        b.push(Some("Google"));
        b.push(Some("Google"));
        let col = b.finish();
        assert_eq!(
            (0..4).map(|i| col.code(i)).collect::<Vec<_>>(),
            [0, 0, 1, 1]
        );
        assert_eq!(col.value(1), "Google");
        assert_eq!(col.find("Google"), Some(1));
        assert_eq!(col.find("Bing"), None);
    }

    #[test]
    fn bits_set_and_count() {
        let mut bits = Bits::new(130);
        for i in [0, 63, 64, 129] {
            bits.set(i);
        }
        assert!(bits.get(63) && bits.get(64) && !bits.get(65));
        assert_eq!(bits.count(), 4);
        assert_eq!(bits.ones().collect::<Vec<_>>(), [0, 63, 64, 129]);
        let all = Bits::ones_all(130);
        assert_eq!(all.count(), 130);
        assert_eq!(all.and(&bits), bits);
    }
}
