//! PCI and USB passthrough.
