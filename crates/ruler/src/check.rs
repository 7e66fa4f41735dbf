//! `check-rules FILE...`: validates rule files with `promtool check rules`' output layout
//! (a `Checking FILE` line, then `  SUCCESS: N rules found` on standard output, or
//! `  FAILED:` and one line per problem on standard error) and exit status.

use std::io::Write;
use std::path::PathBuf;

/// Checks each file; returns whether all were valid.
pub fn check_rules(files: &[PathBuf]) -> bool {
    let mut failed = false;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for file in files {
        let _ = writeln!(stdout.lock(), "Checking {}", file.display());
        match crate::rulefile::load_file(file) {
            Ok(groups) => {
                let rules: usize = groups.iter().map(|g| g.rules.len()).sum();
                let _ = writeln!(stdout.lock(), "  SUCCESS: {rules} rules found");
            }
            Err(errors) => {
                failed = true;
                let mut err = stderr.lock();
                let _ = writeln!(err, "  FAILED:");
                for error in errors {
                    let _ = writeln!(err, "{error}");
                }
            }
        }
        let _ = writeln!(stdout.lock());
    }
    !failed
}
