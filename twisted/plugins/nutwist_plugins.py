# twistd plugins for nutwist; the options and makeService live in the package.
from twisted.application.service import ServiceMaker

nut = ServiceMaker(
    "nutwist",
    "nutwist.tap",
    "Network UPS Tools on Twisted: upsd, drivers, or both with upsmon (standalone)",
    "nut",
)
nut_monitor = ServiceMaker(
    "nutwist monitor",
    "nutwist.monitor_tap",
    "Network UPS Tools upsmon alone, for secondary systems",
    "nut-monitor",
)
