//! The export as a PDF a person can read: an index, the Art. 15 information, the profile, each
//! ticket with its fields, replies and (if included) internal notes, attachments, mentions, the
//! person's privacy requests, who viewed their data, and what was withheld. Laid out here on A4
//! with DejaVu Sans embedded (Latin, Latin Extended, Greek, Cyrillic) so every name prints as
//! written; text is extractable (`ToUnicode`) for screen readers and `pdftotext`.

use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish as _, Name, Pdf, Rect, Ref, Str};
use serde_json::Value;

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TOP: f32 = PAGE_H - MARGIN;
const BOTTOM: f32 = MARGIN + 20.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Regular,
    Bold,
}

struct Face {
    face: ttf_parser::Face<'static>,
    upem: f32,
    /// Glyph id and advance (1/1000 em) of the first code points, looked up once.
    table: Vec<(u16, f32)>,
}

/// Code points whose metrics are kept in the table (Latin, Greek, Cyrillic, punctuation).
const TABLE: u32 = 0x2200;

impl Face {
    fn load(bytes: &'static [u8]) -> Option<Self> {
        let face = ttf_parser::Face::parse(bytes, 0).ok()?;
        let upem = f32::from(face.units_per_em());
        let mut f = Self { face, upem, table: Vec::new() };
        f.table = (0..TABLE).map(|cp| char::from_u32(cp).and_then(|c| f.lookup(c)).unwrap_or((0, 0.0))).collect();
        Some(f)
    }
    fn lookup(&self, c: char) -> Option<(u16, f32)> {
        let g = self.face.glyph_index(c).map(|g| g.0).filter(|g| *g != 0)?;
        let adv = f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0)) * 1000.0 / self.upem;
        Some((g, adv))
    }
    /// Glyph and advance of `c`, if the font has it.
    fn metrics(&self, c: char) -> Option<(u16, f32)> {
        match self.table.get(c as usize) {
            Some((0, _)) => None,
            Some(m) => Some(*m),
            None => self.lookup(c),
        }
    }
    fn glyph(&self, c: char) -> Option<u16> {
        self.metrics(c).map(|m| m.0)
    }
    fn advance(&self, g: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0)) * 1000.0 / self.upem
    }
    fn width(&self, s: &str, size: f32) -> f32 {
        let q = self.metrics('?').map_or(0.0, |m| m.1);
        s.chars().map(|c| self.metrics(c).map_or(q, |m| m.1)).sum::<f32>() * size / 1000.0
    }
}

fn faces() -> Option<&'static (Face, Face)> {
    static FACES: OnceLock<Option<(Face, Face)>> = OnceLock::new();
    FACES.get_or_init(|| Some((Face::load(REGULAR)?, Face::load(BOLD)?))).as_ref()
}

fn compressed(which: Style) -> &'static [u8] {
    static R: OnceLock<Vec<u8>> = OnceLock::new();
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    match which {
        Style::Regular => R.get_or_init(|| miniz_oxide::deflate::compress_to_vec_zlib(REGULAR, 6)),
        Style::Bold => B.get_or_init(|| miniz_oxide::deflate::compress_to_vec_zlib(BOLD, 6)),
    }
}

enum Item {
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

struct Layout<'f> {
    faces: &'f (Face, Face),
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(faces: &'f (Face, Face)) -> Self {
        Self {
            faces,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }
    fn face(&self, s: Style) -> &Face {
        match s {
            Style::Regular => &self.faces.0,
            Style::Bold => &self.faces.1,
        }
    }
    fn page(&self) -> usize {
        self.pages.len()
    }
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }
    fn need(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }
    fn push(&mut self, item: Item) {
        if let Some(p) = self.pages.last_mut() {
            p.push(item);
        }
    }
    fn gap(&mut self, h: f32) {
        self.y -= h;
    }
    /// Writes wrapped text; returns nothing, moves down.
    fn text(&mut self, s: &str, size: f32, style: Style, indent: f32, gray: f32) {
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
    fn wrap(&self, s: &str, size: f32, style: Style, width: f32) -> Vec<String> {
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
    fn heading(&mut self, s: &str, size: f32) {
        self.need(size * 3.0);
        self.gap(size * 0.6);
        self.text(s, size, Style::Bold, 0.0, 0.0);
        self.gap(size * 0.3);
    }
    fn label(&mut self, s: &str, shade: f32) {
        self.need(30.0);
        self.gap(6.0);
        let h = 15.0;
        self.push(Item::Bar { y: self.y - h, h, gray: shade });
        self.text(s, 9.0, Style::Bold, 4.0, 0.1);
        self.gap(4.0);
    }
    fn pair(&mut self, k: &str, v: &str) {
        self.text(&format!("{k}: {v}"), 10.0, Style::Regular, 0.0, 0.0);
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(x) => x.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(a) if a.is_empty() => "—".into(),
        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn date(v: &Value) -> String {
    v.as_str()
        .map(|t| t.replacen('T', " ", 1).trim_end_matches('Z').to_string() + " UTC")
        .unwrap_or_else(|| "—".into())
}

/// Renders an export document as PDF bytes.
pub fn render(doc: &Value) -> Option<Vec<u8>> {
    let faces = faces()?;
    let mut index: Vec<(usize, String, usize)> = Vec::new(); // (depth, title, page)
    let mut body = Layout::new(faces);
    let subject = &doc["subject"];

    body.heading("1. About this export and your rights", 15.0);
    index.push((0, "1. About this export and your rights".into(), body.page()));
    let info = &doc["information"];
    body.pair("Controller", &s(&info["controller"]));
    body.pair("Contact", &s(&info["contact"]));
    body.pair("Where your data is stored", &s(&info["storage_region"]));
    body.text("Why we process your data", 11.0, Style::Bold, 0.0, 0.0);
    for p in info["purposes"].as_array().into_iter().flatten() {
        body.text(&format!("• {}", s(p)), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.pair("Legal basis", &s(&info["legal_basis"]));
    body.text("What kinds of data we hold about you", 11.0, Style::Bold, 0.0, 0.0);
    for p in info["categories"].as_array().into_iter().flatten() {
        body.text(&format!("• {}", s(p)), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.text("Who received it", 11.0, Style::Bold, 0.0, 0.0);
    let recipients = info["recipients"].as_array().cloned().unwrap_or_default();
    if recipients.is_empty() {
        body.text("Nobody outside the helpdesk received your data.", 10.0, Style::Regular, 8.0, 0.0);
    }
    for r in recipients {
        body.text(&format!("• {} ({})", s(&r["name"]), s(&r["received"])), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.text("How long it is kept", 11.0, Style::Bold, 0.0, 0.0);
    for r in info["retention"].as_array().into_iter().flatten() {
        body.text(&format!("• {}: {}", s(&r["data"]), s(&r["kept"])), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.pair("Where it comes from", &s(&info["source"]));
    body.pair("Automated decisions", &s(&info["automated_decisions"]));
    body.pair("Transfers", &s(&info["transfers"]));
    body.text("Your rights", 11.0, Style::Bold, 0.0, 0.0);
    for r in info["rights"].as_array().into_iter().flatten() {
        body.text(&format!("• {}", s(r)), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.text(&s(&info["complaint"]), 10.0, Style::Regular, 0.0, 0.0);

    body.heading("2. Your profile", 15.0);
    index.push((0, "2. Your profile".into(), body.page()));
    for (k, label) in [
        ("name", "Name"),
        ("email", "E-mail"),
        ("phone", "Phone"),
        ("role", "Role"),
        ("locale", "Language"),
        ("time_zone", "Time zone"),
        ("details", "Details"),
        ("notes", "Notes"),
        ("tags", "Tags"),
        ("external_id", "External id"),
        ("organization_id", "Organisation"),
        ("created_at", "Created"),
        ("last_login_at", "Last signed in"),
    ] {
        let v = &subject[k];
        let text = if k.ends_with("_at") { date(v) } else { s(v) };
        body.pair(label, &text);
    }
    if let Some(obj) = subject["user_fields"].as_object().filter(|o| !o.is_empty()) {
        for (k, v) in obj {
            body.pair(k, &s(v));
        }
    }

    let tickets = doc["tickets"].as_array().cloned().unwrap_or_default();
    body.heading(&format!("3. Tickets ({})", tickets.len()), 15.0);
    index.push((0, format!("3. Tickets ({})", tickets.len()), body.page()));
    if tickets.is_empty() {
        body.text("No tickets.", 10.0, Style::Regular, 0.0, 0.0);
    }
    for t in &tickets {
        let title = format!("Ticket #{}: {}", s(&t["id"]), s(&t["subject"]));
        body.need(60.0);
        index.push((1, title.clone(), body.page()));
        body.gap(6.0);
        body.text(&title, 12.5, Style::Bold, 0.0, 0.0);
        body.text(
            &format!(
                "Status: {} · Priority: {} · Type: {} · Your role: {}",
                s(&t["status"]),
                s(&t["priority"]),
                s(&t["type"]),
                s(&t["your_roles"])
            ),
            9.5,
            Style::Regular,
            0.0,
            0.25,
        );
        let ccs: Vec<String> = t["collaborators"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} ({})", s(&c["person"]), s(&c["kind"])))
            .collect();
        body.text(
            &format!(
                "Requester: {} · Assignee: {} · CC and followers: {}",
                s(&t["requester"]),
                s(&t["assignee"]),
                if ccs.is_empty() { "—".into() } else { ccs.join(", ") }
            ),
            9.5,
            Style::Regular,
            0.0,
            0.25,
        );
        body.text(
            &format!("Created: {} · Updated: {}", date(&t["created_at"]), date(&t["updated_at"])),
            9.5,
            Style::Regular,
            0.0,
            0.25,
        );
        if t["tags"].as_array().is_some_and(|a| !a.is_empty()) {
            body.text(&format!("Tags: {}", s(&t["tags"])), 9.5, Style::Regular, 0.0, 0.25);
        }
        for f in t["custom_fields"].as_array().into_iter().flatten() {
            body.text(&format!("Field {}: {}", s(&f["id"]), s(&f["value"])), 9.5, Style::Regular, 0.0, 0.25);
        }
        for c in t["comments"].as_array().into_iter().flatten() {
            let public = c["public"].as_bool().unwrap_or(false);
            let kind = if public {
                "Public reply"
            } else {
                "Internal note (not visible to you in the helpdesk)"
            };
            body.label(
                &format!("{kind} · {} · {}", s(&c["author"]), date(&c["created_at"])),
                if public { 0.92 } else { 0.82 },
            );
            body.text(&s(&c["body"]), 10.0, Style::Regular, 4.0, 0.0);
            for a in c["attachments"].as_array().into_iter().flatten() {
                body.text(
                    &format!(
                        "Attachment: {} ({}, {} bytes) — {}",
                        s(&a["file_name"]),
                        s(&a["content_type"]),
                        s(&a["size"]),
                        s(&a["file"])
                    ),
                    9.0,
                    Style::Regular,
                    12.0,
                    0.3,
                );
            }
        }
        body.gap(8.0);
    }

    let mentions = doc["mentions"].as_array().cloned().unwrap_or_default();
    body.heading(&format!("4. Mentions of you in other conversations ({})", mentions.len()), 15.0);
    index.push((0, format!("4. Mentions of you in other conversations ({})", mentions.len()), body.page()));
    if mentions.is_empty() {
        body.text("None.", 10.0, Style::Regular, 0.0, 0.0);
    }
    for m in &mentions {
        let kind = if m["public"].as_bool().unwrap_or(false) {
            "Public reply"
        } else {
            "Internal note"
        };
        body.label(
            &format!("Ticket #{} · {kind} · {} · {}", s(&m["ticket_id"]), s(&m["author"]), date(&m["created_at"])),
            0.9,
        );
        body.text(&s(&m["body"]), 10.0, Style::Regular, 4.0, 0.0);
    }

    body.heading("5. Your privacy requests, who viewed your data, and other records", 15.0);
    index.push((0, "5. Your privacy requests, who viewed your data, and other records".into(), body.page()));
    let privacy = &doc["privacy"];
    body.text("Requests", 11.0, Style::Bold, 0.0, 0.0);
    for r in privacy["requests"].as_array().into_iter().flatten() {
        body.text(
            &format!(
                "#{} {} ({}) received {}, due {}, {}",
                s(&r["id"]),
                s(&r["kind"]),
                s(&r["channel"]),
                date(&r["received_at"]),
                date(&r["due_at"]),
                s(&r["status"])
            ),
            9.5,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    body.text("Who viewed your data (by role), when and why", 11.0, Style::Bold, 0.0, 0.0);
    let consultations = privacy["consultations"].as_array().cloned().unwrap_or_default();
    if consultations.is_empty() {
        body.text("No views by staff were recorded.", 9.5, Style::Regular, 8.0, 0.0);
    }
    for c in consultations {
        body.text(
            &format!("{} · {} · {} · {}", date(&c["at"]), s(&c["role"]), s(&c["action"]), s(&c["purpose"])),
            9.5,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    body.text("Recipients your data was sent to", 11.0, Style::Bold, 0.0, 0.0);
    let disclosures = privacy["disclosures"].as_array().cloned().unwrap_or_default();
    if disclosures.is_empty() {
        body.text("None.", 9.5, Style::Regular, 8.0, 0.0);
    }
    for d in disclosures {
        body.text(
            &format!("{} · {} · {} · {}", date(&d["at"]), s(&d["recipient"]), s(&d["event"]), s(&d["outcome"])),
            9.5,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    if let Some(records) = doc["records"].as_object().filter(|r| !r.is_empty()) {
        for (table, rows) in records {
            body.text(&format!("Records in {table}"), 11.0, Style::Bold, 0.0, 0.0);
            for r in rows.as_array().into_iter().flatten() {
                let line = r
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(k, _)| *k != "_why")
                            .map(|(k, v)| format!("{k}: {}", s(v)))
                            .collect::<Vec<_>>()
                            .join(" · ")
                    })
                    .unwrap_or_default();
                body.text(&line, 9.0, Style::Regular, 8.0, 0.0);
            }
        }
    }

    body.heading("6. What was withheld and why", 15.0);
    index.push((0, "6. What was withheld and why".into(), body.page()));
    let items = doc["withheld"]["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        body.text("Nothing was withheld.", 10.0, Style::Regular, 0.0, 0.0);
    }
    for w in items {
        body.text(
            &format!("• {} ({}): {}", s(&w["reason"]), s(&w["count"]), s(&w["why"])),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }

    // The front pages: title, summary and the index with page numbers.
    let front_lines = 14 + index.len();
    let per_page = ((TOP - BOTTOM) / 14.0) as usize;
    let front_pages = front_lines.div_ceil(per_page.max(1)).max(1);
    let mut front = Layout::new(faces);
    front.text("Personal data export", 22.0, Style::Bold, 0.0, 0.0);
    front.gap(4.0);
    front.text(
        &format!("For {} ({})", s(&subject["name"]), s(&subject["email"])),
        12.0,
        Style::Regular,
        0.0,
        0.0,
    );
    front.text(
        &format!(
            "Generated {}{}",
            date(&doc["generated_at"]),
            doc["request_id"].as_i64().map(|r| format!(" for request #{r}")).unwrap_or_default()
        ),
        10.0,
        Style::Regular,
        0.0,
        0.3,
    );
    front.gap(8.0);
    front.text(&s(&doc["summary"]), 11.0, Style::Regular, 0.0, 0.0);
    front.text(
        "Other people appear as placeholders such as [other person 1] or Agent #1, to protect them. The machine-readable copy of this export is the JSON file that comes with it.",
        9.5,
        Style::Regular,
        0.0,
        0.3,
    );
    front.heading("Contents", 14.0);
    for (depth, title, page) in &index {
        let n = page + front_pages;
        let indent = if *depth == 0 { 0.0 } else { 14.0 };
        let size = if *depth == 0 { 10.5 } else { 9.5 };
        let title = truncate(faces, title, size, PAGE_W - 2.0 * MARGIN - indent - 40.0);
        front.text(
            &format!("{title}  ·  page {n}"),
            size,
            if *depth == 0 { Style::Bold } else { Style::Regular },
            indent,
            0.0,
        );
    }
    while front.pages.len() < front_pages {
        front.new_page();
    }
    let mut pages = front.pages;
    pages.extend(body.pages);
    Some(write(faces, pages, doc))
}

fn truncate(faces: &(Face, Face), s: &str, size: f32, width: f32) -> String {
    if faces.0.width(s, size) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if faces.0.width(&out, size) > width - 10.0 {
            out.pop();
            out.push('…');
            break;
        }
    }
    out
}

fn write(faces: &(Face, Face), pages: Vec<Vec<Item>>, doc: &Value) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        next += 1;
        Ref::new(next)
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let fonts: [(Style, Ref, Ref, Ref, Ref, Ref); 2] = [
        (Style::Regular, alloc(), alloc(), alloc(), alloc(), alloc()),
        (Style::Bold, alloc(), alloc(), alloc(), alloc(), alloc()),
    ];
    let total = pages.len();
    let page_refs: Vec<(Ref, Ref)> = (0..total).map(|_| (alloc(), alloc())).collect();
    // Per font: the character each used glyph stands for ('\0' = unused).
    let mut used: [Vec<char>; 2] = [vec!['\0'; 65_536], vec!['\0'; 65_536]];
    let footer = format!("Personal data export · generated {}", date(&doc["generated_at"]));

    for (i, (items, (page_ref, content_ref))) in pages.into_iter().zip(&page_refs).enumerate() {
        let mut content = Content::new();
        for item in items {
            match item {
                Item::Bar { y, h, gray } => {
                    content.set_fill_gray(gray);
                    content.rect(MARGIN, y, PAGE_W - 2.0 * MARGIN, h);
                    content.fill_nonzero();
                }
                Item::Text { x, y, size, style, gray, text } => show(&mut content, faces, &mut used, style, size, gray, x, y, &text),
            }
        }
        let foot = format!("{footer} · page {} of {total}", i + 1);
        show(&mut content, faces, &mut used, Style::Regular, 8.0, 0.45, MARGIN, MARGIN - 10.0, &foot);
        let bytes = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 3);
        pdf.stream(*content_ref, &bytes).filter(Filter::FlateDecode);
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(*content_ref);
        let mut res = page.resources();
        let mut f = res.fonts();
        f.pair(Name(b"F1"), fonts[0].1);
        f.pair(Name(b"F2"), fonts[1].1);
        f.finish();
        res.finish();
        page.finish();
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(i32::try_from(total).unwrap_or(i32::MAX));
    pdf.document_info(info)
        .title(pdf_writer::TextStr("Personal data export"))
        .producer(pdf_writer::TextStr("Suoja"));

    for (idx, (style, type0, cid, desc, file, cmap)) in fonts.into_iter().enumerate() {
        let face = match style {
            Style::Regular => &faces.0,
            Style::Bold => &faces.1,
        };
        let name = match style {
            Style::Regular => Name(b"DejaVuSans"),
            Style::Bold => Name(b"DejaVuSans-Bold"),
        };
        let info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(type0)
            .base_font(name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        let mut c = pdf.cid_font(cid);
        c.subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(info)
            .font_descriptor(desc)
            .default_width(0.0);
        c.cid_to_gid_map_predefined(Name(b"Identity"));
        {
            let mut w = c.widths();
            for (g, _) in glyphs_used(used.get(idx)) {
                w.consecutive(g, [face.advance(g)]);
            }
        }
        c.finish();
        let bbox = face.face.global_bounding_box();
        let scale = 1000.0 / face.upem;
        pdf.font_descriptor(desc)
            .name(name)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                f32::from(bbox.x_min) * scale,
                f32::from(bbox.y_min) * scale,
                f32::from(bbox.x_max) * scale,
                f32::from(bbox.y_max) * scale,
            ))
            .italic_angle(0.0)
            .ascent(f32::from(face.face.ascender()) * scale)
            .descent(f32::from(face.face.descender()) * scale)
            .cap_height(f32::from(face.face.capital_height().unwrap_or(700)) * scale)
            .stem_v(80.0)
            .font_file2(file);
        let original = match style {
            Style::Regular => REGULAR.len(),
            Style::Bold => BOLD.len(),
        };
        pdf.stream(file, compressed(style))
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), i32::try_from(original).unwrap_or(i32::MAX));
        let mut map = UnicodeCmap::new(Name(b"Suoja-UCS"), info);
        for (g, ch) in glyphs_used(used.get(idx)) {
            map.pair(g, ch);
        }
        pdf.cmap(cmap, &map.finish());
    }
    pdf.finish()
}

fn glyphs_used(used: Option<&Vec<char>>) -> Vec<(u16, char)> {
    used.into_iter()
        .flat_map(|u| u.iter().enumerate())
        .filter(|(_, c)| **c != '\0')
        .filter_map(|(g, c)| Some((u16::try_from(g).ok()?, *c)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn show(content: &mut Content, faces: &(Face, Face), used: &mut [Vec<char>; 2], style: Style, size: f32, gray: f32, x: f32, y: f32, text: &str) {
    let (face, slot, font) = match style {
        Style::Regular => (&faces.0, 0, Name(b"F1")),
        Style::Bold => (&faces.1, 1, Name(b"F2")),
    };
    let mut glyphs = Vec::with_capacity(text.len() * 2);
    for ch in text.chars() {
        let (g, ch) = match face.glyph(ch) {
            Some(g) => (g, ch),
            None => (face.glyph('?').unwrap_or(0), '?'),
        };
        if let Some(u) = used.get_mut(slot).and_then(|m| m.get_mut(usize::from(g)))
            && *u == '\0'
        {
            *u = ch;
        }
        glyphs.extend_from_slice(&g.to_be_bytes());
    }
    content.set_fill_gray(gray);
    content.begin_text();
    content.set_font(font, size);
    content.next_line(x, y);
    content.show(Str(&glyphs));
    content.end_text();
}
