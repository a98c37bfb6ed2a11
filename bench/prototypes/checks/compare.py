#!/usr/bin/env python3
"""Compares two page dumps widget by widget (every figure of every widget of every view both
dumps hold): `preagg.py dump` (modes raw / preagg) and DataFusion's `query --dump`.

    compare.py A.json B.json
"""
import json
import sys


def norm(widget, rows):
    out = []
    for r in rows:
        r = list(r)
        # Breakdown and prop-key rows start with their value (text); everything else is integer.
        text_first = widget.startswith("breakdown") or widget == "prop_keys"
        nums = r[1:] if text_first else r
        nums = [int(float(x)) if x not in (None, "") else 0 for x in nums]
        out.append(([str(r[0])] if text_first else []) + nums)
    return out


a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = 0
for view in sorted(set(a) & set(b)):
    for w in sorted(set(a[view]) | set(b[view])):
        x, y = norm(w, a[view].get(w, [])), norm(w, b[view].get(w, []))
        if x != y:
            bad += 1
            print(f"MISMATCH {view} / {w}:\n  A {x[:4]}\n  B {y[:4]}")
    print(f"{view}: {len(set(a[view]) | set(b[view]))} widgets compared")
only = sorted(set(a) ^ set(b))
if only:
    print("views in one dump only:", only)
print("ALL EQUAL" if bad == 0 else f"{bad} widgets differ")
sys.exit(1 if bad else 0)
