//! The document as PDF: a small layout of its own (lines broken at spaces
//! and, where a word does not fit, at its Czech hyphenation points; tables
//! whose rows split across pages under their repeated header), written with
//! pdf-writer. The vendored DejaVu fonts are measured with ttf-parser and
//! embedded as subsets (subsetter keeps only the outlines of the glyphs
//! drawn) with a ToUnicode map, so the Czech text can be searched and copied.

use crate::model::{Block, CONTENTS, Cell, Document, Table};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::writers::OutlineItem;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

// A4 with 2 cm margins, in points.
const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.7;
const TOP: f32 = MARGIN;
/// Where text ends; the footer is below.
const BOTTOM: f32 = HEIGHT - MARGIN;
const TEXT: f32 = WIDTH - 2.0 * MARGIN;
const LEADING: f32 = 1.3;
const PAD: f32 = 3.0;

const BODY: f32 = 10.0;
const SMALL: f32 = 8.5;
const DARK_BLUE: (u8, u8, u8) = (0x1F, 0x38, 0x64);
const BLUE: (u8, u8, u8) = (0x2E, 0x5A, 0x88);
const BLACK: (u8, u8, u8) = (0, 0, 0);
const GREY: (u8, u8, u8) = (0x55, 0x55, 0x55);
const BORDER: (u8, u8, u8) = (0x8E, 0xA9, 0xC1);

/// CIDs of an Identity-H font are its glyph ids, not a registered collection.
const IDENTITY: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let fonts = Fonts::new()?;
    let mut body = Layout::new(&fonts);
    body.blocks(&doc.blocks);
    // The contents list every heading with its page: its own length does
    // not depend on the numbers, so it is laid out once to count its pages.
    let first_body_page = 1 + toc(&fonts, &body.anchors, 0).pages.len();
    let contents = toc(&fonts, &body.anchors, first_body_page);
    let mut cover = Layout::new(&fonts);
    cover.cover(doc);

    let mut pages = cover.pages;
    pages.extend(contents.pages);
    pages.extend(body.pages);
    let total = pages.len();

    let mut next = Ref::new(1);
    let catalog = next.bump();
    let page_tree = next.bump();
    let outline = next.bump();
    let info = next.bump();
    let font_ids = [next.bump(), next.bump()];
    let page_ids: Vec<Ref> = pages.iter().map(|_| next.bump()).collect();
    let mut pdf = Pdf::new();
    let mut canvas = Canvas::new(&fonts);
    for (i, mut ops) in pages.into_iter().enumerate() {
        // The footer: what made the document, and the page of how many.
        let footer_y = HEIGHT - MARGIN / 2.0;
        let number = format!("strana {} z {}", i + 1, total);
        let footer = |x: f32, text: String| Op::Text {
            x,
            y: footer_y,
            size: SMALL,
            bold: false,
            color: GREY,
            text,
        };
        ops.push(footer(MARGIN, doc.footer.clone()));
        let x = WIDTH - MARGIN - fonts.regular.width(&number, SMALL);
        ops.push(footer(x, number));
        for op in &ops {
            canvas.draw(op);
        }
        let content = next.bump();
        pdf.stream(content, &deflate(&canvas.take_page()))
            .filter(Filter::FlateDecode);
        let mut page = pdf.page(page_ids[i]);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .parent(page_tree)
            .contents(content);
        page.resources()
            .fonts()
            .pair(Name(b"F0"), font_ids[0])
            .pair(Name(b"F1"), font_ids[1]);
    }
    pdf.pages(page_tree)
        .kids(page_ids.iter().copied())
        .count(int(total));
    for (face, (id, used)) in [&fonts.regular, &fonts.bold]
        .into_iter()
        .zip(font_ids.into_iter().zip(&canvas.used))
    {
        write_font(&mut pdf, &mut next, id, face, used)?;
    }

    // Bookmarks: priorities, and their measures under them (closed).
    let mut tree: Vec<(&Anchor, Vec<&Anchor>)> = Vec::new();
    for a in &body.anchors {
        match tree.last_mut() {
            Some((parent, children)) if a.level > 1 && parent.level == 1 => children.push(a),
            _ => tree.push((a, Vec::new())),
        }
    }
    let page_of = |a: &Anchor| page_ids[first_body_page + a.page];
    let ids: Vec<Ref> = tree.iter().map(|_| next.bump()).collect();
    for (k, (a, children)) in tree.iter().enumerate() {
        let child_ids: Vec<Ref> = children.iter().map(|_| next.bump()).collect();
        let mut item = bookmark(&mut pdf, &ids, k, outline, a, page_of(a));
        if let (Some(&first), Some(&last)) = (child_ids.first(), child_ids.last()) {
            item.first(first).last(last).count(-int(child_ids.len()));
        }
        item.finish();
        for (j, c) in children.iter().enumerate() {
            bookmark(&mut pdf, &child_ids, j, ids[k], c, page_of(c));
        }
    }
    if let (Some(&first), Some(&last)) = (ids.first(), ids.last()) {
        pdf.outline(outline)
            .first(first)
            .last(last)
            .count(int(ids.len()));
    }

    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .creator(TextStr("KPSS API"));
    let mut cat = pdf.catalog(catalog);
    cat.pages(page_tree).lang(TextStr("cs-CZ"));
    if !ids.is_empty() {
        cat.outlines(outline);
    }
    cat.finish();
    Ok(pdf.finish())
}

/// The `k`th of the bookmarks `ids` under `parent`: a heading's place.
fn bookmark<'a>(
    pdf: &'a mut Pdf,
    ids: &[Ref],
    k: usize,
    parent: Ref,
    heading: &Anchor,
    page: Ref,
) -> OutlineItem<'a> {
    let mut item = pdf.outline_item(ids[k]);
    item.parent(parent).title(TextStr(&heading.text));
    if let Some(&prev) = k.checked_sub(1).and_then(|p| ids.get(p)) {
        item.prev(prev);
    }
    if let Some(&next) = ids.get(k + 1) {
        item.next(next);
    }
    item.dest().page(page).xyz(MARGIN, HEIGHT - heading.y, None);
    item
}

/// One font as PDF wants a TrueType font for any Unicode text: a Type0
/// font whose codes are two-byte CIDs (Identity-H), over a CIDFontType2
/// whose CIDs are the glyph ids (the subsetter keeps them), with the
/// widths of the glyphs drawn and a ToUnicode map back to their characters.
fn write_font(
    pdf: &mut Pdf,
    next: &mut Ref,
    id: Ref,
    face: &Face,
    used: &BTreeMap<u16, char>,
) -> Result<(), String> {
    let glyphs: Vec<u16> = used.keys().copied().collect();
    let subset = subsetter::subset(face.data, 0, subsetter::Profile::pdf(&glyphs))
        .map_err(|e| e.to_string())?;
    // The PDF maps codes to glyphs itself: the font's own cmap (5 kB
    // compressed) is not needed.
    let subset = without_table(&subset, b"cmap").ok_or("the subset cannot be read")?;
    // A subset is named with a tag of six capitals of its own before the font's name.
    let mut hasher = DefaultHasher::new();
    glyphs.hash(&mut hasher);
    let mut hash = Hasher::finish(&hasher);
    let tag: String = (0..6)
        .map(|_| {
            let letter = char::from(b'A' + (hash % 26) as u8);
            hash /= 26;
            letter
        })
        .collect();
    let name = format!("{tag}+{}", face.name);
    let name = Name(name.as_bytes());
    let (cid, descriptor, file, cmap) = (next.bump(), next.bump(), next.bump(), next.bump());

    pdf.type0_font(id)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let mut font = pdf.cid_font(cid);
    font.subtype(CidFontType::Type2)
        .base_font(name)
        .system_info(IDENTITY)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let mut widths = font.widths();
    for &glyph in &glyphs {
        widths.consecutive(glyph, [face.advance(glyph) * 1000.0]);
    }
    widths.finish();
    font.finish();

    // Font units to the thousandths of an em PDF measures fonts in.
    let units = |v: i16| f32::from(v) * 1000.0 / face.units_per_em;
    let f = &face.font;
    let bbox = f.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(name)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            units(bbox.x_min),
            units(bbox.y_min),
            units(bbox.x_max),
            units(bbox.y_max),
        ))
        .italic_angle(f.italic_angle())
        .ascent(units(f.ascender()))
        .descent(units(f.descender()))
        .cap_height(units(f.capital_height().unwrap_or(f.ascender())))
        // TrueType fonts do not give their stem width: the usual estimate from the weight.
        .stem_v(10.0 + 0.244 * (f32::from(f.weight().to_number()) - 50.0))
        .font_file2(file);
    pdf.stream(file, &deflate(&subset))
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), int(subset.len()));

    let mut map = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (&glyph, &c) in used {
        map.pair(glyph, c);
    }
    pdf.stream(cmap, &deflate(&map.finish()))
        .filter(Filter::FlateDecode);
    Ok(())
}

/// An OpenType font without one of its tables: the table directory
/// written anew, the other tables copied as they are (4-byte aligned).
fn without_table(font: &[u8], tag: &[u8; 4]) -> Option<Vec<u8>> {
    let count = usize::from(u16::from_be_bytes([*font.get(4)?, *font.get(5)?]));
    let records: Vec<&[u8]> = (0..count)
        .map(|i| font.get(12 + 16 * i..28 + 16 * i))
        .collect::<Option<_>>()?;
    let kept: Vec<&[u8]> = records.into_iter().filter(|r| r[..4] != tag[..]).collect();
    // The header: the version, then the count and its binary search hints.
    let n = u16::try_from(kept.len()).ok()?;
    let selector = u16::try_from(n.max(1).ilog2()).ok()?;
    let range = 16 << selector;
    let mut out = font.get(..4)?.to_vec();
    for v in [n, selector, range, 16 * n - range] {
        out.extend(v.to_be_bytes());
    }
    let mut tables = Vec::new();
    let start = 12 + 16 * kept.len();
    for r in &kept {
        let at = |i: usize| u32::from_be_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]) as usize;
        let (offset, len) = (at(8), at(12));
        out.extend(&r[..8]);
        out.extend(u32::try_from(start + tables.len()).ok()?.to_be_bytes());
        out.extend(&r[12..16]);
        tables.extend(font.get(offset..offset + len)?);
        tables.resize(tables.len().next_multiple_of(4), 0);
    }
    out.extend(tables);
    Some(out)
}

/// A count as PDF writes it.
fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut out = ZlibEncoder::new(Vec::new(), Compression::default());
    // Into memory: it cannot fail.
    out.write_all(data)
        .and_then(|()| out.finish())
        .unwrap_or_default()
}

fn hex(s: &str) -> (u8, u8, u8) {
    let c = |i: usize| u8::from_str_radix(s.get(i..i + 2).unwrap_or("FF"), 16).unwrap_or(255);
    (c(0), c(2), c(4))
}

fn rgb(c: (u8, u8, u8)) -> [f32; 3] {
    [c.0, c.1, c.2].map(|v| f32::from(v) / 255.0)
}

/// A page's content stream being written, and the glyphs drawn so far with
/// each font (regular, bold), each with a character for the ToUnicode map.
struct Canvas<'a> {
    fonts: &'a Fonts,
    content: Content,
    used: [BTreeMap<u16, char>; 2],
}

impl<'a> Canvas<'a> {
    fn new(fonts: &'a Fonts) -> Self {
        Self {
            fonts,
            content: Content::new(),
            used: [BTreeMap::new(), BTreeMap::new()],
        }
    }

    /// The page drawn so far, the canvas empty for the next.
    fn take_page(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.content, Content::new())
            .finish()
            .into_vec()
    }

    /// An operation of the layout, whose y runs down from the top of the
    /// page, in PDF's space, whose y runs up from the bottom.
    fn draw(&mut self, op: &Op) {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold,
                color,
                text,
            } => {
                if text.is_empty() {
                    return;
                }
                let face = self.fonts.face(*bold);
                let used = &mut self.used[usize::from(*bold)];
                // A glyph per character, at its advance (the widths say so):
                // text of one script in precomposed (NFC) letters needs no
                // shaping engine.
                let mut codes = Vec::with_capacity(2 * text.len());
                for c in text.chars() {
                    let glyph = face.glyph(c).0;
                    if glyph != 0 {
                        used.entry(glyph).or_insert(c);
                    }
                    codes.extend(glyph.to_be_bytes());
                }
                let [r, g, b] = rgb(*color);
                let font = Name(if *bold { b"F1" } else { b"F0" });
                self.content
                    .begin_text()
                    .set_fill_rgb(r, g, b)
                    .set_font(font, *size)
                    .set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, HEIGHT - y])
                    .show(Str(&codes))
                    .end_text();
            }
            Op::Rect { x, y, w, h, fill } => {
                match fill {
                    Some(c) => {
                        let [r, g, b] = rgb(*c);
                        self.content.set_fill_rgb(r, g, b);
                    }
                    None => {
                        let [r, g, b] = rgb(BORDER);
                        self.content.set_stroke_rgb(r, g, b).set_line_width(0.5);
                    }
                }
                self.content.rect(*x, HEIGHT - y - h, *w, *h);
                match fill {
                    Some(_) => self.content.fill_nonzero(),
                    None => self.content.stroke(),
                };
            }
        }
    }
}

/// A font for measuring the layout and for embedding.
struct Face {
    data: &'static [u8],
    /// Its PostScript name.
    name: &'static str,
    font: ttf_parser::Face<'static>,
    units_per_em: f32,
    /// Glyph and advance of the characters up to Latin Extended-A (all of
    /// Czech): the layout measures every candidate line, and an index here
    /// is faster than the font's cmap.
    latin: Vec<(u16, f32)>,
}

impl Face {
    fn new(data: &'static [u8], name: &'static str) -> Result<Self, String> {
        let font = ttf_parser::Face::parse(data, 0).map_err(|e| e.to_string())?;
        let mut face = Self {
            data,
            name,
            units_per_em: f32::from(font.units_per_em()),
            font,
            latin: Vec::new(),
        };
        face.latin = ('\0'..'\u{180}').map(|c| face.lookup(c)).collect();
        Ok(face)
    }

    /// A glyph's advance in ems.
    fn advance(&self, glyph: u16) -> f32 {
        let advance = self.font.glyph_hor_advance(ttf_parser::GlyphId(glyph));
        f32::from(advance.unwrap_or_default()) / self.units_per_em
    }

    /// A character's glyph (0, the missing glyph, if the font has none)
    /// and its advance in ems.
    fn glyph(&self, c: char) -> (u16, f32) {
        match self.latin.get(c as usize) {
            Some(&known) => known,
            None => self.lookup(c),
        }
    }

    fn lookup(&self, c: char) -> (u16, f32) {
        let glyph = self.font.glyph_index(c).map_or(0, |g| g.0);
        (glyph, self.advance(glyph))
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn new() -> Result<Self, String> {
        Ok(Self {
            regular: Face::new(REGULAR, "DejaVuSans")?,
            bold: Face::new(BOLD, "DejaVuSans-Bold")?,
        })
    }

    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// `text` broken into lines of at most `width`: at spaces, at its line
    /// breaks, and inside a word that does not fit at a Czech hyphenation
    /// point (or anywhere, for a word longer than a line).
    fn lines(&self, text: &str, bold: bool, size: f32, width: f32, hyphenate: bool) -> Vec<String> {
        let face = self.face(bold);
        let fits = |s: &str| face.width(s, size) <= width;
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let mut word = word.to_owned();
                loop {
                    let candidate = if line.is_empty() {
                        word.clone()
                    } else {
                        format!("{line} {word}")
                    };
                    if fits(&candidate) {
                        line = candidate;
                        break;
                    }
                    // The longest start of the word that fits with a hyphen.
                    let prefix = if line.is_empty() { "" } else { " " };
                    let mut head = String::new();
                    let mut best: Option<usize> = None;
                    let syllables: Vec<&str> = if hyphenate {
                        hypher::hyphenate(&word, hypher::Lang::Czech).collect()
                    } else {
                        Vec::new()
                    };
                    for s in syllables.iter().take(syllables.len().saturating_sub(1)) {
                        head.push_str(s);
                        if fits(&format!("{line}{prefix}{head}-")) {
                            best = Some(head.len());
                        } else {
                            break;
                        }
                    }
                    if let Some(at) = best {
                        line = format!("{line}{prefix}{}-", &word[..at]);
                        lines.push(std::mem::take(&mut line));
                        word = word[at..].to_owned();
                    } else if !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                    } else {
                        // Longer than a line and no hyphenation point: cut it.
                        let mut cut = 0;
                        for (i, c) in word.char_indices() {
                            if !fits(&word[..i + c.len_utf8()]) {
                                break;
                            }
                            cut = i + c.len_utf8();
                        }
                        let cut = cut.max(word.chars().next().map_or(1, char::len_utf8));
                        lines.push(word[..cut].to_owned());
                        word = word[cut..].to_owned();
                        if word.is_empty() {
                            break;
                        }
                    }
                }
            }
            lines.push(line);
        }
        lines
    }
}

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: (u8, u8, u8),
        text: String,
    },
    /// Filled with the colour, or only outlined.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<(u8, u8, u8)>,
    },
}

/// Where a heading landed: its page among the body's pages, and height.
struct Anchor {
    level: u8,
    text: String,
    page: usize,
    y: f32,
}

struct Layout<'a> {
    fonts: &'a Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
    anchors: Vec<Anchor>,
}

impl<'a> Layout<'a> {
    fn new(fonts: &'a Fonts) -> Self {
        Self {
            fonts,
            pages: vec![Vec::new()],
            y: TOP,
            anchors: Vec::new(),
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, color: (u8, u8, u8), text: &str) {
        self.push(Op::Text {
            x,
            y: self.y + size,
            size,
            bold,
            color,
            text: text.to_owned(),
        });
    }

    /// Lines of text from `x`, each on the next line, across pages;
    /// headings are not hyphenated.
    fn paragraph(&mut self, text: &str, x: f32, size: f32, bold: bool, color: (u8, u8, u8)) {
        let line_height = size * LEADING;
        for line in self
            .fonts
            .lines(text, bold, size, TEXT - (x - MARGIN), !bold)
        {
            if self.y + line_height > BOTTOM {
                self.new_page();
            }
            self.text(x, size, bold, color, &line);
            self.y += line_height;
        }
    }

    fn cover(&mut self, doc: &Document) {
        self.y = HEIGHT * 0.28;
        self.centered(&doc.title, 22.0, true, DARK_BLUE);
        self.y += 24.0;
        for line in &doc.cover {
            self.centered(line, 12.0, false, BLACK);
            self.y += 8.0;
        }
    }

    fn centered(&mut self, text: &str, size: f32, bold: bool, color: (u8, u8, u8)) {
        for line in self.fonts.lines(text, bold, size, TEXT, false) {
            let w = self.fonts.face(bold).width(&line, size);
            self.text(MARGIN + (TEXT - w) / 2.0, size, bold, color, &line);
            self.y += size * LEADING;
        }
    }

    fn blocks(&mut self, blocks: &[Block]) {
        for block in blocks {
            match block {
                Block::Heading { level, text } => self.heading(*level, text),
                Block::Paragraph(text) => {
                    self.paragraph(text, MARGIN, BODY, false, BLACK);
                    self.y += BODY * 0.6;
                }
                Block::Table(t) => self.table(t),
            }
        }
    }

    fn heading(&mut self, level: u8, text: &str) {
        let (size, color, before) = match level {
            1 => (16.0, DARK_BLUE, 18.0),
            2 => (13.0, BLUE, 14.0),
            _ => (11.0, BLACK, 10.0),
        };
        // A heading starts a page rather than end one: it keeps with what follows.
        if self.y > TOP {
            self.y += before;
        }
        let lines = self.fonts.lines(text, true, size, TEXT, false).len() as f32;
        if self.y + lines * size * LEADING + 4.0 * BODY * LEADING > BOTTOM {
            self.new_page();
        }
        self.anchors.push(Anchor {
            level,
            text: text.to_owned(),
            page: self.pages.len() - 1,
            y: self.y,
        });
        self.paragraph(text, MARGIN, size, true, color);
        self.y += size * 0.4;
    }

    fn table(&mut self, t: &Table) {
        let total: f32 = t.widths.iter().map(|w| f32::from(*w)).sum::<f32>().max(1.0);
        let widths: Vec<f32> = t
            .widths
            .iter()
            .map(|w| f32::from(*w) * TEXT / total)
            .collect();
        let size = 9.0;
        let line_height = size * LEADING;
        let wrap = |row: &[Cell], header: bool| -> Vec<Vec<String>> {
            row.iter()
                .zip(&widths)
                .map(|(c, w)| {
                    self.fonts
                        .lines(&c.text, c.bold || header, size, w - 2.0 * PAD, true)
                })
                .collect()
        };
        let header = wrap(&t.header, true);
        let header_height = rows_height(&header, line_height);
        // The header and the first line of a row, or a new page.
        if self.y + header_height + line_height + 2.0 * PAD > BOTTOM {
            self.new_page();
        }
        self.row(&t.header, &header, &widths, 0, usize::MAX, true);
        for cells in &t.rows {
            let lines = wrap(cells, false);
            let count = lines.iter().map(Vec::len).max().unwrap_or(0);
            let mut from = 0;
            loop {
                let room = ((BOTTOM - self.y - 2.0 * PAD) / line_height).floor();
                let room = if room < 1.0 { 0 } else { room as usize };
                let rest = count - from;
                // A row that fits moves whole; a longer one fills the page,
                // and goes on below the repeated header.
                let whole = rest <= room;
                let splittable = rest > 2 * 3 && room >= 3;
                if whole || splittable {
                    let take = rest.min(room);
                    self.row(cells, &lines, &widths, from, take, false);
                    from += take;
                }
                if from >= count {
                    break;
                }
                self.new_page();
                self.row(&t.header, &header, &widths, 0, usize::MAX, true);
            }
        }
        self.y += BODY * 0.8;
    }

    /// Lines `from..from + take` of a row's cells.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        cells: &[Cell],
        lines: &[Vec<String>],
        widths: &[f32],
        from: usize,
        take: usize,
        header: bool,
    ) {
        let size = 9.0;
        let line_height = size * LEADING;
        let shown = lines
            .iter()
            .map(|l| l.len().saturating_sub(from).min(take))
            .max()
            .unwrap_or(0)
            .max(1);
        let height = shown as f32 * line_height + 2.0 * PAD;
        let mut x = MARGIN;
        for ((cell, cell_lines), w) in cells.iter().zip(lines).zip(widths) {
            let fill = cell.fill.map(hex).or(header.then_some(hex("E8EEF4")));
            if let Some(f) = fill {
                self.push(Op::Rect {
                    x,
                    y: self.y,
                    w: *w,
                    h: height,
                    fill: Some(f),
                });
            }
            self.push(Op::Rect {
                x,
                y: self.y,
                w: *w,
                h: height,
                fill: None,
            });
            let top = self.y;
            self.y += PAD;
            for line in cell_lines.iter().skip(from).take(take) {
                self.text(x + PAD, size, cell.bold || header, BLACK, line);
                self.y += line_height;
            }
            self.y = top;
            x += w;
        }
        self.y += height;
    }
}

fn rows_height(cells: &[Vec<String>], line_height: f32) -> f32 {
    cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_height + 2.0 * PAD
}

/// The table of contents, its pages numbered from `first_body_page` on.
fn toc<'a>(fonts: &'a Fonts, anchors: &[Anchor], first_body_page: usize) -> Layout<'a> {
    let mut l = Layout::new(fonts);
    l.paragraph(CONTENTS, MARGIN, 16.0, true, DARK_BLUE);
    l.y += 10.0;
    let number_width = 36.0;
    for a in anchors.iter().filter(|a| a.level <= 2) {
        let (indent, bold) = if a.level == 1 {
            (0.0, true)
        } else {
            (14.0, false)
        };
        let x = MARGIN + indent;
        let lines = fonts.lines(&a.text, bold, BODY, TEXT - indent - number_width, false);
        let line_height = BODY * LEADING;
        if l.y + lines.len() as f32 * line_height > BOTTOM {
            l.new_page();
        }
        for line in &lines {
            l.text(x, BODY, bold, BLACK, line);
            l.y += line_height;
        }
        let number = (first_body_page + a.page + 1).to_string();
        let w = fonts.face(bold).width(&number, BODY);
        l.y -= line_height;
        l.text(WIDTH - MARGIN - w, BODY, bold, BLACK, &number);
        l.y += line_height + if a.level == 1 { 3.0 } else { 1.0 };
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Zajištění dostatečných kapacit pobytových služeb pro rodiny s dětmi \
        se zdravotním postižením do osmnácti let věku\nNejneobhospodařovávatelnějšími";

    #[test]
    fn lines_fit_their_width_and_break_czech_words_at_syllables() {
        let fonts = Fonts::new().unwrap();
        let lines = fonts.lines(TEXT, false, 9.0, 120.0, true);
        assert!(
            lines.iter().all(|l| fonts.regular.width(l, 9.0) <= 120.0),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.ends_with('-')), "{lines:?}");
        // Nothing lost: the lines joined again are the text.
        let joined = lines.join(" ").replace("- ", "");
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words(&joined), words(TEXT));
    }

    #[test]
    fn the_pdf_embeds_font_subsets_with_unicode_maps_and_bookmarks() {
        let cell = |text: &str| Cell {
            text: text.to_owned(),
            bold: false,
            fill: Some("C6EFCE"),
        };
        let doc = Document {
            title: "Akční plán".to_owned(),
            cover: vec!["Kraj Vysočina".to_owned()],
            footer: "Vygenerováno z KPSS API".to_owned(),
            blocks: vec![
                Block::Heading {
                    level: 1,
                    text: "Priorita 1 Služby".to_owned(),
                },
                Block::Heading {
                    level: 2,
                    text: "Opatření 1.1 Podpora".to_owned(),
                },
                Block::Paragraph(TEXT.repeat(40)),
                Block::Table(Table {
                    widths: vec![1, 3],
                    header: vec![cell("Kód"), cell("Název")],
                    rows: vec![vec![cell("1.1"), cell(TEXT)]; 60],
                }),
            ],
        };
        let pdf = render(&doc).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.7"));
        for key in [
            "/Subtype /CIDFontType2",
            "/CIDToGIDMap /Identity",
            "/ToUnicode",
            "+DejaVuSans-Bold",
            "/Lang (cs-CZ)",
            "/Outlines",
        ] {
            assert!(text.contains(key), "{key} is missing");
        }
        // Both fonts whole would be 1.4 MB, about 700 kB compressed.
        assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
    }

    #[test]
    fn a_subset_without_its_cmap_keeps_its_glyphs() {
        let fonts = Fonts::new().unwrap();
        let (a, advance) = fonts.regular.glyph('ř');
        let subset = subsetter::subset(REGULAR, 0, subsetter::Profile::pdf(&[a])).unwrap();
        let font = without_table(&subset, b"cmap").unwrap();
        let face = ttf_parser::Face::parse(&font, 0).unwrap();
        assert!(face.tables().cmap.is_none());
        assert!(face.tables().glyf.is_some());
        let units = f32::from(face.units_per_em());
        let kept = face.glyph_hor_advance(ttf_parser::GlyphId(a)).unwrap();
        assert_eq!(f32::from(kept) / units, advance);
        assert!(
            face.outline_glyph(ttf_parser::GlyphId(a), &mut Bounds)
                .is_some()
        );
    }

    /// Outlines drawn nowhere: only whether there is one.
    struct Bounds;

    impl ttf_parser::OutlineBuilder for Bounds {
        fn move_to(&mut self, _: f32, _: f32) {}
        fn line_to(&mut self, _: f32, _: f32) {}
        fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {}
        fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {}
        fn close(&mut self) {}
    }

    #[test]
    fn headings_are_not_hyphenated() {
        let fonts = Fonts::new().unwrap();
        let lines = fonts.lines(TEXT, true, 16.0, 300.0, false);
        assert!(lines.iter().all(|l| !l.ends_with('-')), "{lines:?}");
    }
}
