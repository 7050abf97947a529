"""nutwist: Network UPS Tools on Twisted, wire-compatible with NUT 2.8."""

__version__ = "0.1.0"

#: The NUT release whose behaviour nutwist reproduces on the wire.
NUT_COMPAT_VERSION = "2.8.0"
