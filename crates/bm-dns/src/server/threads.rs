//! The threads of a server being started.

use std::sync::Arc;
use std::thread::JoinHandle;

use super::error::ServerError;
use super::shared::{ServerHandle, Shared};

/// The threads of a server being started: if the start fails part-way, those already running
/// are stopped and joined when this is dropped.
pub(crate) struct Threads {
    pub(crate) shared: Arc<Shared>,
    pub(crate) handles: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Starts a thread; when the system has none to give, the start fails (it does not panic).
    pub(crate) fn spawn(&mut self, name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), ServerError> {
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map_err(|source| ServerError::System { what: "starting a thread", source })?;
        self.handles.push(handle);
        Ok(())
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        if self.handles.is_empty() {
            return;
        }
        ServerHandle { shared: self.shared.clone() }.shutdown();
        for t in self.handles.drain(..) {
            let _ = t.join();
        }
    }
}
