//! The document as PDF: a small layout of its own (lines broken at spaces
//! and, where a word does not fit, at its Czech hyphenation points; tables
//! whose rows split across pages under their repeated header), drawn with
//! krilla, which embeds the subset of the vendored DejaVu fonts it uses.

use crate::model::{Block, CONTENTS, Cell, Document, Table};
use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

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

    let mut pdf = krilla::Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .language("cs-CZ".to_owned())
            .creator("KPSS API".to_owned()),
    );
    for (i, ops) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or("page size")?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    color,
                    text,
                } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(*color)));
                    fonts.face(*bold).draw(&mut surface, *x, *y, *size, text);
                }
                Op::Rect {
                    x,
                    y,
                    w,
                    h,
                    fill: f,
                } => {
                    let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                        continue;
                    };
                    let mut path = PathBuilder::new();
                    path.push_rect(rect);
                    let Some(path) = path.finish() else { continue };
                    surface.set_fill(f.map(fill));
                    surface.set_stroke(match f {
                        Some(_) => None,
                        None => Some(Stroke {
                            paint: rgb::Color::new(BORDER.0, BORDER.1, BORDER.2).into(),
                            width: 0.5,
                            ..Default::default()
                        }),
                    });
                    surface.draw_path(&path);
                }
            }
        }
        // The footer: what made the document, and the page of how many.
        let footer_y = HEIGHT - MARGIN / 2.0;
        surface.set_stroke(None);
        surface.set_fill(Some(fill(GREY)));
        fonts
            .regular
            .draw(&mut surface, MARGIN, footer_y, SMALL, &doc.footer);
        let number = format!("strana {} z {}", i + 1, total);
        let w = fonts.regular.width(&number, SMALL);
        fonts
            .regular
            .draw(&mut surface, WIDTH - MARGIN - w, footer_y, SMALL, &number);
        surface.finish();
        page.finish();
    }
    // Bookmarks: priorities, and their measures under them.
    let mut outline = Outline::new();
    let mut parent: Option<OutlineNode> = None;
    for a in &body.anchors {
        let node = OutlineNode::new(
            a.text.clone(),
            XyzDestination::new(first_body_page + a.page, Point::from_xy(MARGIN, a.y)),
        );
        if a.level == 1 {
            if let Some(p) = parent.take() {
                outline.push_child(p);
            }
            parent = Some(node);
        } else if let Some(p) = parent.as_mut() {
            p.push_child(node);
        } else {
            outline.push_child(node);
        }
    }
    if let Some(p) = parent {
        outline.push_child(p);
    }
    pdf.set_outline(outline);
    pdf.finish().map_err(|e| format!("{e:?}"))
}

fn fill(c: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        ..Default::default()
    }
}

fn hex(s: &str) -> (u8, u8, u8) {
    let c = |i: usize| u8::from_str_radix(s.get(i..i + 2).unwrap_or("FF"), 16).unwrap_or(255);
    (c(0), c(2), c(4))
}

/// A font for drawing (krilla) and for measuring (skrifa, which krilla uses).
struct Face {
    pdf: Font,
    charmap: skrifa::charmap::Charmap<'static>,
    metrics: skrifa::metrics::GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Face {
    fn new(data: &'static [u8]) -> Result<Self, String> {
        let font = skrifa::FontRef::new(data).map_err(|e| e.to_string())?;
        Ok(Self {
            pdf: Font::new(data.into(), 0).ok_or("the font cannot be read")?,
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(
                font.metrics(Size::unscaled(), LocationRef::default())
                    .units_per_em,
            ),
        })
    }

    /// A character's glyph and its advance in ems.
    fn glyph(&self, c: char) -> (skrifa::GlyphId, f32) {
        let glyph = self.charmap.map(c).unwrap_or_default();
        let advance = self.metrics.advance_width(glyph).unwrap_or_default();
        (glyph, advance / self.units_per_em)
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// One line of text from its baseline's start: a glyph per character
    /// at its advance. Text of one script in precomposed (NFC) letters
    /// needs no shaping engine, and the glyphs keep their characters, so
    /// the text can be searched and copied.
    fn draw(&self, surface: &mut krilla::surface::Surface, x: f32, y: f32, size: f32, text: &str) {
        let glyphs: Vec<KrillaGlyph> = text
            .char_indices()
            .map(|(i, c)| {
                let (glyph, advance) = self.glyph(c);
                KrillaGlyph::new(
                    GlyphId::new(glyph.to_u32()),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect();
        surface.draw_glyphs(
            Point::from_xy(x, y),
            &glyphs,
            self.pdf.clone(),
            text,
            size,
            false,
        );
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn new() -> Result<Self, String> {
        Ok(Self {
            regular: Face::new(REGULAR)?,
            bold: Face::new(BOLD)?,
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
    fn headings_are_not_hyphenated() {
        let fonts = Fonts::new().unwrap();
        let lines = fonts.lines(TEXT, true, 16.0, 300.0, false);
        assert!(lines.iter().all(|l| !l.ends_with('-')), "{lines:?}");
    }
}
