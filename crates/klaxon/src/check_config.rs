//! `klaxon check-config FILE...`: validates configuration files like `amtool check-config`.

use std::path::PathBuf;

use alertmanager::config::Config;

/// Checks each file, printing a summary per file; returns whether all were valid.
pub fn check_config(files: &[PathBuf]) -> bool {
    let mut failed = 0;
    for file in files {
        match Config::load_file(file) {
            Ok(config) => {
                println!("Checking '{}'  SUCCESS", file.display());
                println!("Found:");
                println!(" - global config");
                println!(" - route");
                println!(" - {} inhibit rules", config.inhibit_rules.len());
                println!(" - {} receivers", config.receivers.len());
                println!(" - {} templates", config.template_patterns.len());
            }
            Err(error) => {
                println!("Checking '{}'  FAILED: {error}", file.display());
                failed += 1;
            }
        }
        println!();
    }
    if failed > 0 {
        eprintln!("klaxon: error: failed to validate {failed} file(s)");
    }
    failed == 0
}
