//! The SQLite backend's alert journal: accepted alerts appended to plain files beside the
//! database, one record per group commit, folded into the `alerts` table by the maintenance
//! snapshot.
//!
//! Why not a table: an insert into SQLite copies the commit's blob into B-tree overflow pages,
//! the WAL and, at the checkpoint, the database file, and goes through sqlx's worker thread;
//! on the ingest path that cost as much again as accepting the alerts. One `write(2)` of the
//! encoded commit puts it in the OS's page cache, which is exactly the durability the alert
//! log had (`synchronous=NORMAL` in WAL mode): an acknowledged alert survives a kill of the
//! process, not a power cut. Silences and the notification log stay in SQLite with `FULL`.
//!
//! Layout: a directory `<database file>-alert-journal` of segments named by a number
//! (`00000000000000000007.log`). Appends go to the newest segment; [`AlertJournal::rotate`]
//! starts a new one, so every older segment is complete and can be folded and removed. A
//! record is the body's length (u32, little endian), its xxHash64 (u64, little endian) and
//! the body, the [`crate::alert_log`] encoding of the commit's alerts. A segment ends at its
//! first record that is cut short or fails its checksum (a torn write after a power cut);
//! reading reports what was left behind instead of failing the start.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use model::Alert;
use xxhash_rust::xxh64::xxh64;

use crate::alert_log;

/// Length and checksum before every record's body.
const RECORD_HEADER_BYTES: usize = 4 + 8;
/// Segment file extension.
const SEGMENT_EXTENSION: &str = "log";
/// Bytes appended since the last rotation past which [`AlertJournal::append`] asks for a fold
/// before the next maintenance: Prometheus re-sends every firing alert each minute, so 100k
/// alerts add some 30 MB a minute, and an unfolded journal costs disk and start-up time.
pub const FOLD_AFTER_BYTES: u64 = 64 << 20;

/// An append-only journal of accepted alerts.
#[derive(Debug)]
pub struct AlertJournal {
    dir: PathBuf,
    writer: Mutex<Writer>,
    fold_after_bytes: AtomicU64,
}

#[derive(Debug)]
struct Writer {
    /// The segment appends go to.
    segment: u64,
    /// Opened at the segment's first append, so a quiet instance leaves no empty files.
    file: Option<File>,
    /// Reused from one commit to the next: encoding allocates and faults in memory once.
    buffer: Vec<u8>,
    /// Bytes appended since the last rotation.
    since_rotation: u64,
}

/// What reading the journal found.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// Every readable record's alerts, oldest segment first, in append order.
    pub alerts: Vec<Alert>,
    /// Records read.
    pub records: u64,
    /// One line per segment whose end could not be read (file, offset, bytes left behind).
    pub damaged: Vec<String>,
}

impl AlertJournal {
    /// The journal of the SQLite database at `database`, created if missing. Appends start a
    /// new segment after any that exist.
    pub fn open(database: &Path) -> std::io::Result<AlertJournal> {
        let mut name = database.file_name().unwrap_or_default().to_os_string();
        name.push("-alert-journal");
        let dir = database.with_file_name(name);
        std::fs::create_dir_all(&dir)?;
        let next = segments(&dir)?.last().map_or(1, |(number, _)| number + 1);
        let writer = Writer { segment: next, file: None, buffer: Vec::new(), since_rotation: 0 };
        Ok(AlertJournal {
            dir,
            writer: Mutex::new(writer),
            fold_after_bytes: AtomicU64::new(FOLD_AFTER_BYTES),
        })
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().expect("alert journal lock poisoned")
    }

    /// Changes [`FOLD_AFTER_BYTES`] for this journal.
    pub fn fold_after(&self, bytes: u64) {
        self.fold_after_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Appends one record holding `alerts`, in one write. Blocks for the write into the page
    /// cache (no fsync), which is shorter than parsing the request that brought the alerts.
    /// True when the journal has grown past its fold threshold since the last rotation.
    pub fn append(&self, alerts: &[Arc<Alert>]) -> std::io::Result<bool> {
        if alerts.is_empty() {
            return Ok(false);
        }
        let mut writer = self.lock();
        let Writer { segment, file, buffer, since_rotation } = &mut *writer;
        buffer.clear();
        buffer.extend_from_slice(&[0; RECORD_HEADER_BYTES]);
        alert_log::append_encoded(alerts, buffer);
        let body = &buffer[RECORD_HEADER_BYTES..];
        let length = u32::try_from(body.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "commit larger than 4 GiB")
        })?;
        let checksum = xxh64(body, 0);
        buffer[..4].copy_from_slice(&length.to_le_bytes());
        buffer[4..RECORD_HEADER_BYTES].copy_from_slice(&checksum.to_le_bytes());
        *since_rotation += buffer.len() as u64;
        let written = match file {
            Some(file) => file.write_all(buffer),
            None => OpenOptions::new()
                .create(true)
                .append(true)
                .open(segment_path(&self.dir, *segment))
                .and_then(|opened| file.insert(opened).write_all(buffer)),
        };
        // A burst's buffer is not kept for the quiet that follows.
        if buffer.capacity() > BUFFER_KEPT_BYTES {
            *buffer = Vec::new();
        }
        if written.is_err() {
            // A failed write may have left part of a record: later records go to a new
            // segment, so the partial one ends the old segment instead of hiding them.
            *segment += 1;
            *file = None;
        }
        written.map(|()| *since_rotation > self.fold_after_bytes.load(Ordering::Relaxed))
    }

    /// Starts a new segment and returns its number: every segment before it is complete.
    pub fn rotate(&self) -> u64 {
        let mut writer = self.lock();
        if writer.file.take().is_some() {
            writer.segment += 1;
        }
        writer.since_rotation = 0;
        writer.segment
    }

    /// Reads every segment numbered below `before` (all of them for `u64::MAX`).
    pub fn read_before(&self, before: u64) -> std::io::Result<JournalRead> {
        let mut read = JournalRead::default();
        for (number, path) in segments(&self.dir)? {
            if number >= before {
                break;
            }
            read_segment(&path, &mut read)?;
        }
        Ok(read)
    }

    /// Removes every segment numbered below `before`.
    pub fn remove_before(&self, before: u64) -> std::io::Result<()> {
        for (number, path) in segments(&self.dir)? {
            if number < before {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

/// Largest encoding buffer kept between commits (about 3000 alerts' worth).
const BUFFER_KEPT_BYTES: usize = 1 << 20;

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.{SEGMENT_EXTENSION}"))
}

/// The segments in `dir`, by number; other files are left alone.
fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let number = path
            .extension()
            .filter(|extension| *extension == SEGMENT_EXTENSION)
            .and_then(|_| path.file_stem()?.to_str()?.parse::<u64>().ok());
        if let Some(number) = number {
            found.push((number, path));
        }
    }
    found.sort_unstable();
    Ok(found)
}

fn read_segment(path: &Path, read: &mut JournalRead) -> std::io::Result<()> {
    let bytes = std::fs::read(path)?;
    let mut offset = 0;
    while offset < bytes.len() {
        match record_at(&bytes[offset..]) {
            Some((alerts, length)) => {
                read.alerts.extend(alerts);
                read.records += 1;
                offset += length;
            }
            None => {
                read.damaged.push(format!(
                    "{}: unreadable record at byte {offset}, {} bytes left behind",
                    path.display(),
                    bytes.len() - offset
                ));
                break;
            }
        }
    }
    Ok(())
}

/// The alerts of the record at the start of `bytes` and the record's length, or `None`
/// when it is cut short, fails its checksum or does not decode.
fn record_at(bytes: &[u8]) -> Option<(Vec<Alert>, usize)> {
    let header = bytes.get(..RECORD_HEADER_BYTES)?;
    let length = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let checksum = u64::from_le_bytes(header[4..].try_into().ok()?);
    let body = bytes.get(RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + length)?;
    if xxh64(body, 0) != checksum {
        return None;
    }
    Some((alert_log::decode(body)?, RECORD_HEADER_BYTES + length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use model::LabelSet;

    fn alert(name: &str) -> Arc<Alert> {
        let now: DateTime<Utc> = "2026-11-24T01:02:03.456Z".parse().unwrap();
        Arc::new(Alert {
            labels: LabelSet::from_pairs([("alertname", name)]),
            annotations: LabelSet::new(),
            starts_at: now.fixed_offset(),
            ends_at: (now + chrono::Duration::minutes(5)).fixed_offset(),
            generator_url: Arc::new("http://prometheus".to_owned()),
            updated_at: now,
            timeout: false,
        })
    }

    fn names(alerts: &[Alert]) -> Vec<&str> {
        alerts.iter().map(|a| a.labels.get("alertname").unwrap()).collect()
    }

    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn scratch(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("klaxon-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    #[test]
    fn appends_rotate_and_reopen_in_order() {
        let dir = scratch("order");
        let database = dir.0.join("klaxon.db");
        let journal = AlertJournal::open(&database).unwrap();
        assert_eq!(journal.dir(), dir.0.join("klaxon.db-alert-journal"));
        assert!(!journal.append(&[alert("A"), alert("B")]).unwrap());
        journal.append(&[]).unwrap();
        // Past the threshold an append asks for a fold, until the next rotation.
        journal.fold_after(10);
        assert!(journal.append(&[alert("B")]).unwrap());
        let first = journal.rotate();
        assert_eq!(journal.rotate(), first, "an untouched segment is not skipped");
        journal.append(&[alert("C")]).unwrap();
        let read = journal.read_before(first).unwrap();
        assert_eq!((names(&read.alerts), read.records), (vec!["A", "B", "B"], 2));
        // A restart appends after what is there and reads everything.
        drop(journal);
        let journal = AlertJournal::open(&database).unwrap();
        journal.append(&[alert("D")]).unwrap();
        let read = journal.read_before(u64::MAX).unwrap();
        assert_eq!(names(&read.alerts), ["A", "B", "B", "C", "D"]);
        assert!(read.damaged.is_empty());
        journal.remove_before(first).unwrap();
        assert_eq!(names(&journal.read_before(u64::MAX).unwrap().alerts), ["C", "D"]);
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_its_segment_and_is_reported() {
        let dir = scratch("torn");
        let journal = AlertJournal::open(&dir.0.join("klaxon.db")).unwrap();
        journal.append(&[alert("A")]).unwrap();
        journal.append(&[alert("B")]).unwrap();
        let segment = segments(journal.dir()).unwrap().pop().unwrap().1;
        let whole = std::fs::read(&segment).unwrap();
        let first_length =
            RECORD_HEADER_BYTES + u32::from_le_bytes(whole[..4].try_into().unwrap()) as usize;
        for cut in first_length + 1..whole.len() {
            std::fs::write(&segment, &whole[..cut]).unwrap();
            let read = journal.read_before(u64::MAX).unwrap();
            assert_eq!(names(&read.alerts), ["A"], "cut at {cut}");
            assert_eq!(read.damaged.len(), 1, "cut at {cut}");
            assert!(
                read.damaged[0].contains(&format!("byte {first_length}")),
                "{:?}",
                read.damaged
            );
        }
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&segment, &flipped).unwrap();
        assert_eq!(names(&journal.read_before(u64::MAX).unwrap().alerts), ["A"]);
        std::fs::write(&segment, &whole).unwrap();
        assert_eq!(names(&journal.read_before(u64::MAX).unwrap().alerts), ["A", "B"]);
    }
}
