//! Council-ready documents made from a plan's data: the action plan, or the
//! evaluation of a year, as DOCX and PDF. Pure: data in, bytes out (no I/O,
//! no database); the API and the CLI read the data in the caller's scope
//! and hand it here.
//!
//! [`model`] builds one tree of blocks (headings, paragraphs, tables) from
//! the plan; [`docx`] and [`pdf`] only lay that tree out, so both formats
//! say the same things in the same order.

pub mod docx;
pub mod model;
pub mod pdf;

pub use model::{Document, Input, Options};

/// The two formats a document is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docx,
    Pdf,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "docx" => Some(Self::Docx),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Docx => "docx",
            Self::Pdf => "pdf",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Pdf => "application/pdf",
        }
    }
}

/// The document of a plan in `format`.
pub fn render(input: &Input<'_>, options: &Options, format: Format) -> Result<Vec<u8>, String> {
    let doc = Document::build(input, options);
    match format {
        Format::Docx => docx::render(&doc),
        Format::Pdf => pdf::render(&doc),
    }
}
