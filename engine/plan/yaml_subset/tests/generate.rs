//! Random YAML-ish documents for the differential tests: every construct of the subset
//! (block mappings and sequences, sequences at their key's indentation, compact and nested
//! items, flow collections across lines, block scalars, comments, blank lines), in varied
//! spacing, with occasional slips (an indentation off by one, a construct out of place).

const KEYS: &[&str] = &[
    "a",
    "b",
    "id",
    "steps",
    "'q'",
    "\"dq\"",
    "1",
    "true",
    "null",
    "é",
    "k k",
    "x-y",
    "a:b",
    "'a'",
    "~",
    "\"a b\"",
    "-k",
    "k.l",
    "0x1F",
    "1.5",
    "'it''s'",
    "\"\\u00e9\"",
    "ключ",
    // Spellings of the same key, plain and quoted (duplicates or not for the full reader).
    "'1.5'",
    "1.50",
    "'true'",
    "True",
    "\"1\"",
    "0x1",
    "+1",
    "-0",
    "0",
    "'~'",
    "'null'",
    "\"\\x61\"",
    "1e3",
    "1000.0",
    "'0x1F'",
];

pub(super) const SCALARS: &[&str] = &[
    "x",
    "1",
    "-2",
    "0.5",
    "1e3",
    "007",
    "0x1F",
    "true",
    "yes",
    "~",
    "null",
    "''",
    "'it''s'",
    "\"\\u00e9\\n\"",
    "\"a # b\"",
    "a # c",
    "http://x:8080/a#b",
    "30s",
    "1_000",
    ".5",
    "-x",
    "\"{{params.x}}\"",
    "9223372036854775807",
    "-.5",
    "1.2.3",
    "'a: b'",
    "é💥",
    "a b  c",
    "x,y",
    "x]",
    "it's",
    "\"\"",
    "-",
    "a:",
    ":a",
    "&a x",
    "*a",
    "!t x",
    "? x",
    "@x",
    "%x",
    "'multi\n  line'",
    "plain\n  continued",
    ".inf",
    "99999999999999999999",
    "+1",
    "1.",
];

const FLOW_SCALARS: &[&str] = &[
    "x",
    "1",
    "-2",
    "0.5",
    "true",
    "~",
    "''",
    "'a, b'",
    "\"c: d\"",
    "a b",
    "http://x:80/p",
    "{{x}}",
    "-",
    "a:",
    "x # c",
    "1e3",
    "é",
];

pub(super) struct Gen<'r> {
    rng: &'r mut fastrand::Rng,
    pub out: String,
}

impl<'r> Gen<'r> {
    pub fn new(rng: &'r mut fastrand::Rng) -> Self {
        Self {
            rng,
            out: String::new(),
        }
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.usize(..from.len())]
    }

    fn one_in(&mut self, n: u8) -> bool {
        self.rng.u8(..n) == 0
    }

    /// Spaces for `indent`, now and then one too many or too few.
    fn pad(&mut self, indent: usize) {
        let mut n = indent;
        if self.one_in(40) {
            n += 1;
        } else if n > 0 && self.one_in(40) {
            n -= 1;
        }
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// The end of a line: maybe trailing spaces or a comment.
    fn eol(&mut self) {
        match self.rng.u8(..10) {
            0 => self.out.push_str("  "),
            1 => self.out.push_str(" # note: x"),
            2 => self.out.push_str("   #c"),
            _ => {}
        }
        self.out.push('\n');
    }

    /// Blank and comment lines between nodes, at random indentation.
    fn filler(&mut self) {
        while self.one_in(6) {
            let n = self.rng.usize(0..6);
            self.out.extend(std::iter::repeat_n(' ', n));
            if self.rng.bool() {
                self.out.push_str("# comment");
            }
            self.out.push('\n');
        }
    }

    /// A block collection whose first line starts at column `indent` (the cursor is at a
    /// line start).
    pub fn block(&mut self, indent: usize, depth: usize) {
        if self.rng.bool() {
            self.mapping(indent, depth);
        } else {
            self.sequence(indent, depth);
        }
    }

    /// Whether the cursor is after a `- ` (the collection starts mid-line).
    fn mid_line(&self) -> bool {
        !self.out.is_empty() && !self.out.ends_with('\n')
    }

    fn mapping(&mut self, indent: usize, depth: usize) {
        let mid_line = self.mid_line();
        for i in 0..self.rng.usize(1..5) {
            if i > 0 || !mid_line {
                self.filler();
                self.pad(indent);
            }
            self.entry(indent, depth);
        }
    }

    /// `key: value`, the key already indented.
    fn entry(&mut self, indent: usize, depth: usize) {
        let key = self.pick(KEYS);
        self.out.push_str(key);
        if self.one_in(15) {
            self.out.push(' ');
        }
        self.out.push(':');
        match self.rng.u8(..10) {
            0..=2 if depth < 5 => {
                self.eol();
                self.filler();
                let step = self.rng.usize(1..5);
                if self.one_in(3) {
                    // A sequence at the key's own indentation.
                    self.sequence(indent, depth + 1);
                } else {
                    self.block(indent + step, depth + 1);
                }
            }
            3 => self.eol(),
            _ => {
                self.out.push(' ');
                self.inline(indent, depth);
            }
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) {
        let mid_line = self.mid_line();
        for i in 0..self.rng.usize(1..5) {
            if i > 0 || !mid_line {
                self.filler();
                self.pad(indent);
            }
            self.item(indent, depth);
        }
    }

    /// `- item`, the `-` already indented.
    fn item(&mut self, indent: usize, depth: usize) {
        self.out.push('-');
        let gap = if self.one_in(5) { 3 } else { 1 };
        match self.rng.u8(..10) {
            0 if depth < 5 => {
                // A compact mapping: its keys sit where the first one does.
                self.out.extend(std::iter::repeat_n(' ', gap));
                let col = indent + 1 + gap;
                self.entry(col, depth + 1);
                for _ in 0..self.rng.usize(0..3) {
                    self.filler();
                    self.pad(col);
                    self.entry(col, depth + 1);
                }
            }
            1 if depth < 5 => {
                self.out.extend(std::iter::repeat_n(' ', gap));
                self.sequence(indent + 1 + gap, depth + 1);
            }
            2 if depth < 5 => {
                self.eol();
                self.filler();
                let step = self.rng.usize(1..4);
                self.block(indent + step, depth + 1);
            }
            3 => self.eol(),
            _ => {
                self.out.push(' ');
                self.inline(indent, depth);
            }
        }
    }

    /// A value on its key's or `-`'s line: a scalar, a flow collection or a block scalar.
    fn inline(&mut self, indent: usize, depth: usize) {
        match self.rng.u8(..8) {
            0 | 1 => {
                let flow = self.flow(indent, depth);
                self.out.push_str(&flow);
                self.eol();
            }
            2 => self.block_scalar(indent),
            _ => {
                let s = self.pick(SCALARS);
                self.out.push_str(s);
                self.eol();
            }
        }
    }

    fn block_scalar(&mut self, indent: usize) {
        let header = self.pick(&["|", "|-", "|+", ">", ">-", ">+"]);
        self.out.push_str(header);
        self.eol();
        let body = indent + self.rng.usize(1..4);
        for _ in 0..self.rng.usize(1..5) {
            match self.rng.u8(..6) {
                0 => self.out.push('\n'),
                1 => {
                    let spaces = self.rng.usize(0..body + 1);
                    self.out.extend(std::iter::repeat_n(' ', spaces));
                    self.out.push('\n');
                }
                2 => {
                    // A more-indented line (kept apart when folded).
                    let text = self.pick(FLOW_SCALARS);
                    self.out.extend(std::iter::repeat_n(' ', body + 2));
                    self.out.push_str(text);
                    self.out.push('\n');
                }
                _ => {
                    let text = self.pick(SCALARS).replace('\n', " ");
                    self.out.extend(std::iter::repeat_n(' ', body));
                    self.out.push_str(&text);
                    self.out.push('\n');
                }
            }
        }
    }

    /// A flow collection, maybe across lines indented deeper than `indent`.
    fn flow(&mut self, indent: usize, depth: usize) -> String {
        let mapping = self.rng.bool();
        let mut s = String::from(if mapping { "{" } else { "[" });
        let n = self.rng.usize(0..4);
        for i in 0..n {
            if i > 0 {
                s.push(',');
            }
            match self.rng.u8(..8) {
                0 => {
                    s.push('\n');
                    s.extend(std::iter::repeat_n(' ', indent + self.rng.usize(1..4)));
                }
                1 => s.push_str(" # c\n   "),
                2 => {}
                _ => s.push(' '),
            }
            if mapping {
                let key = self.pick(FLOW_SCALARS);
                s.push_str(key);
                s.push_str(if self.one_in(10) { ":" } else { ": " });
            }
            if depth < 6 && self.one_in(4) {
                let inner = self.flow(indent, depth + 1);
                s.push_str(&inner);
            } else {
                let v = self.pick(FLOW_SCALARS);
                s.push_str(v);
            }
        }
        if n > 0 && self.one_in(5) {
            s.push(',');
        }
        if self.one_in(6) {
            s.push('\n');
            s.extend(std::iter::repeat_n(' ', indent + 1));
        }
        s.push(if mapping { '}' } else { ']' });
        s
    }
}
