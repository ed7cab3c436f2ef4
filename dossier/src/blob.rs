//! Files kept under the data directory, stored once by the SHA-256 of their content, and the
//! sniffing that decides which uploads are accepted.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Largest attachment (the totals per dossier and per account are
/// [`crate::dossier::Quotas`]).
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// A content-addressed file store: `ROOT/ab/abcdef…` for SHA-256 `abcdef…`.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// The SHA-256 of `bytes` in lowercase hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_digest(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        BlobStore { root: root.into() }
    }

    /// The store of a data directory.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        BlobStore::new(data_dir.join("attachments"))
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        is_digest(sha256).then(|| self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` (durably: written to a temporary file, synced, then renamed) and returns
    /// their SHA-256. Storing the same content twice keeps one file.
    pub async fn put(&self, bytes: Vec<u8>) -> std::io::Result<String> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.put_blocking(&bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    fn put_blocking(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = sha256_hex(bytes);
        let path = self
            .path(&sha)
            .ok_or_else(|| std::io::Error::other("digest"))?;
        if path.exists() {
            // Touched, so that removing unused files (which spares recent ones) cannot take
            // it from an upload whose row is not written yet.
            if let Err(e) = std::fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            {
                tracing::warn!(error = %e, sha256 = %sha, "stored file not touched");
            }
            return Ok(sha);
        }
        let dir = path.parent().ok_or_else(|| std::io::Error::other("path"))?;
        std::fs::create_dir_all(dir)?;
        let temp = dir.join(format!(".{sha}.{}.tmp", rand::random::<u64>()));
        let result = (|| {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            std::fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map(|()| sha)
    }

    /// Removes the file stored under `sha256` unless it was stored (or stored again) within
    /// `grace`; true when it was removed. The caller checks first that nothing uses it.
    pub async fn remove_if_older(
        &self,
        sha256: &str,
        grace: chrono::Duration,
    ) -> std::io::Result<bool> {
        let Some(path) = self.path(sha256) else {
            return Ok(false);
        };
        let modified = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.modified()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let age = modified.elapsed().unwrap_or_default();
        if age < grace.to_std().unwrap_or_default() {
            return Ok(false);
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The content stored under `sha256`, if any.
    pub async fn get(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The content type of an accepted upload, decided from its first bytes (and, for legacy
/// Office files, whose container is the same, the file name's extension); `None` when the
/// content is not one of PDF, PNG, JPEG, WebP, OpenDocument or Office.
pub fn sniff(bytes: &[u8], filename: &str) -> Option<&'static str> {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return match extension.as_str() {
            "doc" => Some("application/msword"),
            "xls" => Some("application/vnd.ms-excel"),
            "ppt" => Some("application/vnd.ms-powerpoint"),
            _ => None,
        };
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return sniff_zip(bytes);
    }
    None
}

/// OpenDocument files start with an uncompressed `mimetype` entry; Office Open XML files have
/// `[Content_Types].xml` and a `word/`, `xl/` or `ppt/` folder.
fn sniff_zip(bytes: &[u8]) -> Option<&'static str> {
    const ODF: &[(&[u8], &str)] = &[
        (
            b"application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.text",
        ),
        (
            b"application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            b"application/vnd.oasis.opendocument.presentation",
            "application/vnd.oasis.opendocument.presentation",
        ),
    ];
    if bytes.len() > 38 && &bytes[30..38] == b"mimetype" {
        let rest = &bytes[38..bytes.len().min(38 + 80)];
        for (prefix, content_type) in ODF {
            if rest.starts_with(prefix) {
                return Some(content_type);
            }
        }
        return None;
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if !contains(b"[Content_Types].xml") {
        return None;
    }
    if contains(b"word/") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if contains(b"xl/") {
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else if contains(b"ppt/") {
        Some("application/vnd.openxmlformats-officedocument.presentationml.presentation")
    } else {
        None
    }
}

/// True for the invisible characters that change the direction of text (LRM, RLM, ALM and
/// the embedding, override and isolate controls): `\u{202e}fdp.exe` shows as `exe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A file name safe to show and to put in a `Content-Disposition` header: no path, no control
/// or bidirectional-control characters, no quotes, at most 150 characters; accents are kept.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c) && !matches!(c, '"' | '\\' | '/' | ';'))
        .take(150)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "piece-jointe".into()
    } else {
        cleaned
    }
}

/// The file name extensions of an accepted content type, the usual one first.
pub fn extensions(content_type: &str) -> &'static [&'static str] {
    match content_type {
        "application/pdf" => &["pdf"],
        "image/png" => &["png"],
        "image/jpeg" => &["jpg", "jpeg"],
        "image/webp" => &["webp"],
        "application/msword" => &["doc"],
        "application/vnd.ms-excel" => &["xls"],
        "application/vnd.ms-powerpoint" => &["ppt"],
        "application/vnd.oasis.opendocument.text" => &["odt"],
        "application/vnd.oasis.opendocument.spreadsheet" => &["ods"],
        "application/vnd.oasis.opendocument.presentation" => &["odp"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => &["docx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => &["xlsx"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => &["pptx"],
        _ => &[],
    }
}

/// The name an attachment is served under: its cleaned name, with the extension of the type
/// its content was sniffed as (`devis.html` holding a PDF is served as `devis.pdf`), so that
/// the saved file opens with the program its content is for.
pub fn served_filename(name: &str, content_type: &str) -> String {
    let name = clean_filename(name);
    let Some(usual) = extensions(content_type).first() else {
        return name;
    };
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension))
            if !stem.is_empty()
                && (1..=10).contains(&extension.len())
                && extension.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem, Some(extension))
        }
        _ => (name.as_str(), None),
    };
    match extension {
        Some(e) if extensions(content_type).contains(&e.to_ascii_lowercase().as_str()) => name,
        _ => format!("{}.{usual}", stem.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_reads_content_not_names() {
        assert_eq!(sniff(b"%PDF-1.7\n...", "x.png"), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....", "a.pdf"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0], "a"), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ", "a"), Some("image/webp"));
        assert_eq!(sniff(b"<html><script>", "devis.pdf"), None);
        assert_eq!(sniff(b"MZ\x90\0", "devis.pdf"), None);
        let mut odt = b"PK\x03\x04".to_vec();
        odt.resize(30, 0);
        odt.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.text");
        assert_eq!(
            sniff(&odt, "statuts.odt"),
            Some("application/vnd.oasis.opendocument.text")
        );
        let mut docx = b"PK\x03\x04".to_vec();
        docx.resize(30, 0);
        docx.extend_from_slice(b"[Content_Types].xml....word/document.xml");
        assert!(sniff(&docx, "a.docx").unwrap().contains("wordprocessingml"));
        let mut zip = b"PK\x03\x04".to_vec();
        zip.resize(30, 0);
        zip.extend_from_slice(b"virus.exe");
        assert_eq!(sniff(&zip, "a.docx"), None);
        let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0];
        assert_eq!(sniff(&ole, "budget.XLS"), Some("application/vnd.ms-excel"));
        assert_eq!(sniff(&ole, "budget.msi"), None);
    }

    #[test]
    fn file_names_lose_paths_and_quotes() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_filename("C:\\x\\devis \"final\".pdf"),
            "devis final.pdf"
        );
        assert_eq!(clean_filename("\n"), "piece-jointe");
    }

    #[test]
    fn file_names_keep_accents_and_lose_control_and_direction_characters() {
        assert_eq!(clean_filename("Délibération.pdf"), "Délibération.pdf");
        assert_eq!(clean_filename("\u{202e}fdp.exe"), "fdp.exe");
        assert_eq!(
            clean_filename(
                "a\u{200e}b\u{200f}c\u{061c}d\u{202a}e\u{2066}f\u{2069}g\u{7}h\u{85}i.pdf"
            ),
            "abcdefghi.pdf"
        );
    }

    #[test]
    fn served_names_carry_the_extension_of_the_sniffed_type() {
        assert_eq!(
            served_filename("devis.html", "application/pdf"),
            "devis.pdf"
        );
        assert_eq!(
            served_filename("\u{202e}fdp.exe", "application/pdf"),
            "fdp.pdf"
        );
        assert_eq!(
            served_filename("Délibération.PDF", "application/pdf"),
            "Délibération.PDF"
        );
        assert_eq!(served_filename("photo.jpeg", "image/jpeg"), "photo.jpeg");
        assert_eq!(served_filename("photo.png", "image/jpeg"), "photo.jpg");
        assert_eq!(served_filename("statuts", "application/pdf"), "statuts.pdf");
        assert_eq!(
            served_filename("budget v2.1 final.xlsx", "application/vnd.ms-excel"),
            "budget v2.1 final.xls"
        );
        assert_eq!(served_filename(".pdf", "application/pdf"), "pdf.pdf");
    }

    #[tokio::test]
    async fn the_store_keeps_one_copy_per_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let a = store.put(b"statuts".to_vec()).await.unwrap();
        let b = store.put(b"statuts".to_vec()).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(store.get(&a).await.unwrap().unwrap(), b"statuts");
        assert_eq!(store.get("../../etc/passwd").await.unwrap(), None);
        assert_eq!(store.get(&"0".repeat(64)).await.unwrap(), None);
    }
}
