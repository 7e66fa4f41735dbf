//! amtool against Klaxon (filled in below).
