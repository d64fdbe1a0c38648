//! vhost-net: one fd per queue, as the interface's policy says.

use std::os::fd::OwnedFd;

use crate::ledger::{Ledger, OpenFailure};
use crate::{NetError, NetHost, VhostPolicy};

impl NetHost {
    /// Opens vhost-net once per queue as the policy says. `Auto` stops at the first failure (its
    /// failed record is the only one written for it), closes any vhost fd already opened, and goes
    /// on without vhost; `Vhost` makes that failure the call's error.
    pub(crate) fn open_vhost(
        &self,
        ledger: &mut Ledger<'_>,
        queues: u32,
        policy: VhostPolicy,
    ) -> Result<Vec<OwnedFd>, NetError> {
        let mut fds = Vec::new();
        if policy == VhostPolicy::Qemu {
            return Ok(fds);
        }
        for _ in 0..queues {
            match ledger.open(&self.paths.vhost_net) {
                Ok(fd) => fds.push(fd),
                Err(OpenFailure::Audit(e)) => return Err(e),
                Err(OpenFailure::Device { path, source }) => {
                    if policy == VhostPolicy::Vhost {
                        return Err(NetError::VhostUnavailable { path, source });
                    }
                    drop(fds);
                    ledger.forget(&self.paths.vhost_net);
                    return Ok(Vec::new());
                }
            }
        }
        Ok(fds)
    }
}
