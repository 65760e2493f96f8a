#!/usr/bin/env python3
"""Check captured nginx `hash ... consistent` vectors against an independent
Python model of ngx_http_upstream_hash_module's ketama ring.

Usage: check-nginx-vectors.py [-v] PATH/TO/nginx-chash.tsv

The upstream definitions are read from the TSV header lines
    #<TAB>upstream<TAB>set<TAB>server text<TAB>weight
and the data lines are
    set<TAB>request_uri<TAB>chosen_server_address

Model (nginx ngx_http_upstream_init_chash / ngx_http_upstream_get_chash_peer):
  * key hash = crc32(key bytes)
  * per server (config order), server text "host:port" split at the LAST ':'
    base = crc32 state over host bytes, one 0 byte, port bytes
    prev = 0; for j in 0 .. 160*weight-1:
        point = crc32 continued from base over prev as 4 little-endian bytes
        prev = point
  * sort points by hash; collapse equal hashes (keep one)
  * pick the first point with hash >= key hash, wrapping to index 0.
Exit status is 0 iff every line matches.
"""
import bisect
import struct
import sys
import zlib
from collections import Counter, OrderedDict


def split_server(text):
    if text[:5].lower() == "unix:":
        return text[5:].encode(), b""
    i = text.rfind(":")
    if i < 0:
        return text.encode(), b""
    return text[:i].encode(), text[i + 1:].encode()


def build_ring(servers):
    """servers: list of (server_text, weight) in config order."""
    points = []
    for order, (text, weight) in enumerate(servers):
        host, port = split_server(text)
        # zlib.crc32(data, crc) continues a finalized crc; this equals nginx's
        # ngx_crc32_init / ngx_crc32_update(...) / ngx_crc32_final sequence.
        base = zlib.crc32(host + b"\0" + port)
        prev = 0
        for _ in range(160 * weight):
            h = zlib.crc32(struct.pack("<I", prev), base)
            points.append((h, order, text))
            prev = h
    # Python's sort is stable: among equal hashes the earlier (config order)
    # point stays first and is the one kept. nginx uses ngx_qsort (unstable),
    # so for exact duplicates nginx's survivor is not well defined.
    points.sort(key=lambda p: p[0])
    ring, dups = [], 0
    for p in points:
        if ring and ring[-1][0] == p[0]:
            dups += 1
            continue
        ring.append(p)
    return [p[0] for p in ring], [p[2] for p in ring], dups


def choose(ring, key):
    hashes, servers = ring
    h = zlib.crc32(key.encode("latin-1"))
    i = bisect.bisect_left(hashes, h)  # first point >= h
    return servers[i % len(hashes)], h, i


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv[1:] if a != "-v"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    defs = OrderedDict()
    data = []
    with open(args[0], encoding="latin-1", newline="") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("#"):
                parts = line.split("\t")
                if len(parts) == 5 and parts[0] == "#" and parts[1] == "upstream":
                    defs.setdefault(parts[2], []).append((parts[3], int(parts[4])))
                continue
            if not line:
                continue
            s, uri, addr = line.split("\t")
            data.append((s, uri, addr))

    rings = {}
    for s, servers in defs.items():
        hashes, srvs, dups = build_ring(servers)
        rings[s] = (hashes, srvs)
        print(f"set {s}: {len(servers)} servers, {len(hashes)} ring points, "
              f"{dups} duplicate points dropped")

    matched = mismatched = 0
    per_set = Counter()
    for s, uri, addr in data:
        if s not in rings:
            print(f"unknown set {s!r}", file=sys.stderr)
            mismatched += 1
            continue
        got, h, i = choose(rings[s], uri)
        if got == addr:
            matched += 1
            per_set[s, "ok"] += 1
        else:
            mismatched += 1
            per_set[s, "bad"] += 1
            if mismatched <= 20 or verbose:
                print(f"MISMATCH {s} {uri!r}: nginx={addr} model={got} "
                      f"crc32={h:#010x} idx={i}")
        if verbose:
            print(f"{s}\t{uri}\tcrc32={h:#010x}\tidx={i}\tmodel={got}\tnginx={addr}")
    for s in rings:
        print(f"set {s}: matched={per_set[s, 'ok']} mismatched={per_set[s, 'bad']}")
    print(f"matched={matched} mismatched={mismatched} total={len(data)}")
    return 0 if mismatched == 0 and data else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
