//! `klaxon check-config FILE...`: validates configuration files like `amtool check-config`.

use std::path::PathBuf;

use alertmanager::config::Config;

/// Checks each file, printing a summary per file; returns whether all were valid.
pub fn check_config(files: &[PathBuf]) -> bool {
    let mut all_valid = true;
    for file in files {
        println!("Checking '{}'", file.display());
        match Config::load_file(file) {
            Ok(config) => {
                println!("  SUCCESS");
                println!("Found:");
                println!(" - global config");
                println!(" - route");
                println!(" - {} receivers", config.receivers.len());
            }
            Err(error) => {
                println!("  FAILED: {error}");
                all_valid = false;
            }
        }
        println!();
    }
    all_valid
}
