//! The `klaxon` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use klaxon::flags::{Cli, Command, TemplateCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { files }) => {
            if klaxon::check_config::check_config(&files) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(Command::CheckRules { files }) => {
            if ruler::check::check_rules(&files) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(Command::ImportAlertmanager { dir, storage_path, storage_url }) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("start the runtime");
            let import =
                klaxon::persistence::import_alertmanager(&dir, &storage_path, &storage_url);
            match runtime.block_on(import) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("klaxon import-alertmanager: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Template(TemplateCommand::Render(flags))) => {
            klaxon::template_render::run(&flags)
        }
        None => run_server(cli.server),
    }
}

fn run_server(flags: klaxon::flags::ServerFlags) -> ExitCode {
    init_logging(&flags.log_level, &flags.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the runtime");
    match runtime.block_on(klaxon::app::run(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "Klaxon stopped");
            eprintln!("klaxon: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(match level {
        "warn" => "warn",
        "error" => "error",
        "debug" => "debug",
        _ => "info",
    })
    .expect("static filter");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
