"""A tiny KVM guest made with raw /dev/kvm ioctls: exactly N port writes and M MMIO writes.

Run as ``python kvm_guest.py --pio N --mmio M [--port P]``. The guest is 16-bit real-mode
code at guest address 0::

    mov cx, N ; mov dx, P ; mov al, 0x42
    1: jcxz 2f ; out dx, al ; dec cx ; jmp 1b
    2: mov cx, M
    3: jcxz 4f ; mov [0x8000], al ; dec cx ; jmp 3b
    4: hlt

Every ``out`` is one KVM_EXIT_IO and every store to 0x8000 (outside the only memory slot)
one KVM_EXIT_MMIO, each handled here in user space, so the kernel's kvm_userspace_exit,
kvm_pio and kvm_mmio tracepoints fire exactly once per exit for this process. The ``hlt``
ends the run (KVM_EXIT_HLT). The VMM process is named ``dtscope-guest``.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import mmap
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _child

KVMIO = 0xAE


def _io(nr: int) -> int:
    return (KVMIO << 8) | nr


def _iow(nr: int, size: int) -> int:
    return (1 << 30) | (size << 16) | (KVMIO << 8) | nr


def _ior(nr: int, size: int) -> int:
    return (2 << 30) | (size << 16) | (KVMIO << 8) | nr


REGS_SIZE = 18 * 8  # struct kvm_regs: rax..r15, rip, rflags
SREGS_SIZE = 312  # struct kvm_sregs: 8 segments, gdt, idt, 7 control registers, irq bitmap
MEMORY_REGION = struct.Struct("=IIQQQ")  # slot, flags, guest_phys_addr, memory_size, userspace_addr

KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, MEMORY_REGION.size)
KVM_RUN = _io(0x80)
KVM_SET_REGS = _iow(0x82, REGS_SIZE)
KVM_GET_SREGS = _ior(0x83, SREGS_SIZE)
KVM_SET_SREGS = _iow(0x84, SREGS_SIZE)

KVM_EXIT_IO = 2
KVM_EXIT_HLT = 5
KVM_EXIT_MMIO = 6

GUEST_MEMORY = 0x1000
MMIO_ADDRESS = 0x8000
SEGMENT_SIZE = 24  # struct kvm_segment: base u64, limit u32, selector u16, 8 flag bytes


def guest_code(pio: int, mmio: int, port: int) -> bytes:
    if not (0 <= pio <= 0xFFFF and 0 <= mmio <= 0xFFFF and 0 <= port <= 0xFFFF):
        raise ValueError("counts and port must fit in 16 bits")
    u16 = lambda v: struct.pack("<H", v)
    return b"".join(
        [
            b"\xb9" + u16(pio),  # 0: mov cx, pio
            b"\xba" + u16(port),  # 3: mov dx, port
            b"\xb0\x42",  # 6: mov al, 0x42
            b"\xe3\x04",  # 8: jcxz 14
            b"\xee",  # 10: out dx, al
            b"\x49",  # 11: dec cx
            b"\xeb\xfa",  # 12: jmp 8
            b"\xb9" + u16(mmio),  # 14: mov cx, mmio
            b"\xe3\x06",  # 17: jcxz 25
            b"\xa2" + u16(MMIO_ADDRESS),  # 19: mov [0x8000], al
            b"\x49",  # 22: dec cx
            b"\xeb\xf8",  # 23: jmp 17
            b"\xf4",  # 25: hlt
        ]
    )


class Guest:
    def __init__(self, code: bytes):
        self.kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        if fcntl.ioctl(self.kvm, KVM_GET_API_VERSION) != 12:
            raise RuntimeError("unexpected KVM API version")
        self.vm = fcntl.ioctl(self.kvm, KVM_CREATE_VM, 0)
        self.memory = mmap.mmap(-1, GUEST_MEMORY, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.memory[: len(code)] = code
        address = ctypes.addressof(ctypes.c_char.from_buffer(self.memory))
        region = MEMORY_REGION.pack(0, 0, 0, GUEST_MEMORY, address)
        fcntl.ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, region)
        self.vcpu = fcntl.ioctl(self.vm, KVM_CREATE_VCPU, 0)
        run_size = fcntl.ioctl(self.kvm, KVM_GET_VCPU_MMAP_SIZE)
        self.run_area = mmap.mmap(self.vcpu, run_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._real_mode_at_zero()

    def _real_mode_at_zero(self) -> None:
        sregs = bytearray(SREGS_SIZE)
        fcntl.ioctl(self.vcpu, KVM_GET_SREGS, sregs)
        for segment in range(6):  # cs, ds, es, fs, gs, ss: base 0, selector 0
            offset = segment * SEGMENT_SIZE
            struct.pack_into("=Q", sregs, offset, 0)
            struct.pack_into("=H", sregs, offset + 12, 0)
        fcntl.ioctl(self.vcpu, KVM_SET_SREGS, bytes(sregs))
        regs = [0] * 18
        regs[16] = 0  # rip
        regs[17] = 0x2  # rflags: bit 1 is always set
        fcntl.ioctl(self.vcpu, KVM_SET_REGS, struct.pack("=18Q", *regs))

    def run(self) -> dict[str, int]:
        """Run to the ``hlt``; count the exits handled here by reason."""
        exits = {"io": 0, "mmio": 0, "hlt": 0}
        ports: set[int] = set()
        while True:
            try:
                fcntl.ioctl(self.vcpu, KVM_RUN, 0)
            except InterruptedError:
                continue
            (reason,) = struct.unpack_from("=I", self.run_area, 8)
            if reason == KVM_EXIT_IO:
                exits["io"] += 1
                # struct kvm_run: the exit union starts at 32; io = direction, size, port, count
                ports.add(struct.unpack_from("=BBHI", self.run_area, 32)[2])
            elif reason == KVM_EXIT_MMIO:
                exits["mmio"] += 1
            elif reason == KVM_EXIT_HLT:
                exits["hlt"] += 1
                break
            else:
                raise RuntimeError(f"unexpected KVM exit reason {reason}")
        exits["ports"] = sorted(ports)  # type: ignore[assignment]
        return exits

    def close(self) -> None:
        self.run_area.close()
        for fd in (self.vcpu, self.vm, self.kvm):
            os.close(fd)
        self.memory.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pio", type=int, default=100)
    parser.add_argument("--mmio", type=int, default=0)
    parser.add_argument("--port", type=int, default=0x3F8)
    args = parser.parse_args()
    _child.set_comm("dtscope-guest")
    guest = Guest(guest_code(args.pio, args.mmio, args.port))
    _child.ready(pid=os.getpid(), comm="dtscope-guest", port=args.port, mmio_address=MMIO_ADDRESS)
    _child.done(**guest.run())
    _child.wait_for_exit()
    guest.close()


if __name__ == "__main__":
    main()
