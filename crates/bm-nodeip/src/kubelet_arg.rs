//! kubelet `--node-ip` argument parsing and validation.
