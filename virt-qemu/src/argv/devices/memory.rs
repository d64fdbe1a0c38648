//! `<memory>` devices: per device, in document order, its `-object memory-backend-*` (with the
//! `thread-context` its preallocation runs in, when bound to host nodes) and its `-device`
//! (`pc-dimm`, `nvdimm`, `virtio-pmem-pci`, `virtio-mem-pci`).
//!
//! The backend follows the same rules as the guest's RAM and NUMA cells (huge pages, access
//! mode, discard, `<numatune>`), built by the global memory options' `BackendCtx`; what is
//! particular to a device (its own page size, host nodes, backing file, alignment, pmem) comes
//! from its `<source>`. Sizes are rounded up to 2 MiB, as QEMU needs for DIMMs. Slots and aliases come
//! from [`crate::prepare`] (`dimmN`/`nvdimmN` follow the slot). The device's
//! `-m size=..,slots=..,maxmem=..` side is written by the global memory options.
//!
//! libvirt's refusals for memory devices (missing `maxMemory` or NUMA, slot conflicts, sizes
//! beyond the hotplug space, model constraints) are checked before anything is written.

use virt_xml::address::Address;
use virt_xml::devices::memory::{MemoryAccess, MemoryDevice, MemoryModel};
use virt_xml::os::YesNo;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::net::common::push_address;
use crate::argv::memory::{parse_nodeset, BackendCtx, BackendSpec, BackendUse};
use crate::argv::props::Props;

/// QEMU wants DIMM sizes in whole 2 MiB blocks (KiB).
const MODULE_ALIGN_KIB: u64 = 2048;

/// The smallest virtio-mem block: the transparent huge page size (KiB).
const MIN_BLOCK_KIB: u64 = 2048;

/// The memory devices of the domain with their index in `def.devices`.
fn memories<'d>(b: &Builder<'d>) -> Vec<(usize, &'d MemoryDevice)> {
    b.def
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Device::Memory(m) => Some((i, m)),
            _ => None,
        })
        .collect()
}

/// Writes the backend and device of every memory device, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let mems = memories(b);
    validate(b, &mems)?;
    if mems.is_empty() {
        return Ok(());
    }
    let ctx = BackendCtx::new(b)?;
    for (i, m) in mems {
        if m.model == MemoryModel::SgxEpc {
            // An SGX EPC section is not a hot-pluggable device; nothing to write here.
            continue;
        }
        let alias = b.alias(i).to_string();
        if alias.is_empty() {
            return Err(ArgvError::Host(
                "memory device alias is not assigned".into(),
            ));
        }
        let spec = backend_spec(m, &alias)?;
        ctx.emit(b, &spec)?;
        let prealloc = m.model == MemoryModel::VirtioMem
            && b.caps.has_flag("virtio-mem-pci.prealloc")
            && virtio_mem_prealloc(b, &ctx, m);
        let p = device_props(b, m, &alias, prealloc)?;
        b.device(&p);
    }
    Ok(())
}

/// The device's size rounded up to whole 2 MiB blocks (KiB).
fn aligned_size(m: &MemoryDevice) -> u64 {
    m.target
        .size
        .0
        .div_ceil(MODULE_ALIGN_KIB)
        .saturating_mul(MODULE_ALIGN_KIB)
}

fn backend_spec(m: &MemoryDevice, alias: &str) -> Result<BackendSpec, ArgvError> {
    let usage = if m.model == MemoryModel::VirtioMem {
        BackendUse::VirtioMem
    } else {
        BackendUse::Device
    };
    let mut spec = BackendSpec::new(&format!("mem{alias}"), alias, aligned_size(m), usage);
    spec.node = m.target.node;
    spec.shared = m.access.map(|a| a == MemoryAccess::Shared);
    spec.discard = m.discard.map(|d| d == YesNo::Yes);
    spec.virtio_pmem = m.model == MemoryModel::VirtioPmem;
    if let Some(src) = &m.source {
        spec.pagesize_kib = src.pagesize.map(|p| p.0);
        spec.path = src.path.clone();
        spec.pmem = src.pmem;
        spec.align_kib = src.alignsize.map(|a| a.0);
        if let Some(mask) = &src.nodemask {
            let nodes = parse_nodeset(mask).ok_or_else(|| ArgvError::Device {
                device: format!("memory device '{alias}'"),
                reason: format!("invalid nodemask '{mask}'"),
            })?;
            spec.source_nodes = Some(nodes);
        }
    }
    Ok(spec)
}

/// Whether a virtio-mem device preallocates the memory it plugs (immediate allocation or
/// huge pages).
fn virtio_mem_prealloc(b: &Builder<'_>, ctx: &BackendCtx, m: &MemoryDevice) -> bool {
    let immediate = crate::argv::view::memory_backing(b.def)
        .allocation
        .as_deref()
        == Some("immediate");
    let pagesize = m.source.as_ref().and_then(|s| s.pagesize).map(|p| p.0);
    immediate || ctx.page_for(b, m.target.node, pagesize).huge
}

fn device_props(
    b: &Builder<'_>,
    m: &MemoryDevice,
    alias: &str,
    prealloc: bool,
) -> Result<Props, ArgvError> {
    let driver = match m.model {
        MemoryModel::Dimm => "pc-dimm",
        MemoryModel::Nvdimm => "nvdimm",
        MemoryModel::VirtioPmem => "virtio-pmem-pci",
        MemoryModel::VirtioMem => "virtio-mem-pci",
        MemoryModel::SgxEpc => {
            return Err(ArgvError::unsupported(
                "sgx-epc memory is not a hot-pluggable device",
            ))
        }
    };
    let kib = |v: u64| v.saturating_mul(1024);
    let mut p = Props::new()
        .str("driver", driver)
        .opt_uint("node", m.target.node.map(u64::from))
        .opt_uint(
            "label-size",
            m.target
                .label_size
                .as_ref()
                .and_then(scaled_kib)
                .filter(|v| *v > 0)
                .map(kib),
        )
        .opt_uint(
            "block-size",
            m.target.block.map(|v| v.0).filter(|v| *v > 0).map(kib),
        )
        .opt_uint(
            "requested-size",
            m.target.requested.map(|v| v.0).filter(|v| *v > 0).map(kib),
        )
        .opt_str("uuid", m.uuid.map(|u| u.to_string()));
    if m.target.readonly {
        p = p.bool("unarmed", true);
    }
    p = p.str("memdev", format!("mem{alias}"));
    if prealloc {
        p = p.bool("prealloc", true);
    }
    p = p.str("id", alias);
    match &m.info.address {
        Some(Address::Dimm { slot, base }) => {
            p = p
                .uint("slot", u64::from(slot.unwrap_or(0)))
                .opt_uint("addr", base.filter(|b| *b != 0));
        }
        _ => push_address(b, &m.info, &mut p)?,
    }
    Ok(p)
}

/// A `<label><size>` in KiB.
fn scaled_kib(s: &virt_xml::devices::controller::ScaledSize) -> Option<u64> {
    let mul: u64 = match s.unit.as_deref().unwrap_or("KiB") {
        "b" | "bytes" => return Some(s.value / 1024),
        "k" | "K" | "KiB" => 1,
        "KB" => return Some(s.value.saturating_mul(1000) / 1024),
        "M" | "MiB" => 1024,
        "MB" => return Some(s.value.saturating_mul(1_000_000) / 1024),
        "G" | "GiB" => 1 << 20,
        "GB" => return Some(s.value.saturating_mul(1_000_000_000) / 1024),
        "T" | "TiB" => 1 << 30,
        _ => return None,
    };
    s.value.checked_mul(mul)
}

fn refuse(msg: impl Into<String>) -> ArgvError {
    ArgvError::unsupported(msg)
}

/// The guest NUMA cells' count and total size (KiB).
fn numa_cells(b: &Builder<'_>) -> (usize, u64) {
    b.def
        .cpu
        .as_ref()
        .and_then(|c| c.numa.as_ref())
        .map(|n| {
            (
                n.cells.len(),
                n.cells
                    .iter()
                    .fold(0u64, |acc, c| acc.saturating_add(c.memory.0)),
            )
        })
        .unwrap_or((0, 0))
}

/// libvirt's refusals of memory devices, before anything is written.
fn validate(b: &Builder<'_>, mems: &[(usize, &MemoryDevice)]) -> Result<(), ArgvError> {
    let (ncells, cells_kib) = numa_cells(b);
    for (_, m) in mems {
        validate_model(b, m, ncells)?;
    }
    // Memory hotplug: `<maxMemory>`, guest NUMA and enough slots and room.
    let (slots, max_kib) = match b.def.max_memory {
        Some(max) => (max.slots.unwrap_or(0), max.size.0),
        None => (0, 0),
    };
    let hotplug_mems: Vec<&MemoryDevice> = mems
        .iter()
        .map(|(_, m)| *m)
        .filter(|m| m.model != MemoryModel::SgxEpc)
        .collect();
    if slots == 0 && max_kib == 0 {
        if !mems.is_empty() {
            return Err(refuse(
                "cannot use/hotplug a memory device when domain 'maxMemory' is not defined",
            ));
        }
        return Ok(());
    }
    if ncells == 0 {
        return Err(refuse(
            "At least one numa node has to be configured when enabling memory hotplug",
        ));
    }
    if mems.len() as u64 > u64::from(slots) {
        return Err(refuse(format!(
            "memory device count '{}' exceeds slots count '{slots}'",
            mems.len()
        )));
    }
    for m in &hotplug_mems {
        validate_hotplug(m, &hotplug_mems, slots, ncells)?;
    }
    let total = b.def.memory.map(|m| m.size.0).unwrap_or(0);
    let devices_kib = mems
        .iter()
        .fold(0u64, |acc, (_, m)| acc.saturating_add(m.target.size.0));
    let initial = if cells_kib > 0 {
        cells_kib
    } else {
        total.saturating_sub(devices_kib)
    };
    let hotplug_kib = hotplug_mems
        .iter()
        .fold(0u64, |acc, m| acc.saturating_add(m.target.size.0));
    if hotplug_kib > max_kib.saturating_sub(initial) {
        return Err(refuse("memory device total size exceeds hotplug space"));
    }
    Ok(())
}

/// What each model needs and what this QEMU offers.
fn validate_model(b: &Builder<'_>, m: &MemoryDevice, ncells: usize) -> Result<(), ArgvError> {
    if let Some(node) = m.target.node {
        if ncells == 0 {
            return Err(refuse(
                "can't add memory backend as guest has no NUMA nodes configured",
            ));
        }
        if node as usize >= ncells {
            return Err(refuse(format!(
                "can't add memory backend for guest node '{node}' as the guest has only '{ncells}' NUMA nodes configured"
            )));
        }
    }
    let path = m.source.as_ref().and_then(|s| s.path.as_ref());
    let discard = m.discard == Some(YesNo::Yes);
    let model = m.model.as_str();
    let has = |flag: &str| b.caps.has_flag(flag);
    match m.model {
        MemoryModel::Dimm => {
            if !has("pc-dimm") {
                return Err(refuse("memory hotplug isn't supported by this QEMU binary"));
            }
        }
        MemoryModel::Nvdimm => {
            if path.is_none() {
                return Err(refuse("path is required for model 'nvdimm'"));
            }
            if discard {
                return Err(refuse("discard is not supported for nvdimms"));
            }
            if m.uuid.is_some() {
                return Err(refuse("UUID is not supported for NVDIMM device"));
            }
            if !has("nvdimm") {
                return Err(refuse("nvdimm isn't supported by this QEMU binary"));
            }
            if m.target.readonly && !has("nvdimm.unarmed") {
                return Err(refuse(
                    "nvdimm readonly property is not available with this QEMU binary",
                ));
            }
        }
        MemoryModel::VirtioPmem => {
            if path.is_none() {
                return Err(refuse(format!("path is required for model '{model}'")));
            }
            if discard {
                return Err(refuse(format!(
                    "discard is not supported for model '{model}'"
                )));
            }
            if m.access != Some(MemoryAccess::Shared) {
                return Err(refuse("shared access mode required for virtio-pmem device"));
            }
            if m.target.node.is_some() {
                return Err(refuse("virtio-pmem does not support NUMA nodes"));
            }
            if !has("virtio-pmem-pci") {
                return Err(refuse("virtio-pmem isn't supported by this QEMU binary"));
            }
        }
        MemoryModel::VirtioMem => {
            let size = m.target.size.0;
            let block = m.target.block.map(|v| v.0).unwrap_or(0);
            let requested = m.target.requested.map(|v| v.0).unwrap_or(0);
            if requested > size {
                return Err(refuse(format!(
                    "requested size must be smaller than or equal to @size ({size}KiB)"
                )));
            }
            if !block.is_power_of_two() {
                return Err(refuse("block size must be a power of two"));
            }
            if block < MIN_BLOCK_KIB {
                return Err(refuse(format!(
                    "block size too small, must be at least {MIN_BLOCK_KIB}KiB"
                )));
            }
            if requested % block != 0 {
                return Err(refuse(
                    "requested size must be an integer multiple of block size",
                ));
            }
            if !has("virtio-mem-pci") {
                return Err(refuse("virtio-mem isn't supported by this QEMU binary"));
            }
        }
        MemoryModel::SgxEpc => {
            if m.info.address.is_some() {
                return Err(refuse(format!(
                    "memory device address is not supported for model '{model}'"
                )));
            }
            if !has("sgx-epc") {
                return Err(refuse("sgx epc isn't supported by this QEMU binary"));
            }
        }
    }
    Ok(())
}

/// Where a hot-pluggable device may sit: DIMMs in a free slot below the slot count (and a base
/// nobody else uses), virtio devices on PCI; with guest NUMA, DIMMs and virtio-mem name a node.
fn validate_hotplug(
    m: &MemoryDevice,
    all: &[&MemoryDevice],
    slots: u32,
    ncells: usize,
) -> Result<(), ArgvError> {
    let addr = &m.info.address;
    let needs_node = m.model != MemoryModel::VirtioPmem;
    match m.model {
        MemoryModel::Dimm | MemoryModel::Nvdimm => {
            if !matches!(addr, None | Some(Address::Dimm { .. })) {
                return Err(refuse(
                    "only 'dimm' addresses are supported for the pc-dimm device",
                ));
            }
            if let Some(Address::Dimm { slot, base }) = addr {
                let slot = slot.unwrap_or(0);
                if slot >= slots {
                    return Err(refuse(format!(
                        "memory device slot '{slot}' exceeds slots count '{slots}'"
                    )));
                }
                let base = base.unwrap_or(0);
                for other in all.iter().filter(|o| !std::ptr::eq(**o, m)) {
                    if let Some(Address::Dimm { slot: s2, base: b2 }) = &other.info.address {
                        if s2.unwrap_or(0) == slot {
                            return Err(refuse(format!(
                                "memory device slot '{slot}' is already being used by another memory device"
                            )));
                        }
                        if base != 0 && b2.unwrap_or(0) == base {
                            return Err(refuse(format!(
                                "memory device base '{base:#x}' is already being used by another memory device"
                            )));
                        }
                    }
                }
            }
        }
        MemoryModel::VirtioPmem | MemoryModel::VirtioMem => {
            if !matches!(addr, None | Some(Address::Pci { .. })) {
                return Err(refuse(format!(
                    "only 'pci' addresses are supported for the {} device",
                    m.model.as_str()
                )));
            }
        }
        MemoryModel::SgxEpc => {}
    }
    if needs_node && ncells != 0 && m.target.node.is_none() {
        return Err(refuse(
            "target NUMA node needs to be specified for memory device",
        ));
    }
    Ok(())
}
