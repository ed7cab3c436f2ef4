//! Embeds every file of `../web` into the binary, so it serves its front end from
//! anywhere, with no build step for the web itself.

use std::path::Path;

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("web/ is readable")
        .map(|e| e.expect("web/ entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), out);
        } else {
            out.push((
                format!("{prefix}{name}"),
                path.canonicalize().unwrap().display().to_string(),
            ));
        }
    }
}

fn main() {
    // Read when the script runs, not when it is compiled (`env!`): a compiled build script is
    // reused by every checkout sharing the target directory, and would embed another
    // checkout's web/ (or none, once that one is gone).
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let web = Path::new(&manifest_dir).join("../web");
    println!("cargo:rerun-if-changed={}", web.display());
    assert!(
        web.is_dir(),
        "{} not found: the web front end is embedded into the binary",
        web.display()
    );
    let mut files = Vec::new();
    collect(&web, "", &mut files);
    for (_, path) in &files {
        println!("cargo:rerun-if-changed={path}");
    }
    let mut code = String::from(
        "/// Every file of `web/`, by path relative to it.\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in files {
        code.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("web_assets.rs");
    std::fs::write(out, code).unwrap();
}
