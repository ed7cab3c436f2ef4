//! Minimal PDF 1.4 writer for dossier documents (récapitulatifs, décisions, attestations).
//!
//! No dependency: text is set in the standard Helvetica and Helvetica-Bold fonts with
//! `WinAnsiEncoding`, which covers French, so no font is embedded. The whole document is laid
//! out first (so every footer can say « Page N / M »), then serialised with an exact
//! cross-reference table. The output depends only on the input: no dates, no random ids.

/// A document to render. The title opens the first page and is repeated in every footer.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub subtitle: Option<String>,
    pub blocks: Vec<Block>,
}

/// One piece of content, laid out top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Section heading, bold and larger; kept on the same page as the lines that follow.
    Heading(String),
    /// Wrapped text; `'\n'` starts a new line.
    Paragraph(String),
    /// Label / value pairs: bold label on the left, wrapped value on the right.
    Fields(Vec<(String, String)>),
    /// A table. `widths` are fractions of the text width (normalised; equal columns when they
    /// do not match the column count); `right_align` marks columns such as amounts.
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
        widths: Vec<f32>,
        right_align: Vec<bool>,
    },
    /// One blank line.
    Spacer,
}

/// Renders `doc` as a complete PDF file. Never panics; the same input gives the same bytes.
pub fn render(doc: &Document) -> Vec<u8> {
    serialize(doc, layout(doc))
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const TOP: f32 = PAGE_HEIGHT - MARGIN;
/// Lowest point content may reach; the footer sits below it.
const BOTTOM: f32 = 62.0;
const FOOTER_BASELINE: f32 = 34.0;
const CELL_PAD: f32 = 3.0;
const BLOCK_GAP: f32 = 6.0;
const LABEL_FRACTION: f32 = 0.34;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    /// Advance width of a WinAnsi byte, in thousandths of the font size.
    fn advance(self, byte: u8) -> u16 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        byte.checked_sub(32)
            .and_then(|i| table.get(usize::from(i)))
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Style {
    font: Font,
    size: f32,
    leading: f32,
}

const fn style(font: Font, size: f32, leading: f32) -> Style {
    Style {
        font,
        size,
        leading,
    }
}

const BODY: Style = style(Font::Regular, 10.0, 13.0);
const BODY_BOLD: Style = style(Font::Bold, 10.0, 13.0);
const HEADING: Style = style(Font::Bold, 12.5, 16.0);
const TITLE: Style = style(Font::Bold, 16.0, 20.0);
const SUBTITLE: Style = style(Font::Regular, 11.0, 14.0);
const FOOTER: Style = style(Font::Regular, 8.0, 10.0);

impl Style {
    fn width(self, text: &[u8]) -> f32 {
        let units: u32 = text.iter().map(|&b| u32::from(self.font.advance(b))).sum();
        units as f32 * self.size / 1000.0
    }

    /// Baseline of a line whose box starts at `top`.
    fn baseline(self, top: f32) -> f32 {
        top - 0.75 * self.leading
    }
}

/// Characters at WinAnsi 0x80..=0x9F; `'\0'` marks the unused codes.
#[rustfmt::skip]
const WIN_ANSI_HIGH: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0',
    '\0', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

/// Maps text to WinAnsi bytes: control characters are dropped (tab becomes a space), the
/// non-breaking spaces become 0xA0, anything WinAnsi lacks becomes `?`.
fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let byte = match c {
            '\t' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200A}' => b' ',
            '\u{AD}' | '\u{200B}'..='\u{200D}' | '\u{FEFF}' | '\u{300}'..='\u{36F}' => continue,
            c if c.is_control() => continue,
            ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
            '\u{202F}' | '\u{2007}' => 0xA0,
            '\u{2010}' | '\u{2011}' => b'-',
            c => WIN_ANSI_HIGH
                .iter()
                .position(|&h| h == c)
                .map_or(b'?', |i| 0x80 + i as u8),
        };
        out.push(byte);
    }
    out
}

/// Wraps `text` into lines no wider than `max`: `'\n'` forces a break, lines break at spaces
/// (never at non-breaking ones), and a word wider than `max` is cut wherever it must be.
fn wrap(text: &str, style: Style, max: f32) -> Vec<Vec<u8>> {
    let space = style.width(b" ");
    let mut lines = Vec::new();
    for segment in text.split('\n') {
        let encoded = encode(segment);
        let mut line: Vec<u8> = Vec::new();
        let mut line_width = 0.0;
        for word in encoded.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            let word_width = style.width(word);
            let gap = if line.is_empty() { 0.0 } else { space };
            if line_width + gap + word_width <= max {
                if !line.is_empty() {
                    line.push(b' ');
                }
                line.extend_from_slice(word);
                line_width += gap + word_width;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            if word_width <= max {
                line.extend_from_slice(word);
                line_width = word_width;
                continue;
            }
            for &byte in word {
                let advance = style.width(&[byte]);
                if line_width + advance > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                line.push(byte);
                line_width += advance;
            }
        }
        lines.push(line);
    }
    lines
}

/// Shortens `text` with an ellipsis (0x85) so that it fits in `max`.
fn truncate(text: Vec<u8>, style: Style, max: f32) -> Vec<u8> {
    if style.width(&text) <= max {
        return text;
    }
    let room = max - style.width(&[0x85]);
    let mut width = 0.0;
    let mut kept: Vec<u8> = text
        .into_iter()
        .take_while(|&byte| {
            width += style.width(&[byte]);
            width <= room
        })
        .collect();
    kept.push(0x85);
    kept
}

/// A drawing instruction on one page, in PDF user space (origin at the bottom left).
#[derive(Debug)]
enum Op {
    Text {
        x: f32,
        y: f32,
        style: Style,
        text: Vec<u8>,
    },
    /// A horizontal line across the text width.
    Rule { y: f32, width: f32, gray: f32 },
}

#[derive(Debug, Clone, Copy)]
struct Column {
    x: f32,
    width: f32,
    right: bool,
}

struct Cell {
    lines: Vec<Vec<u8>>,
    style: Style,
}

struct Row {
    cells: Vec<Cell>,
}

impl Row {
    fn new<'a>(cells: impl IntoIterator<Item = (&'a str, Style)>, cols: &[Column]) -> Row {
        let cells = cells
            .into_iter()
            .zip(cols)
            .map(|((text, style), col)| Cell {
                lines: wrap(text, style, col.width - 2.0 * CELL_PAD),
                style,
            })
            .collect();
        Row { cells }
    }

    /// A table row: one cell per column, missing cells empty and extra ones dropped.
    fn table(texts: &[String], cols: &[Column], style: Style) -> Row {
        let texts = (0..cols.len()).map(|i| (texts.get(i).map_or("", String::as_str), style));
        Row::new(texts, cols)
    }

    fn line_count(&self) -> usize {
        self.cells.iter().map(|c| c.lines.len()).fold(1, usize::max)
    }

    fn height(&self) -> f32 {
        self.line_count() as f32 * BODY.leading + 2.0 * CELL_PAD
    }
}

struct Layout {
    done: Vec<Vec<Op>>,
    page: Vec<Op>,
    /// Top of the free space on the current page.
    y: f32,
}

impl Layout {
    fn at_top(&self) -> bool {
        self.y >= TOP
    }

    fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.page));
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits (or the page is empty anyway).
    fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM && !self.at_top() {
            self.new_page();
        }
    }

    fn gap(&mut self, height: f32) {
        if !self.at_top() {
            self.y -= height;
        }
    }

    fn rule(&mut self, width: f32, gray: f32) {
        let y = self.y;
        self.page.push(Op::Rule { y, width, gray });
    }

    /// Puts one line of text in the line box starting at the current position.
    fn text(&mut self, x: f32, style: Style, line: &[u8]) {
        if !line.is_empty() {
            let (y, text) = (style.baseline(self.y), line.to_vec());
            self.page.push(Op::Text { x, y, style, text });
        }
    }

    fn lines(&mut self, lines: &[Vec<u8>], style: Style) {
        for line in lines {
            self.ensure(style.leading);
            self.text(MARGIN, style, line);
            self.y -= style.leading;
        }
    }

    /// Draws a row, moving it whole to the next page when it does not fit; a row taller
    /// than a page is split between lines. `header` is repeated after each page break.
    fn row(&mut self, row: &Row, cols: &[Column], header: Option<&Row>) {
        let header_height = header.map_or(0.0, Row::height);
        if self.y - row.height() < BOTTOM && row.height() <= TOP - BOTTOM - header_height {
            self.break_table(cols, header);
        }
        self.y -= CELL_PAD;
        for i in 0..row.line_count() {
            if self.y - BODY.leading < BOTTOM {
                self.break_table(cols, header);
            }
            for (cell, col) in row.cells.iter().zip(cols) {
                let Some(line) = cell.lines.get(i) else {
                    continue;
                };
                let x = if col.right {
                    col.x + col.width - CELL_PAD - cell.style.width(line)
                } else {
                    col.x + CELL_PAD
                };
                self.text(x, cell.style, line);
            }
            self.y -= BODY.leading;
        }
        self.y -= CELL_PAD;
    }

    fn break_table(&mut self, cols: &[Column], header: Option<&Row>) {
        if self.at_top() {
            return;
        }
        self.new_page();
        if let Some(header) = header {
            self.row(header, cols, None);
            self.rule(0.6, 0.0);
        }
    }

    fn table(&mut self, headers: &[String], rows: &[Vec<String>], widths: &[f32], right: &[bool]) {
        let count = rows.iter().map(Vec::len).fold(headers.len(), usize::max);
        if count == 0 {
            return;
        }
        let usable = widths.len() == count && widths.iter().all(|w| w.is_finite() && *w >= 0.0);
        let total: f32 = widths.iter().sum();
        let fractions = if usable && total > 0.0 {
            widths.iter().map(|w| w / total).collect()
        } else {
            vec![1.0 / count as f32; count]
        };
        let mut x = MARGIN;
        let cols: Vec<Column> = fractions
            .iter()
            .zip(right.iter().chain(std::iter::repeat(&false)))
            .map(|(fraction, &right)| {
                let col = Column {
                    x,
                    width: fraction * TEXT_WIDTH,
                    right,
                };
                x += col.width;
                col
            })
            .collect();
        let header = headers.iter().any(|h| !h.trim().is_empty());
        let header = header.then(|| Row::table(headers, &cols, BODY_BOLD));
        // Repeating a header taller than a third of a page could loop forever.
        let repeated = header
            .as_ref()
            .filter(|h| h.height() <= (TOP - BOTTOM) / 3.0);
        let first = rows
            .first()
            .map_or(0.0, |r| Row::table(r, &cols, BODY).height());
        self.ensure((header.as_ref().map_or(0.0, Row::height) + first).min(TOP - BOTTOM));
        if let Some(header) = &header {
            self.row(header, &cols, None);
            self.rule(0.6, 0.0);
        }
        for texts in rows {
            self.row(&Row::table(texts, &cols, BODY), &cols, repeated);
            self.rule(0.3, 0.75);
        }
        self.y -= BLOCK_GAP;
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Heading(text) => {
                let lines = wrap(text, HEADING, TEXT_WIDTH);
                self.gap(BLOCK_GAP);
                let height = lines.len() as f32 * HEADING.leading;
                // Keep the heading with what follows (a few lines, or a table header and row).
                self.ensure((height + 3.0 * BODY.leading).min(TOP - BOTTOM));
                self.lines(&lines, HEADING);
                self.y -= 3.0;
            }
            Block::Paragraph(text) => {
                self.lines(&wrap(text, BODY, TEXT_WIDTH), BODY);
                self.y -= BLOCK_GAP;
            }
            Block::Fields(pairs) => {
                // Columns start one padding to the left so labels align with paragraphs.
                let label = TEXT_WIDTH * LABEL_FRACTION + CELL_PAD;
                let column = |x, width| Column {
                    x,
                    width,
                    right: false,
                };
                let value = TEXT_WIDTH - label + 2.0 * CELL_PAD;
                let cols = [
                    column(MARGIN - CELL_PAD, label),
                    column(MARGIN - CELL_PAD + label, value),
                ];
                for (label, value) in pairs {
                    let row =
                        Row::new([(label.as_str(), BODY_BOLD), (value.as_str(), BODY)], &cols);
                    self.row(&row, &cols, None);
                }
                if !pairs.is_empty() {
                    self.y -= BLOCK_GAP;
                }
            }
            Block::Table {
                headers,
                rows,
                widths,
                right_align,
            } => self.table(headers, rows, widths, right_align),
            Block::Spacer => self.gap(BODY.leading),
        }
    }
}

fn layout(doc: &Document) -> Vec<Vec<Op>> {
    let (done, page) = (Vec::new(), Vec::new());
    let mut layout = Layout { done, page, y: TOP };
    let subtitle = doc.subtitle.as_deref().filter(|s| !s.trim().is_empty());
    if !doc.title.trim().is_empty() {
        layout.lines(&wrap(&doc.title, TITLE, TEXT_WIDTH), TITLE);
    }
    if let Some(subtitle) = subtitle {
        layout.y -= 2.0;
        layout.lines(&wrap(subtitle, SUBTITLE, TEXT_WIDTH), SUBTITLE);
    }
    if !layout.at_top() {
        layout.y -= 4.0;
        layout.rule(0.8, 0.0);
        layout.y -= 12.0;
    }
    for block in &doc.blocks {
        layout.block(block);
    }
    layout.done.push(layout.page);
    layout.done
}

/// Object numbers: 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then page and content pairs.
const FIRST_PAGE: usize = 6;

fn serialize(doc: &Document, pages: Vec<Vec<Op>>) -> Vec<u8> {
    let count = pages.len();
    let title = doc.title.replace('\n', " ");
    let footer_title = truncate(encode(&title), FOOTER, TEXT_WIDTH * 0.7);
    let kids: Vec<String> = (0..count)
        .map(|i| format!("{} 0 R", FIRST_PAGE + 2 * i))
        .collect();
    let mut pdf = Writer {
        out: b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec(),
        offsets: Vec::new(),
    };
    pdf.object(b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(format!(
        "<< /Type /Pages /Kids [{}] /Count {count} >>",
        kids.join(" ")
    ));
    for name in ["Helvetica", "Helvetica-Bold"] {
        let encoding = "/Encoding /WinAnsiEncoding";
        pdf.object(format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /{name} {encoding} >>"
        ));
    }
    pdf.object(format!(
        "<< /Title {} /Producer (Guichet) >>",
        utf16_string(&title)
    ));
    for (i, mut ops) in pages.into_iter().enumerate() {
        ops.extend(footer(&footer_title, i + 1, count));
        let (media, contents) = (
            format!("[0 0 {PAGE_WIDTH} {PAGE_HEIGHT}]"),
            FIRST_PAGE + 2 * i + 1,
        );
        let resources = "<< /Font << /F1 3 0 R /F2 4 0 R >> >>";
        pdf.object(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox {media} /Resources {resources} /Contents {contents} 0 R >>"
        ));
        let stream = content(&ops);
        let mut body = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        body.extend(stream);
        body.extend(b"\nendstream");
        pdf.object(body);
    }
    pdf.finish()
}

struct Writer {
    out: Vec<u8>,
    /// Byte offset of each object, object `n` at index `n - 1`.
    offsets: Vec<usize>,
}

impl Writer {
    /// Writes the next object; objects are numbered in the order they are written.
    fn object(&mut self, body: impl AsRef<[u8]>) {
        self.offsets.push(self.out.len());
        self.out
            .extend(format!("{} 0 obj\n", self.offsets.len()).into_bytes());
        self.out.extend(body.as_ref());
        self.out.extend(b"\nendobj\n");
    }

    /// Appends the cross-reference table (20-byte entries) and the trailer.
    fn finish(mut self) -> Vec<u8> {
        let start = self.out.len();
        let size = self.offsets.len() + 1;
        self.out
            .extend(format!("xref\n0 {size}\n0000000000 65535 f\r\n").into_bytes());
        for offset in &self.offsets {
            self.out
                .extend(format!("{offset:010} 00000 n\r\n").into_bytes());
        }
        let trailer = format!("<< /Size {size} /Root 1 0 R /Info 5 0 R >>");
        self.out
            .extend(format!("trailer\n{trailer}\nstartxref\n{start}\n%%EOF\n").into_bytes());
        self.out
    }
}

fn footer(title: &[u8], page: usize, count: usize) -> [Op; 3] {
    let label = format!("Page {page} / {count}").into_bytes();
    let (x, y, style) = (
        MARGIN + TEXT_WIDTH - FOOTER.width(&label),
        FOOTER_BASELINE,
        FOOTER,
    );
    let text = title.to_vec();
    [
        Op::Rule {
            y: y + 10.0,
            width: 0.4,
            gray: 0.6,
        },
        Op::Text {
            x: MARGIN,
            y,
            style,
            text,
        },
        Op::Text {
            x,
            y,
            style,
            text: label,
        },
    ]
}

fn content(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Text { text, .. } if text.is_empty() => {}
            Op::Text { x, y, style, text } => {
                let (font, size, x, y) = (style.font.resource(), num(style.size), num(*x), num(*y));
                out.extend(format!("BT /{font} {size} Tf {x} {y} Td ").into_bytes());
                out.extend(pdf_string(text));
                out.extend(b" Tj ET\n");
            }
            Op::Rule { y, width, gray } => {
                let (x1, x2, y) = (num(MARGIN), num(MARGIN + TEXT_WIDTH), num(*y));
                let (gray, width) = (num(*gray), num(*width));
                out.extend(
                    format!("q {gray} G {width} w {x1} {y} m {x2} {y} l S Q\n").into_bytes(),
                );
            }
        }
    }
    out
}

/// A number with at most two decimals and no trailing zeros ("50", "772.25").
fn num(value: f32) -> String {
    if !value.is_finite() {
        return "0".into();
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// A literal string of WinAnsi bytes, with `(`, `)` and `\` escaped.
fn pdf_string(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'(');
    for &byte in text {
        if matches!(byte, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b')');
    out
}

/// A hex string in UTF-16BE with a byte order mark, for metadata in any script.
fn utf16_string(text: &str) -> String {
    let units = text.chars().filter(|c| !c.is_control()).collect::<String>();
    let hex: String = units.encode_utf16().map(|u| format!("{u:04X}")).collect();
    format!("<FEFF{hex}>")
}

/// Helvetica advance widths for WinAnsi codes 32..=255 (Adobe AFM; unused codes as bullet).
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];
/// Helvetica-Bold advance widths for WinAnsi codes 32..=255.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350,
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667,
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    /// The decimal number written right after the last occurrence of `key`.
    fn number_after(pdf: &[u8], key: &[u8]) -> usize {
        let at = pdf.windows(key.len()).rposition(|w| w == key).expect("key") + key.len();
        let digits = pdf[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        String::from_utf8_lossy(&pdf[at..at + digits])
            .parse()
            .expect("number")
    }

    fn doc(blocks: Vec<Block>) -> Document {
        let subtitle = Some("Récapitulatif".into());
        Document {
            title: "Dossier n° 42".into(),
            subtitle,
            blocks,
        }
    }

    fn table(
        headers: &[&str],
        rows: Vec<Vec<String>>,
        widths: Vec<f32>,
        right: Vec<bool>,
    ) -> Block {
        let headers = headers.iter().map(|h| h.to_string()).collect();
        Block::Table {
            headers,
            rows,
            widths,
            right_align: right,
        }
    }

    fn texts(page: &[Op]) -> Vec<&[u8]> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_slice()),
                Op::Rule { .. } => None,
            })
            .collect()
    }

    /// Checks the cross-reference table and returns the number of pages.
    fn check_structure(pdf: &[u8]) -> usize {
        let table = &pdf[number_after(pdf, b"startxref\n")..];
        assert!(
            table.starts_with(b"xref\n0 "),
            "startxref points at the xref table"
        );
        let size = number_after(pdf, b"/Size ");
        let entries = find(table, b"\n0000000000 65535 f\r\n").expect("free entry") + 1;
        for object in 1..size {
            let entry = &table[entries + 20 * object..entries + 20 * (object + 1)];
            assert_eq!(&entry[18..], b"\r\n", "entries are exactly 20 bytes");
            let offset: usize = String::from_utf8_lossy(&entry[..10])
                .parse()
                .expect("offset");
            assert!(pdf[offset..].starts_with(format!("{object} 0 obj\n").as_bytes()));
        }
        let pages = count(pdf, b"/Type /Page ");
        assert_eq!(number_after(pdf, b"/Count "), pages);
        assert_eq!(size, FIRST_PAGE + 2 * pages);
        pages
    }

    #[test]
    fn output_has_a_header_a_trailer_metadata_and_exact_lengths() {
        let pdf = render(&doc(vec![Block::Paragraph("Un (petit) texte".into())]));
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        for needle in [
            &b"trailer\n<< /Size 8 /Root 1 0 R"[..],
            b"/Producer (Guichet)",
            b"/Title <FEFF0044006F",
        ] {
            assert!(
                find(&pdf, needle).is_some(),
                "{}",
                String::from_utf8_lossy(needle)
            );
        }
        let length = number_after(&pdf, b"/Length ");
        let start = find(&pdf, b"stream\n").expect("stream") + 7;
        assert!(pdf[start + length..].starts_with(b"\nendstream"));
        assert_eq!(check_structure(&pdf), 1);
    }

    #[test]
    fn a_long_document_spreads_over_several_pages_with_numbered_footers() {
        let text = "Le porteur s’engage à respecter les conditions d’attribution. ".repeat(40);
        let blocks = (0..12).flat_map(|i| {
            [
                Block::Heading(format!("Section {i}")),
                Block::Paragraph(text.clone()),
            ]
        });
        let pdf = render(&doc(blocks.collect()));
        let pages = check_structure(&pdf);
        assert!(pages > 1);
        assert!(find(&pdf, format!("(Page {pages} / {pages})").as_bytes()).is_some());
    }

    #[test]
    fn french_text_is_encoded_in_winansi() {
        let pdf = render(&doc(vec![
            Block::Paragraph("Décision : 12 000 €".into()),
            Block::Paragraph("Montant : 12\u{202F}000\u{A0}€ – « œuvre » …".into()),
        ]));
        assert!(find(&pdf, b"(D\xE9cision : 12 000 \x80)").is_some());
        assert!(
            find(
                &pdf,
                b"(Montant : 12\xA0000\xA0\x80 \x96 \xAB \x9Cuvre \xBB \x85)"
            )
            .is_some()
        );
        let encoded = encode("Çà ô ù ï î ’ “ ” — Œ 漢");
        assert_eq!(
            encoded,
            b"\xC7\xE0 \xF4 \xF9 \xEF \xEE \x92 \x93 \x94 \x97 \x8C ?"
        );
    }

    #[test]
    fn parentheses_and_backslashes_are_escaped() {
        let pdf = render(&doc(vec![Block::Paragraph(
            r"Article (1) : C:\dossier\".into(),
        )]));
        assert!(find(&pdf, br"(Article \(1\) : C:\\dossier\\)").is_some());
    }

    #[test]
    fn control_characters_are_stripped_and_newlines_break_lines() {
        assert_eq!(encode("a\u{0}b\u{7}c\rd\u{7F}e\tf"), b"abcde f");
        let lines = wrap("un\r\ndeux\n\ntrois", BODY, TEXT_WIDTH);
        assert_eq!(lines, [&b"un"[..], b"deux", b"", b"trois"]);
    }

    #[test]
    fn wrapped_lines_fit_and_long_words_are_broken() {
        let lines = wrap(
            &format!("{} {}", "mot ".repeat(200), "x".repeat(500)),
            BODY,
            200.0,
        );
        assert!(lines.len() > 10);
        assert!(lines.iter().all(|line| BODY.width(line) <= 200.0));
        assert_eq!(lines.concat().iter().filter(|&&b| b == b'x').count(), 500);
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        let fields = vec![("Porteur".into(), "Commune de Bourg".into())];
        let make = || doc(vec![Block::Fields(fields.clone()), Block::Spacer]);
        assert_eq!(render(&make()), render(&make()));
    }

    #[test]
    fn amounts_are_right_aligned_under_a_header_rule() {
        let rows = vec![
            vec!["Travaux".into(), "1 250,00 €".into()],
            vec!["Études".into(), "80,00 €".into()],
        ];
        let pages = layout(&doc(vec![table(
            &["Poste", "Montant"],
            rows,
            vec![0.7, 0.3],
            vec![false, true],
        )]));
        let right_edge = MARGIN + TEXT_WIDTH - CELL_PAD;
        for amount in ["Montant", "1 250,00 €", "80,00 €"] {
            let text = encode(amount);
            let op = pages[0]
                .iter()
                .find(|op| matches!(op, Op::Text { text: t, .. } if *t == text));
            let Some(Op::Text { x, style, .. }) = op else {
                panic!("{amount} not drawn")
            };
            assert!(
                (x + style.width(&text) - right_edge).abs() < 0.01,
                "{amount} is right-aligned"
            );
        }
        assert!(
            pages[0]
                .iter()
                .any(|op| matches!(op, Op::Rule { gray, .. } if *gray == 0.0))
        );
    }

    #[test]
    fn a_long_table_repeats_its_header_and_keeps_rows_whole() {
        let rows =
            (0..150).map(|i| vec![format!("Ligne {i}\nsur deux lignes"), format!("{i},00 €")]);
        let pages = layout(&doc(vec![table(
            &["Poste", "Montant"],
            rows.collect(),
            vec![],
            vec![],
        )]));
        assert!(pages.len() > 2);
        for page in &pages[1..] {
            let texts = texts(page);
            assert_eq!(texts.first(), Some(&&b"Poste"[..]));
            let starting = |prefix: &[u8]| texts.iter().filter(|t| t.starts_with(prefix)).count();
            assert_eq!(starting(b"Ligne"), starting(b"sur deux"));
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let huge = "a".repeat(200_000);
        let empty = Document {
            title: String::new(),
            subtitle: None,
            blocks: vec![],
        };
        let blank = Document {
            title: "\u{0}\n".into(),
            subtitle: Some(String::new()),
            blocks: vec![],
        };
        let long_title = Document {
            title: "Titre ".repeat(5_000),
            subtitle: Some("\u{1F600}".into()),
            blocks: vec![],
        };
        let documents = [
            empty,
            blank,
            long_title,
            doc(vec![
                Block::Spacer,
                Block::Fields(vec![]),
                Block::Paragraph("\n\n\n".into()),
            ]),
            doc(vec![table(&[], vec![], vec![], vec![])]),
            doc(vec![table(&[], vec![vec![]], vec![f32::NAN], vec![true])]),
            doc(vec![table(
                &["A", &huge],
                vec![vec![huge.clone(), "1".into(), "en trop".into()]],
                vec![0.0, 1.0, f32::INFINITY],
                vec![true; 5],
            )]),
            doc(vec![
                Block::Paragraph(huge.clone()),
                Block::Heading(huge.clone()),
                Block::Fields(vec![(huge.clone(), huge)]),
            ]),
        ];
        for document in &documents {
            check_structure(&render(document));
        }
    }
}
