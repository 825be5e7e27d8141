//! Page layout for the export PDF: the embedded fonts and their metrics, and a cursor that
//! wraps text into lines and lines into A4 pages.

use std::sync::OnceLock;

pub(super) const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub(super) const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

pub(super) const PAGE_W: f32 = 595.0;
pub(super) const PAGE_H: f32 = 842.0;
pub(super) const MARGIN: f32 = 56.0;
pub(super) const TOP: f32 = PAGE_H - MARGIN;
pub(super) const BOTTOM: f32 = MARGIN + 20.0;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Regular,
    Bold,
}

pub(super) struct Face {
    pub(super) face: ttf_parser::Face<'static>,
    pub(super) upem: f32,
    /// Glyph id and advance (1/1000 em) of the first code points, looked up once.
    table: Vec<(u16, f32)>,
}

/// Code points whose metrics are kept in the table (Latin, Greek, Cyrillic, punctuation).
const TABLE: u32 = 0x2200;

impl Face {
    pub(super) fn load(bytes: &'static [u8]) -> Option<Self> {
        let face = ttf_parser::Face::parse(bytes, 0).ok()?;
        let upem = f32::from(face.units_per_em());
        let mut f = Self { face, upem, table: Vec::new() };
        f.table = (0..TABLE).map(|cp| char::from_u32(cp).and_then(|c| f.lookup(c)).unwrap_or((0, 0.0))).collect();
        Some(f)
    }
    pub(super) fn lookup(&self, c: char) -> Option<(u16, f32)> {
        let g = self.face.glyph_index(c).map(|g| g.0).filter(|g| *g != 0)?;
        let adv = f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0)) * 1000.0 / self.upem;
        Some((g, adv))
    }
    /// Glyph and advance of `c`, if the font has it.
    pub(super) fn metrics(&self, c: char) -> Option<(u16, f32)> {
        match self.table.get(c as usize) {
            Some((0, _)) => None,
            Some(m) => Some(*m),
            None => self.lookup(c),
        }
    }
    pub(super) fn glyph(&self, c: char) -> Option<u16> {
        self.metrics(c).map(|m| m.0)
    }
    pub(super) fn advance(&self, g: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0)) * 1000.0 / self.upem
    }
    pub(super) fn width(&self, s: &str, size: f32) -> f32 {
        let q = self.metrics('?').map_or(0.0, |m| m.1);
        s.chars().map(|c| self.metrics(c).map_or(q, |m| m.1)).sum::<f32>() * size / 1000.0
    }
}

pub(super) fn faces() -> Option<&'static (Face, Face)> {
    static FACES: OnceLock<Option<(Face, Face)>> = OnceLock::new();
    FACES.get_or_init(|| Some((Face::load(REGULAR)?, Face::load(BOLD)?))).as_ref()
}

pub(super) fn compressed(which: Style) -> &'static [u8] {
    static R: OnceLock<Vec<u8>> = OnceLock::new();
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    match which {
        Style::Regular => R.get_or_init(|| miniz_oxide::deflate::compress_to_vec_zlib(REGULAR, 6)),
        Style::Bold => B.get_or_init(|| miniz_oxide::deflate::compress_to_vec_zlib(BOLD, 6)),
    }
}

pub(super) enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        style: Style,
        gray: f32,
        text: String,
    },
    Bar {
        y: f32,
        h: f32,
        gray: f32,
    },
}

pub(super) struct Layout<'f> {
    faces: &'f (Face, Face),
    pub(super) pages: Vec<Vec<Item>>,
    pub(super) y: f32,
}

impl<'f> Layout<'f> {
    pub(super) fn new(faces: &'f (Face, Face)) -> Self {
        Self {
            faces,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }
    pub(super) fn face(&self, s: Style) -> &Face {
        match s {
            Style::Regular => &self.faces.0,
            Style::Bold => &self.faces.1,
        }
    }
    pub(super) fn page(&self) -> usize {
        self.pages.len()
    }
    pub(super) fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }
    pub(super) fn need(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }
    pub(super) fn push(&mut self, item: Item) {
        if let Some(p) = self.pages.last_mut() {
            p.push(item);
        }
    }
    pub(super) fn gap(&mut self, h: f32) {
        self.y -= h;
    }
    /// Writes wrapped text; returns nothing, moves down.
    pub(super) fn text(&mut self, s: &str, size: f32, style: Style, indent: f32, gray: f32) {
        let width = PAGE_W - 2.0 * MARGIN - indent;
        let lead = size * 1.35;
        for para in s.split('\n') {
            let clean: String = para.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            for line in self.wrap(&clean, size, style, width) {
                self.need(lead);
                self.y -= lead;
                let y = self.y + (lead - size);
                self.push(Item::Text {
                    x: MARGIN + indent,
                    y,
                    size,
                    style,
                    gray,
                    text: line,
                });
            }
        }
    }
    pub(super) fn wrap(&self, s: &str, size: f32, style: Style, width: f32) -> Vec<String> {
        let face = self.face(style);
        let space = face.width(" ", size);
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_w = 0.0;
        for word in s.split(' ') {
            let w = face.width(word, size);
            let extra = if line.is_empty() { w } else { space + w };
            if line_w + extra <= width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                line_w += extra;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line_w = 0.0;
            // A word longer than the line is broken by characters.
            for c in word.chars() {
                let cw = face.width(c.encode_utf8(&mut [0; 4]), size);
                if line_w + cw > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        lines.push(line);
        lines
    }
    pub(super) fn heading(&mut self, s: &str, size: f32) {
        self.need(size * 3.0);
        self.gap(size * 0.6);
        self.text(s, size, Style::Bold, 0.0, 0.0);
        self.gap(size * 0.3);
    }
    pub(super) fn label(&mut self, s: &str, shade: f32) {
        self.need(30.0);
        self.gap(6.0);
        let h = 15.0;
        self.push(Item::Bar { y: self.y - h, h, gray: shade });
        self.text(s, 9.0, Style::Bold, 4.0, 0.1);
        self.gap(4.0);
    }
    pub(super) fn pair(&mut self, k: &str, v: &str) {
        self.text(&format!("{k}: {v}"), 10.0, Style::Regular, 0.0, 0.0);
    }
}
