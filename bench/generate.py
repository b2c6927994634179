#!/usr/bin/env python3
"""Writes a seeds folder of N regions into OUT: the four seed regions and,
past them, copies of their files under new codes (klatovy-2, kromeriz-2, ...,
named "Klatovy 2", ...) in the same kraj, so the data set is N/4 times the
real one with the same shape. The documents of seeds/sources are linked.
Usage: python3 bench/generate.py N OUT"""
import os, re, sys

seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "seeds")
n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
base = ["klatovy", "kromeriz", "karlovy-vary", "chomutov"]
territory = open(os.path.join(seeds, "regions.yaml"), encoding="utf-8").read()
extra = []
for i in range(n):
    b = base[i % 4]
    code = b if i < 4 else f"{b}-{i // 4 + 1}"
    text = open(os.path.join(seeds, f"{b}.yaml"), encoding="utf-8").read()
    text = re.sub(r"^region: .*$", f"region: {code}", text, count=1, flags=re.M)
    open(os.path.join(out, f"{code}.yaml"), "w", encoding="utf-8").write(text)
    if i >= 4:
        m = re.search(rf"- code: {b}\n\s+name: (.*)\n\s+kind: (.*)\n\s+kraj: (.*)", territory)
        extra.append(f"  - code: {code}\n    name: {m[1]} {i // 4 + 1}\n    kind: {m[2]}\n    kraj: {m[3]}\n")
open(os.path.join(out, "regions.yaml"), "w", encoding="utf-8").write(territory.rstrip("\n") + "\n" + "".join(extra))
link = os.path.join(out, "sources")
if not os.path.exists(link):
    os.symlink(os.path.realpath(os.path.join(seeds, "sources")), link)
