#!/usr/bin/env python3
"""Independent re-check of a qtune recommendation (no qtune code, no numpy).

Reads the neighbours the recommended configuration returned for the held-out validation
queries (results/<name>/recommended_neighbors.ivecs, rows in the order of
validation_queries.txt) and scores them against a ground truth that qtune did not compute,
e.g. the shipped siftsmall_groundtruth.ivecs:

  python3 tests/tune/check_recall.py results/sift10k \
      ../shared/data/sift10k/siftsmall_groundtruth.ivecs --k 10 \
      [--base ../shared/data/sift10k/siftsmall_base.fvecs --queries ../shared/data/sift10k/siftsmall_query.fvecs]

Prints recall@k by id intersection, and with --base/--queries also ann-benchmarks' distance
recall (a hit is within the k-th true L2^2 distance + 1e-3), distances recomputed here.
"""
import argparse
import os
import struct


def read_vecs(path, fmt):
    rows = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off < len(data):
        (d,) = struct.unpack_from("<i", data, off)
        off += 4
        rows.append(list(struct.unpack_from("<%d%s" % (d, fmt), data, off)))
        off += 4 * d
    return rows


def l2sq(a, b):
    return sum((x - y) * (x - y) for x, y in zip(a, b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results_dir")
    ap.add_argument("ground_truth", help=".ivecs of true neighbours for every query row")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--base")
    ap.add_argument("--queries")
    a = ap.parse_args()
    found = read_vecs(os.path.join(a.results_dir, "recommended_neighbors.ivecs"), "i")
    with open(os.path.join(a.results_dir, "validation_queries.txt")) as f:
        rows = [int(line) for line in f if line.strip() and not line.startswith("#")]
    truth = read_vecs(a.ground_truth, "i")
    assert len(found) == len(rows), "neighbour rows %d != validation rows %d" % (len(found), len(rows))
    k = a.k
    hits = sum(len(set(found[i][:k]) & set(truth[r][:k])) for i, r in enumerate(rows))
    print("validation queries: %d" % len(rows))
    print("recall@%d (ids): %.4f" % (k, hits / (k * len(rows))))
    if a.base and a.queries:
        base = read_vecs(a.base, "f")
        queries = read_vecs(a.queries, "f")
        total = 0.0
        for i, r in enumerate(rows):
            q = queries[r]
            kth = sorted(l2sq(base[j], q) for j in truth[r][:k])[-1]
            total += sum(1 for j in found[i][:k] if j >= 0 and l2sq(base[j], q) <= kth + 1e-3) / k
        print("recall@%d (distance): %.4f" % (k, total / len(rows)))


if __name__ == "__main__":
    main()
