//! The system interfaces the AF_XDP path needs and no safe crate wraps: `bpf(2)` (an XSKMAP, the
//! program, a BPF link attaching it to an interface), the AF_XDP socket with its UMEM and four
//! rings shared with the kernel, and `poll(2)`.
//!

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// One eBPF instruction, as the kernel reads it (`struct bpf_insn`).
pub type Insn = [u8; 8];

// bpf(2) commands and types (linux/bpf.h).
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;

// AF_XDP (linux/if_xdp.h).
const AF_XDP: libc::c_int = 44;
const SOL_XDP: libc::c_int = 283;
const XDP_MMAP_OFFSETS: libc::c_int = 1;
const XDP_RX_RING: libc::c_int = 2;
const XDP_TX_RING: libc::c_int = 3;
const XDP_UMEM_REG: libc::c_int = 4;
const XDP_UMEM_FILL_RING: libc::c_int = 5;
const XDP_UMEM_COMPLETION_RING: libc::c_int = 6;
const XDP_PGOFF_RX_RING: libc::off_t = 0;
const XDP_PGOFF_TX_RING: libc::off_t = 0x8000_0000;
const XDP_UMEM_PGOFF_FILL_RING: libc::off_t = 0x1_0000_0000;
const XDP_UMEM_PGOFF_COMPLETION_RING: libc::off_t = 0x1_8000_0000;

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
}

#[repr(C)]
struct MapUpdateAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
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
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

#[repr(C)]
struct UmemReg {
    addr: u64,
    len: u64,
    chunk_size: u32,
    headroom: u32,
    flags: u32,
    tx_metadata_len: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct RingOffset {
    producer: u64,
    consumer: u64,
    desc: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct MmapOffsets {
    rx: RingOffset,
    tx: RingOffset,
    fr: RingOffset,
    cr: RingOffset,
}

#[repr(C)]
struct SockaddrXdp {
    family: u16,
    flags: u16,
    ifindex: u32,
    queue_id: u32,
    shared_umem_fd: u32,
}

/// `struct xdp_desc`: a frame in the RX or TX ring.
#[repr(C)]
#[derive(Clone, Copy)]
struct Desc {
    addr: u64,
    len: u32,
    options: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a live, exclusively borrowed #[repr(C)] prefix of `union bpf_attr` for
    // this command, and its size is passed; the kernel reads (and for some commands writes)
    // only that many bytes.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, (attr as *mut T).cast::<libc::c_void>(), mem::size_of::<T>()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the commands used here return a new file descriptor that nothing else owns (and
    // BPF_MAP_UPDATE_ELEM returns 0, which `map_set` never wraps).
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// An XSKMAP with `entries` slots: receive queue index -> AF_XDP socket.
pub fn create_xskmap(entries: u32) -> io::Result<OwnedFd> {
    let mut attr =
        MapCreateAttr { map_type: BPF_MAP_TYPE_XSKMAP, key_size: 4, value_size: 4, max_entries: entries, map_flags: 0 };
    bpf(BPF_MAP_CREATE, &mut attr)
}

/// Puts the socket `fd` in slot `key` of the XSKMAP `map`.
pub fn map_set(map: &OwnedFd, key: u32, fd: RawFd) -> io::Result<()> {
    let value = fd as u32;
    let mut attr = MapUpdateAttr {
        map_fd: map.as_raw_fd() as u32,
        pad: 0,
        key: (&raw const key) as u64,
        value: (&raw const value) as u64,
        flags: 0,
    };
    // SAFETY: as in `bpf`; `key` and `value` outlive the call, and the command returns 0
    // rather than a descriptor, so nothing is wrapped.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_UPDATE_ELEM,
            (&raw mut attr).cast::<libc::c_void>(),
            mem::size_of::<MapUpdateAttr>(),
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Loads an XDP program. On a verifier refusal the error carries the verifier's log.
pub fn load_xdp(insns: &[Insn]) -> io::Result<OwnedFd> {
    let license = c"MIT OR Apache-2.0";
    let mut name = [0u8; 16];
    name[..10].copy_from_slice(b"bmnet_dns\0");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_XDP,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EINVAL) => {
            // Ask again with the verifier's log, so that the error says why.
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let again = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            match again {
                Ok(fd) => Ok(fd),
                Err(_) => Err(io::Error::new(e.kind(), format!("{e}; verifier: {}", text.trim()))),
            }
        }
        Err(e) => Err(e),
    }
}

/// Attaches the program to interface `ifindex` (native mode where the driver has it, else
/// generic) through a BPF link: closing the returned descriptor, or the process ending,
/// detaches it, so a crash never leaves the interface's DNS traffic going nowhere.
pub fn attach_xdp(prog: &OwnedFd, ifindex: u32) -> io::Result<OwnedFd> {
    let mut attr =
        LinkCreateAttr { prog_fd: prog.as_raw_fd() as u32, target_ifindex: ifindex, attach_type: BPF_XDP, flags: 0 };
    bpf(BPF_LINK_CREATE, &mut attr)
}

/// A memory mapping owned by this process, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: Option<RawFd>, len: usize, offset: libc::off_t) -> io::Result<Mapping> {
        let (flags, fd) = match fd {
            Some(fd) => (libc::MAP_SHARED | libc::MAP_POPULATE, fd),
            None => (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE, -1),
        };
        // SAFETY: a fresh mapping at an address the kernel picks; it aliases no Rust object.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, flags, fd, offset) };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `Mapping::new` with this length and is unmapped once;
        // nothing borrowed from it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// One of the four single-producer single-consumer rings shared with the kernel. This side
/// keeps its own copy of the index it advances (`local`) and publishes it with release
/// ordering after touching the entries; it reads the kernel's index with acquire ordering
/// before touching the entries the kernel published.
struct Ring {
    /// Keeps the indices and entries mapped.
    _map: Mapping,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    desc: *mut u8,
    mask: u32,
    size: u32,
    /// The producer index for a ring this side fills; the consumer index for one it drains.
    local: u32,
}

impl Ring {
    fn new(
        fd: RawFd,
        off: RingOffset,
        size: u32,
        entry: usize,
        pgoff: libc::off_t,
        producing: bool,
    ) -> io::Result<Ring> {
        let len = off.desc as usize + size as usize * entry;
        let map = Mapping::new(Some(fd), len, pgoff)?;
        let base = map.ptr.as_ptr();
        // SAFETY: the kernel's offsets lie inside the mapping it sized; the indices are 4-byte
        // aligned u32 the kernel also accesses atomically.
        let (producer, consumer, desc) = unsafe {
            (
                base.add(off.producer as usize).cast::<AtomicU32>().cast_const(),
                base.add(off.consumer as usize).cast::<AtomicU32>().cast_const(),
                base.add(off.desc as usize),
            )
        };
        let mut ring = Ring { _map: map, producer, consumer, desc, mask: size - 1, size, local: 0 };
        // SAFETY: the index pointers point into `ring.map`, alive as long as `ring`.
        ring.local = unsafe {
            if producing { (*ring.producer).load(Ordering::Relaxed) } else { (*ring.consumer).load(Ordering::Relaxed) }
        };
        Ok(ring)
    }

    /// Entries this side may fill now (producer rings).
    fn free(&self) -> u32 {
        // SAFETY: see `Ring::new`.
        let consumer = unsafe { (*self.consumer).load(Ordering::Acquire) };
        self.size - self.local.wrapping_sub(consumer)
    }

    /// Entries ready to be read (consumer rings).
    fn ready(&self) -> u32 {
        // SAFETY: see `Ring::new`.
        let producer = unsafe { (*self.producer).load(Ordering::Acquire) };
        producer.wrapping_sub(self.local)
    }

    /// Publishes this side's index.
    fn publish(&self, index: &AtomicU32) {
        index.store(self.local, Ordering::Release);
    }

    fn addr_at(&self, i: u32) -> *mut u64 {
        // SAFETY: `i & mask` < size, and the ring holds `size` u64 entries after `desc`.
        unsafe { self.desc.cast::<u64>().add((i & self.mask) as usize) }
    }

    fn desc_at(&self, i: u32) -> *mut Desc {
        // SAFETY: `i & mask` < size, and the ring holds `size` descriptors after `desc`.
        unsafe { self.desc.cast::<Desc>().add((i & self.mask) as usize) }
    }

    fn producer_index(&self) -> &AtomicU32 {
        // SAFETY: see `Ring::new`.
        unsafe { &*self.producer }
    }

    fn consumer_index(&self) -> &AtomicU32 {
        // SAFETY: see `Ring::new`.
        unsafe { &*self.consumer }
    }
}

/// Geometry of one socket's memory.
pub const FRAME_SIZE: u32 = 2048;
const FRAMES: u32 = 2048;
const RING_SIZE: u32 = 1024;

/// An AF_XDP socket bound to one receive queue, with its own UMEM of `FRAMES` frames. Frames
/// cycle fill ring -> RX ring -> (answered in place) TX ring -> completion ring -> fill ring.
pub struct Xsk {
    fd: OwnedFd,
    umem: Mapping,
    fill: Ring,
    completion: Ring,
    rx: Ring,
    tx: Ring,
    /// Frames owned by this side, not in any ring.
    spare: Vec<u64>,
}

// SAFETY: every pointer in an `Xsk` points into mappings the `Xsk` owns alone; moving it to
// another thread moves that ownership (the kernel's side does not care which thread calls).
unsafe impl Send for Xsk {}

fn setsockopt<T>(fd: RawFd, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live T whose size is passed.
    let r = unsafe { libc::setsockopt(fd, SOL_XDP, name, (value as *const T).cast(), mem::size_of::<T>() as u32) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

impl Xsk {
    /// Opens a socket for queue `queue` of interface `ifindex`, registers its UMEM and rings,
    /// fills the fill ring and binds (zero-copy where the driver can, else copy mode).
    pub fn open(ifindex: u32, queue: u32) -> io::Result<Xsk> {
        // SAFETY: plain socket(2); the descriptor is owned at once.
        let raw = unsafe { libc::socket(AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let raw = fd.as_raw_fd();
        let umem = Mapping::new(None, (FRAMES * FRAME_SIZE) as usize, 0)?;
        let reg = UmemReg {
            addr: umem.ptr.as_ptr() as u64,
            len: umem.len as u64,
            chunk_size: FRAME_SIZE,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        setsockopt(raw, XDP_UMEM_REG, &reg)?;
        for name in [XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING, XDP_TX_RING] {
            setsockopt(raw, name, &RING_SIZE)?;
        }
        let mut off = MmapOffsets::default();
        let mut len = mem::size_of::<MmapOffsets>() as libc::socklen_t;
        // SAFETY: `off` is a live, exclusively borrowed buffer of `len` bytes.
        let r = unsafe { libc::getsockopt(raw, SOL_XDP, XDP_MMAP_OFFSETS, (&raw mut off).cast(), &raw mut len) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        if len as usize != mem::size_of::<MmapOffsets>() {
            // Kernels before 5.4 lack the rings' `flags`: a layout this code does not read.
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "AF_XDP ring offsets of an older kernel (5.4 or later needed)",
            ));
        }
        let (addr, desc) = (mem::size_of::<u64>(), mem::size_of::<Desc>());
        let fill = Ring::new(raw, off.fr, RING_SIZE, addr, XDP_UMEM_PGOFF_FILL_RING, true)?;
        let completion = Ring::new(raw, off.cr, RING_SIZE, addr, XDP_UMEM_PGOFF_COMPLETION_RING, false)?;
        let rx = Ring::new(raw, off.rx, RING_SIZE, desc, XDP_PGOFF_RX_RING, false)?;
        let tx = Ring::new(raw, off.tx, RING_SIZE, desc, XDP_PGOFF_TX_RING, true)?;
        let mut xsk =
            Xsk { fd, umem, fill, completion, rx, tx, spare: (0..FRAMES).map(|i| u64::from(i * FRAME_SIZE)).collect() };
        xsk.refill();
        let sa = SockaddrXdp { family: AF_XDP as u16, flags: 0, ifindex, queue_id: queue, shared_umem_fd: 0 };
        // SAFETY: `sa` is a live sockaddr_xdp whose size is passed.
        let r = unsafe { libc::bind(raw, (&raw const sa).cast(), mem::size_of::<SockaddrXdp>() as u32) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(xsk)
    }

    /// Hands spare frames to the kernel for receiving.
    fn refill(&mut self) {
        let n = self.fill.free().min(self.spare.len() as u32);
        for _ in 0..n {
            let frame = self.spare.pop().expect("counted above");
            // SAFETY: the slot is one the kernel has consumed (`free`), so this side owns it.
            unsafe { self.fill.addr_at(self.fill.local).write(frame) };
            self.fill.local = self.fill.local.wrapping_add(1);
        }
        if n > 0 {
            self.fill.publish(self.fill.producer_index());
        }
    }

    /// Takes back the frames the kernel has sent.
    fn reclaim(&mut self) {
        let n = self.completion.ready();
        for _ in 0..n {
            // SAFETY: the slot is one the kernel has published (`ready`).
            let addr = unsafe { self.completion.addr_at(self.completion.local).read() };
            self.spare.push(addr - addr % u64::from(FRAME_SIZE));
            self.completion.local = self.completion.local.wrapping_add(1);
        }
        if n > 0 {
            self.completion.publish(self.completion.consumer_index());
        }
    }

    /// Serves up to `max` received frames: `answer(frame, len)` gets the frame's buffer (from
    /// the packet's first byte to the end of its UMEM frame) and the packet's length, and
    /// returns the length of the answer it wrote in place, or `None` to send nothing. Answers
    /// are queued and the kernel asked to send them. Returns how many frames were received.
    pub fn serve(&mut self, max: u32, mut answer: impl FnMut(&mut [u8], usize) -> Option<usize>) -> io::Result<u32> {
        self.reclaim();
        self.refill();
        let n = self.rx.ready().min(max);
        // Room in the TX ring; when it is full (the link cannot keep up) queries are dropped
        // rather than left in the RX ring, which would stop the queue.
        let mut room_tx = self.tx.free();
        let mut queued = 0;
        for _ in 0..n {
            // SAFETY: a slot the kernel published (`ready`).
            let d = unsafe { self.rx.desc_at(self.rx.local).read() };
            self.rx.local = self.rx.local.wrapping_add(1);
            if d.addr >= self.umem.len as u64 {
                // Not a frame of ours: never touch it (a kernel bug; no frame to give back).
                continue;
            }
            // In bounds and without overflow: `addr` < the UMEM's length, a multiple of frames.
            let base = d.addr - d.addr % u64::from(FRAME_SIZE);
            let room = (base + u64::from(FRAME_SIZE) - d.addr) as usize;
            if d.len as usize > room || room_tx == 0 {
                self.spare.push(base);
                continue;
            }
            // SAFETY: the frame lies inside the UMEM (checked above), and the kernel handed it to
            // this side through the RX ring: nothing else reads or writes it until it goes back
            // through the TX or fill ring, after this borrow ends.
            let buf = unsafe { std::slice::from_raw_parts_mut(self.umem.ptr.as_ptr().add(d.addr as usize), room) };
            match answer(buf, d.len as usize) {
                Some(len) if len <= room => {
                    let out = Desc { addr: d.addr, len: len as u32, options: 0 };
                    // SAFETY: a slot of the TX ring this side owns (`free`, counted in `room_tx`).
                    unsafe { self.tx.desc_at(self.tx.local).write(out) };
                    self.tx.local = self.tx.local.wrapping_add(1);
                    room_tx -= 1;
                    queued += 1;
                }
                _ => self.spare.push(base),
            }
        }
        if n > 0 {
            self.rx.publish(self.rx.consumer_index());
        }
        if queued > 0 {
            self.tx.publish(self.tx.producer_index());
        }
        // Also what an earlier, refused kick left behind: in copy mode nothing leaves unasked.
        if self.tx_pending() {
            self.kick()?;
        }
        Ok(n)
    }

    /// Whether the TX ring holds frames the kernel has not taken yet.
    pub fn tx_pending(&self) -> bool {
        self.tx.free() < self.tx.size
    }

    /// Asks the kernel to send what the TX ring holds. Copy mode sends a budget of frames per
    /// call and says EAGAIN while more remain; a busy device (EBUSY, ENOBUFS) is asked again on
    /// the next round.
    fn kick(&mut self) -> io::Result<()> {
        for _ in 0..64 {
            // SAFETY: sendto(2) with no buffer and no address, as AF_XDP defines the wake-up.
            let r = unsafe {
                libc::sendto(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0)
            };
            if r >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) if self.tx_pending() => {}
                Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS) => return Ok(()),
                _ => return Err(e),
            }
        }
        Ok(())
    }

    /// The socket's descriptor (for the XSKMAP).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Waits until a frame arrives or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        crate::poll::wait_readable(&[self.fd.as_fd()], timeout);
    }
}

impl AsRawFd for Xsk {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
