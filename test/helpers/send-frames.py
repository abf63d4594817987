#!/usr/bin/env python3
"""Send the frames of a classic pcap file out of an interface as-is, through an AF_PACKET socket.

Fallback for the live tests when tcpreplay is not installed:  send-frames.py IFACE FILE [LOOPS]
Prints the number of frames sent. Needs root (or CAP_NET_RAW). Classic pcap only (µs or ns, either byte order).
"""
import socket
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        sys.exit(f"{path}: not a classic pcap file")
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off : off + 16])
        off += 16
        if off + caplen > len(data):
            break
        yield data[off : off + caplen]
        off += caplen


def main():
    iface, path = sys.argv[1], sys.argv[2]
    loops = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    batch = list(frames(path))
    sent = 0
    for _ in range(loops):
        for fr in batch:
            s.send(fr)
            sent += 1
    print(sent)


if __name__ == "__main__":
    main()
