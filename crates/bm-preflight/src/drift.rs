//! Keyfiles against the live host (being written).
