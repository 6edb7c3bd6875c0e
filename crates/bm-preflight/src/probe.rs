//! Address-in-use probes (being written).
