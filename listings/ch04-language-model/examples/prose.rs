//! Prints the prose that the model learns from: `cargo run -p
//! ch04-language-model --example prose | less`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/de");
    let text = ch04_language_model::corpus::load_prose(&dir)?;
    print!("{text}");
    Ok(())
}
