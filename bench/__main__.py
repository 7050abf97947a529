"""``python -m bench`` (``make bench``): every benchmark, one after the other."""

import sys

from bench import drivers, serial, snmp, upsd

for bench in (upsd, drivers, serial, snmp):
    sys.argv[1:] = []
    bench.main()
