//! Writing laid-out pages as PDF objects: content streams, the two embedded Type 0 fonts with
//! their widths and `ToUnicode` maps (so text can be extracted), and the document catalogue.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish as _, Name, Pdf, Rect, Ref, Str};
use serde_json::Value;

use super::date;
use super::layout::{BOLD, Face, Item, MARGIN, PAGE_H, PAGE_W, REGULAR, Style, compressed};

pub(super) fn write(faces: &(Face, Face), pages: Vec<Vec<Item>>, doc: &Value) -> Vec<u8> {
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
    let title = doc["document_title"].as_str().unwrap_or("Personal data export");
    // A document that says it is Finnish gets its footer in Finnish.
    let finnish = doc["language"].as_str() == Some("fi");
    let footer = format!("{title} · {} {}", if finnish { "laadittu" } else { "generated" }, date(&doc["generated_at"]));

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
        let foot = if finnish {
            format!("{footer} · sivu {} / {total}", i + 1)
        } else {
            format!("{footer} · page {} of {total}", i + 1)
        };
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
    pdf.document_info(info).title(pdf_writer::TextStr(title)).producer(pdf_writer::TextStr("Suoja"));

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

#[allow(
    clippy::too_many_arguments,
    reason = "a text run's font, style, size, colour and position, as PDF operators take them"
)]
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
