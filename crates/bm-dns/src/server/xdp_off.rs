//! Without feature `xdp`: the server has no AF_XDP path, and a start that asks for one is
//! refused, saying so.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use super::config::ServerConfig;
use super::error::ServerError;
use super::shared::Shared;
use super::threads::Threads;

/// Nothing is attached without the feature.
#[derive(Debug)]
pub(crate) enum Attachment {}

/// Refuses a configuration that names XDP interfaces.
pub(crate) fn check(config: &ServerConfig) -> Result<(), ServerError> {
    match config.xdp.first() {
        Some(interface) => Err(ServerError::Xdp {
            interface: interface.clone(),
            source: io::Error::new(io::ErrorKind::Unsupported, "bm-dns was built without the `xdp` feature"),
        }),
        None => Ok(()),
    }
}

/// Starts nothing (`check` has refused any XDP interface).
pub(crate) fn start(
    _config: &ServerConfig,
    _local: &[SocketAddr],
    _shared: &Arc<Shared>,
    _kernel: &[UdpSocket],
    _threads: &mut Threads,
) -> Result<Vec<Attachment>, ServerError> {
    Ok(Vec::new())
}
