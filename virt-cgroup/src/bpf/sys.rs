//! The raw `bpf(2)` commands the device filter uses, with the kernel's `union bpf_attr` members
//! laid out as `repr(C)` structs (uapi `linux/bpf.h`).

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::prog::Insn;

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_MAP_GET_FD_BY_ID: libc::c_long = 14;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;

/// `BPF_MAP_TYPE_HASH`.
pub const MAP_TYPE_HASH: u32 = 1;
/// `BPF_PROG_TYPE_CGROUP_DEVICE`.
pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE` attach type.
pub const ATTACH_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: our program runs alongside any a parent cgroup has (all must allow).
pub const F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The head of `struct bpf_prog_info`.
#[repr(C)]
#[derive(Default, Debug)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; 16],
}

/// The head of `struct bpf_map_info`.
#[repr(C)]
#[derive(Default, Debug)]
pub struct MapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; 16],
}

/// Issues one bpf(2) command.
///
/// # Safety
/// `attr` must be the attr struct `cmd` expects, and every pointer inside it must be valid for the
/// kernel to read or write for the size it is told.
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: the caller guarantees attr matches cmd; the size passed is attr's own.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

fn owned(rc: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a fresh descriptor (O_CLOEXEC) that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(rc as i32) }
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(name.bytes().take(15)) {
        *o = b;
    }
    out
}

/// `BPF_MAP_CREATE` of a hash map.
pub fn map_create(
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    name: &str,
) -> io::Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: MAP_TYPE_HASH,
        key_size,
        value_size,
        max_entries,
        map_name: name16(name),
        ..Default::default()
    };
    // SAFETY: MapCreateAttr is BPF_MAP_CREATE's attr and holds no pointers.
    unsafe { bpf(BPF_MAP_CREATE, &mut attr) }.map(owned)
}

/// `BPF_MAP_LOOKUP_ELEM` of a u64 key with a u32 value; `None` when absent.
pub fn map_lookup(map: BorrowedFd<'_>, key: u64) -> io::Result<Option<u32>> {
    let mut value: u32 = 0;
    let mut attr = MapElemAttr {
        map_fd: fd_u32(map),
        key: &key as *const u64 as u64,
        value: &mut value as *mut u32 as u64,
        ..Default::default()
    };
    // SAFETY: key and value outlive the call and have the map's key and value sizes (8 and 4).
    match unsafe { bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) } {
        Ok(_) => Ok(Some(value)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_UPDATE_ELEM` (`BPF_ANY`).
pub fn map_update(map: BorrowedFd<'_>, key: u64, value: u32) -> io::Result<()> {
    let mut attr = MapElemAttr {
        map_fd: fd_u32(map),
        key: &key as *const u64 as u64,
        value: &value as *const u32 as u64,
        ..Default::default()
    };
    // SAFETY: key and value outlive the call and have the map's key and value sizes.
    unsafe { bpf(BPF_MAP_UPDATE_ELEM, &mut attr) }.map(|_| ())
}

/// `BPF_MAP_DELETE_ELEM`; `false` when the key was absent.
pub fn map_delete(map: BorrowedFd<'_>, key: u64) -> io::Result<bool> {
    let mut attr = MapElemAttr {
        map_fd: fd_u32(map),
        key: &key as *const u64 as u64,
        ..Default::default()
    };
    // SAFETY: key outlives the call and has the map's key size.
    match unsafe { bpf(BPF_MAP_DELETE_ELEM, &mut attr) } {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every key of a u64-keyed map (`BPF_MAP_GET_NEXT_KEY` from no key).
pub fn map_keys(map: BorrowedFd<'_>) -> io::Result<Vec<u64>> {
    let mut keys = Vec::new();
    let mut cur: Option<u64> = None;
    loop {
        let mut next: u64 = 0;
        let mut attr = MapElemAttr {
            map_fd: fd_u32(map),
            key: cur.as_ref().map_or(0, |k| k as *const u64 as u64),
            value: &mut next as *mut u64 as u64,
            ..Default::default()
        };
        // SAFETY: key (if any) and next outlive the call and are 8 bytes, the map's key size.
        match unsafe { bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) } {
            Ok(_) => {
                keys.push(next);
                cur = Some(next);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(keys),
            Err(e) => return Err(e),
        }
    }
}

/// `BPF_PROG_LOAD`; on failure, the verifier's log if it gave one.
pub fn prog_load(
    prog_type: u32,
    insns: &[Insn],
    license: &str,
    name: &str,
) -> Result<OwnedFd, (io::Error, String)> {
    let license = std::ffi::CString::new(license).map_err(|_| {
        (
            io::Error::from(io::ErrorKind::InvalidInput),
            "license contains NUL".to_string(),
        )
    })?;
    let load = |log: Option<&mut Vec<u8>>| {
        let mut attr = ProgLoadAttr {
            prog_type,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name: name16(name),
            ..Default::default()
        };
        if let Some(buf) = log {
            attr.log_level = 1;
            attr.log_size = buf.len() as u32;
            attr.log_buf = buf.as_mut_ptr() as u64;
        }
        // SAFETY: insns, license and the log buffer outlive the call, with the sizes given.
        unsafe { bpf(BPF_PROG_LOAD, &mut attr) }.map(owned)
    };
    match load(None) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = load(Some(&mut buf));
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            Err((
                first,
                String::from_utf8_lossy(&buf[..end]).trim().to_string(),
            ))
        }
    }
}

fn attach_attr(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> AttachAttr {
    AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        attach_flags: flags,
        replace_bpf_fd: 0,
    }
}

/// `BPF_PROG_ATTACH` to a cgroup directory fd.
pub fn prog_attach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> io::Result<()> {
    let mut attr = attach_attr(cgroup, prog, attach_type, flags);
    // SAFETY: AttachAttr is BPF_PROG_ATTACH's attr and holds no pointers.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(|_| ())
}

/// `BPF_PROG_DETACH` of one program from a cgroup directory fd.
pub fn prog_detach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> io::Result<()> {
    let mut attr = attach_attr(cgroup, prog, attach_type, 0);
    // SAFETY: AttachAttr is BPF_PROG_DETACH's attr and holds no pointers.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(|_| ())
}

/// `BPF_PROG_QUERY`: ids of the programs attached directly to a cgroup for `attach_type`.
pub fn prog_query(cgroup: BorrowedFd<'_>, attach_type: u32) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: fd_u32(cgroup),
        attach_type,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    // SAFETY: prog_ids points at prog_cnt u32s that outlive the call.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    ids.truncate((attr.prog_cnt as usize).min(ids.len()));
    Ok(ids)
}

fn fd_by_id(cmd: libc::c_long, id: u32) -> io::Result<Option<OwnedFd>> {
    let mut attr = GetFdByIdAttr {
        id,
        ..Default::default()
    };
    // SAFETY: GetFdByIdAttr is the by-id attr and holds no pointers.
    match unsafe { bpf(cmd, &mut attr) } {
        Ok(rc) => Ok(Some(owned(rc))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `BPF_PROG_GET_FD_BY_ID`; `None` when no program has that id (any more).
pub fn prog_fd_by_id(id: u32) -> io::Result<Option<OwnedFd>> {
    fd_by_id(BPF_PROG_GET_FD_BY_ID, id)
}

/// `BPF_MAP_GET_FD_BY_ID`; `None` when no map has that id (any more).
pub fn map_fd_by_id(id: u32) -> io::Result<Option<OwnedFd>> {
    fd_by_id(BPF_MAP_GET_FD_BY_ID, id)
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a program, with up to `max_maps` of the ids of the maps it uses.
pub fn prog_info(prog: BorrowedFd<'_>, max_maps: usize) -> io::Result<(ProgInfo, Vec<u32>)> {
    let mut maps = vec![0u32; max_maps];
    let mut info = ProgInfo {
        nr_map_ids: maps.len() as u32,
        map_ids: maps.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(prog),
        info_len: size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    // SAFETY: info and the map id array outlive the call, with the sizes given.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }?;
    maps.truncate((info.nr_map_ids as usize).min(max_maps));
    info.map_ids = 0;
    Ok((info, maps))
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a map.
pub fn map_info(map: BorrowedFd<'_>) -> io::Result<MapInfo> {
    let mut info = MapInfo::default();
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(map),
        info_len: size_of::<MapInfo>() as u32,
        info: &mut info as *mut MapInfo as u64,
    };
    // SAFETY: info outlives the call and is info_len bytes.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }?;
    Ok(info)
}

/// The NUL-terminated name in a 16-byte info field.
pub fn name_of(field: &[u8; 16]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&field[..end]).into_owned()
}
