#!/usr/bin/env python3
"""Writes small frame files into DIR as fuzzing seeds (fuzz/run.sh).

Field layouts follow ../shared/docs/gwf-format.md (sections 2-9). The files cover what the
project's writer does not produce: big-endian files, versions 7 and 6, zero suppression
(codes 5, 8, 10), differentiation + zlib (3), complex and string vectors, files without a TOC,
and a TOC whose nSim is 0xFFFFFFFF. Python's zlib and struct only.
"""
import os
import struct
import sys
import zlib

CLASSES = {"FrameH": 3, "FrAdcData": 4, "FrDetector": 5, "FrEndOfFile": 6, "FrEndOfFrame": 7,
           "FrHistory": 9, "FrProcData": 11, "FrSimData": 14, "FrTOC": 19, "FrVect": 20}
TYPES = {"i1": (0, "b"), "i2": (1, "h"), "f8": (2, "d"), "f4": (3, "f"), "i4": (4, "i"), "i8": (5, "q"),
         "u2": (9, "H"), "u4": (10, "I"), "u8": (11, "Q"), "u1": (12, "B")}


def cksum(data):
    crc = 0
    def feed(b):
        nonlocal crc
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    for b in data:
        feed(b)
    n = len(data)
    while n:
        feed(n & 0xFF)
        n >>= 8
    return (~crc) & 0xFFFFFFFF


class File:
    def __init__(self, version, big):
        self.v8 = version >= 8
        self.version = version
        self.e = ">" if big else "<"
        self.b = bytearray()
        self.b += b"IGWD\0" + bytes([version, 1 if self.v8 else 20, 2, 4, 8, 4, 8])
        self.b += struct.pack(self.e + "HIQfd", 0x1234, 0x12345678, 0x0123456789ABCDEF, 3.1415927, 3.141592653589793)
        self.b += bytes([0, 1]) if self.v8 else b"AZ"

    def p(self, fmt, *a):
        return struct.pack(self.e + fmt, *a)

    def s(self, text):
        raw = text.encode()
        return self.p("H", len(raw) + 1) + raw + b"\0"

    def emit(self, cls, inst, body):
        off = len(self.b)
        n = 14 + len(body) + (4 if self.v8 else 0)
        head = self.p("Q", n) + (bytes([1, cls]) if self.v8 else self.p("H", cls)) + self.p("I", inst)
        self.b += head + body
        if self.v8:
            self.b += self.p("I", cksum(self.b[off:]))
        return off


def diff(vals, bits):
    mask = (1 << bits) - 1
    out, prev = [], 0
    for v in vals:
        out.append((v - prev) & mask)
        prev = v
    return out


def zs(words, bits, block, big):
    """Zero suppression of already-differentiated unsigned words (digest section 6)."""
    field = {16: 4, 32: 5, 64: 6}[bits]
    acc, nacc = block, 16
    for s in range(0, len(words), block):
        vals = [w - (1 << bits) if w >> (bits - 1) else w for w in words[s:s + block]]
        m = 0
        for v in vals:
            m |= abs(v)
        nb = 1 if m == 0 else m.bit_length() + 1
        acc |= (nb - 1) << nacc
        nacc += field
        if nb > 1:
            for v in vals:
                acc |= (v + (1 << (nb - 1)) - 1) << nacc
                nacc += nb
    nwords = (nacc + bits - 1) // bits
    fmt = (">" if big else "<") + {16: "H", 32: "I", 64: "Q"}[bits]
    return b"".join(struct.pack(fmt, (acc >> (k * bits)) & ((1 << bits) - 1)) for k in range(nwords))


def vect_payload(f, kind, vals, code):
    typ, ch = TYPES[kind]
    scheme = code & 0xFF
    e = f.e if scheme == 0 else ("<" if code & 0x100 else ">")
    raw = struct.pack(e + ch * len(vals), *vals)
    if scheme == 0:
        return typ, raw
    if scheme == 1:
        return typ, zlib.compress(raw, 6)
    bits = 8 * struct.calcsize(ch)
    if kind in ("f4", "f8"):
        ints = list(struct.unpack("<" + {32: "I", 64: "Q"}[bits] * len(vals), struct.pack("<" + ch * len(vals), *vals)))
    else:
        ints = [v & ((1 << bits) - 1) for v in vals]
    d = diff(ints, bits)
    if scheme == 3:
        return typ, zlib.compress(struct.pack(e + {8: "B", 16: "H", 32: "I", 64: "Q"}[bits] * len(d), *d), 6)
    return typ, zs(d, bits, 12 if bits == 16 else 8, e == ">")


def write(path, version, big, toc, channels, frames=2, not_indexed_sim=False):
    f = File(version, big)
    for i, (name, num) in enumerate(sorted(CLASSES.items())):
        f.emit(1, i, f.s(name) + f.p("H", num) + f.s(""))
    pos_h, toc_pos = [], [dict(), dict(), dict()]
    for fr in range(frames):
        gps = 1400000000 + fr
        body = f.s("SEED") + f.p("iIIIIHd", 0, fr, 0, gps, 0, 37, 1.0) + f.p("HI", 0, 0) * 13
        pos_h.append(f.emit(CLASSES["FrameH"], 0, body))
        f.emit(CLASSES["FrDetector"], 0, f.s("det") + b"X1" + f.p("dd7fi", 0.1, 0.2, 1, 2, 3, 4, 5, 6, 7, 3600) + f.p("HI", 0, 0) * 3)
        f.emit(CLASSES["FrHistory"], 0, f.s("seed") + f.p("I", gps) + f.s("make_seeds.py") + f.p("HI", 0, 0))
        inst = [0, 0, 0]
        vinst = 0
        for kind_ix, name, kind, code, vals in channels:
            rate = float(len(vals))
            head = f.s(name) + f.s("")
            data_ptr = f.p("HI", CLASSES["FrVect"], vinst)
            if kind_ix == 0:
                body = (head + f.p("IIIff", 0, 0, 16, 0.5, 2.0) + f.s("V") + f.p("dddfH", rate, 0.0, 0.0, 0.0, 0)
                        + data_ptr + f.p("HI", 0, 0) * 2)
                cls = "FrAdcData"
            elif kind_ix == 1:
                body = head + f.p("HHdddfddH", 1, 0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0) + data_ptr + f.p("HI", 0, 0) * 4
                cls = "FrProcData"
            else:
                rate_b = f.p("f", rate) if version == 6 else f.p("d", rate)
                body = head + rate_b + f.p("ddf", 0.0, 0.0, 0.0) + data_ptr + f.p("HI", 0, 0) * 3
                cls = "FrSimData"
            off = f.emit(CLASSES[cls], inst[kind_ix], body)
            inst[kind_ix] += 1
            toc_pos[kind_ix].setdefault(name, [0] * frames)[fr] = off
            if kind == "str":
                typ, payload, n = 8, b"".join(f.s(v) for v in vals), len(vals)
            elif kind in ("c8", "c16"):
                ch = "f" if kind == "c8" else "d"
                typ, n = (6 if kind == "c8" else 7), len(vals) // 2
                payload = f.p(ch * len(vals), *vals)
                if code & 0xFF == 1:
                    payload = zlib.compress(struct.pack(("<" if code & 0x100 else ">") + ch * len(vals), *vals))
            else:
                typ, payload = vect_payload(f, kind, vals, code)
                n = len(vals)
            vb = f.s(name) + f.p("HHQQ", code, typ, n, len(payload)) + payload
            vb += f.p("IQdd", 1, n, 1.0 / rate, 0.0) + f.s("s") + f.s("") + f.p("HI", 0, 0)
            f.emit(CLASSES["FrVect"], vinst, vb)
            vinst += 1
        end = f.p("iIII", 0, fr, gps, 0) if f.v8 else f.p("iIII", 0, fr, 0, 0)
        f.emit(CLASSES["FrEndOfFrame"], 0, end)
    toc_off = 0
    if toc:
        t = f.p("hI", 37, frames)
        t += f.p("I" * frames, *[0] * frames) + f.p("I" * frames, *[1400000000 + k for k in range(frames)])
        t += f.p("I" * frames, *[0] * frames) + f.p("d" * frames, *[1.0] * frames)
        t += f.p("i" * frames, *[0] * frames) + f.p("I" * frames, *range(frames))
        t += f.p("Q" * frames, *pos_h) + f.p("Q" * (4 * frames), *[0] * (4 * frames))
        t += f.p("III", 0, 0, 0) + (f.p("I", 0) if f.v8 else b"")
        for k in range(3):
            if k == 2 and not_indexed_sim:
                t += f.p("I", 0xFFFFFFFF)
                continue
            names = sorted(toc_pos[k])
            t += f.p("I", len(names)) + b"".join(f.s(n) for n in names)
            if k == 0:
                t += f.p("I" * (2 * len(names)), *[0] * (2 * len(names)))
            for n in names:
                t += f.p("Q" * frames, *toc_pos[k][n])
        t += f.p("II", 0, 0)
        t += (f.p("II", 0, 0) if f.v8 else f.p("I", 0)) * 2
        toc_off = f.emit(CLASSES["FrTOC"], 0, t)
    if f.v8:
        total = len(f.b) + 46
        off = len(f.b)
        f.b += f.p("Q", 46) + bytes([1, CLASSES["FrEndOfFile"]]) + f.p("I", 0)
        f.b += f.p("IQQI", frames, total, total - toc_off if toc else 0, cksum(f.b[:40]))
        f.b += f.p("I", cksum(f.b[off:]))
        f.b += f.p("I", cksum(f.b))
    else:
        total = len(f.b) + 42
        f.b += f.p("Q", 42) + f.p("H", CLASSES["FrEndOfFile"]) + f.p("I", 0)
        f.b += f.p("IQII", frames, total, 1, 0)
        at = len(f.b) - 4
        f.b += f.p("Q", total - toc_off if toc else 0)
        f.b[at:at + 4] = f.p("I", cksum(bytes(f.b)))
    with open(path, "wb") as out:
        out.write(f.b)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ramp = list(range(-20, 44))
    wave = [((i * 37) % 200) - 100 for i in range(64)]
    chans = [
        (0, "X1:ADC_I2_ZS", "i2", 261, wave),
        (0, "X1:ADC_U1_DZ", "u1", 259, [v & 0xFF for v in ramp]),
        (1, "X1:PROC_F8_Z", "f8", 257, [v * 0.25 for v in wave]),
        (1, "X1:PROC_F4_ZS", "f4", 264, [v * 0.5 for v in ramp]),
        (1, "X1:PROC_I8_ZS", "i8", 266, [v * 1000003 for v in wave]),
        (1, "X1:PROC_C8", "c8", 256, [v * 0.5 for v in ramp]),
        (1, "X1:PROC_C16_Z", "c16", 257, [v * 0.125 for v in wave]),
        (2, "X1:SIM_I4", "i4", 256, ramp),
        (2, "X1:SIM_STR", "str", 0, ["a", "", "bc"]),
    ]
    be = [(k, n, t, (c & 0xFF) if t not in ("c8",) else c, v) for k, n, t, c, v in chans]
    write(os.path.join(out, "seed-v8-le-toc.gwf"), 8, False, True, chans)
    write(os.path.join(out, "seed-v8-le-notoc.gwf"), 8, False, False, chans, frames=1)
    write(os.path.join(out, "seed-v8-be-toc.gwf"), 8, True, True, be)
    write(os.path.join(out, "seed-v8-le-ffff.gwf"), 8, False, True, chans[:3] + chans[7:8], not_indexed_sim=True)
    write(os.path.join(out, "seed-v7-be-toc.gwf"), 7, True, True, be[:3] + be[7:8])
    write(os.path.join(out, "seed-v6-le-notoc.gwf"), 6, False, False, chans[:3] + chans[7:8], frames=3)


if __name__ == "__main__":
    main()
