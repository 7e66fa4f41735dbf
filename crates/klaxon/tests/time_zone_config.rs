//! Named time-interval locations: `klaxon check-config` accepts and rejects the same
//! `location:` values as `amtool check-config` (Go's `time.LoadLocation` over the system zone
//! database), and names the file, line and field when it rejects one.

use std::process::Command;

use crate::support::{ScratchDir, require_program};

/// Zone names, ordinary and odd: valid zones, aliases, Go's special names, case errors, files
/// in the zone directory that are not zones, a directory, path tricks.
const LOCATIONS: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Etc/GMT+5",
    "US/Eastern",
    "GMT",
    "UTC",
    "Local",
    "",
    "Europe//Berlin",
    "posix/Europe/Paris",
    "europe/berlin",
    "Europe/Nowhere",
    "Mars/Olympus_Mons",
    "zone.tab",
    "tzdata.zi",
    "Europe",
    "Europe/Berlin/",
    "../zoneinfo/UTC",
    "/usr/share/zoneinfo/UTC",
    "Europe/../UTC",
];

fn config(location: &str) -> String {
    format!(
        "route:\n  receiver: a\n  routes:\n    - receiver: a\n      mute_time_intervals: [night]\n\
         receivers:\n  - name: a\n\
         time_intervals:\n  - name: night\n    time_intervals:\n\
         \x20     - times: [{{start_time: '22:00', end_time: '24:00'}}]\n\
         \x20       location: '{location}'\n"
    )
}

/// The line of `location:` in [`config`].
const LOCATION_LINE: usize = 12;

#[test]
fn time_interval_locations_agree_with_amtool() {
    let scratch = ScratchDir::new("time-zones");
    let amtool = require_program("amtool");
    let mut accepted = 0;
    for (index, location) in LOCATIONS.iter().enumerate() {
        let file = scratch.write(&format!("zone-{index}.yml"), &config(location));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap().lines().nth(LOCATION_LINE - 1).map(str::trim),
            Some(format!("location: '{location}'").as_str())
        );
        let reference = Command::new(&amtool).arg("check-config").arg(&file).output().unwrap();
        let klaxon = Command::new(env!("CARGO_BIN_EXE_klaxon"))
            .arg("check-config")
            .arg(&file)
            .output()
            .unwrap();
        let klaxon_out = String::from_utf8_lossy(&klaxon.stdout);
        assert_eq!(
            reference.status.success(),
            klaxon.status.success(),
            "location {location:?}: amtool said\n{}\nklaxon said\n{klaxon_out}",
            String::from_utf8_lossy(&reference.stdout)
        );
        if klaxon.status.success() {
            accepted += 1;
        } else {
            let place = format!(
                "{}:{LOCATION_LINE}: time_intervals[0].time_intervals[0].location: ",
                file.display()
            );
            assert!(klaxon_out.contains(&place), "location {location:?}: {klaxon_out}");
            assert!(klaxon_out.contains(location), "location {location:?}: {klaxon_out}");
        }
    }
    // Both verdicts occur, so the comparison above compared something.
    assert!(accepted > 0 && accepted < LOCATIONS.len(), "{accepted} accepted");
}
