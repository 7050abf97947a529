"""``python -m bench`` (``make bench``): every benchmark, one after the other."""

import sys

from bench import drivers, upsd

for bench in (upsd, drivers):
    sys.argv[1:] = []
    bench.main()
