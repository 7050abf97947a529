"""An in-process USB backend for usbhid-ups's tests: a captured device, no USB, no threads.

``FakeBackend(capture)`` answers GET_REPORT from the capture's reports, records every
SET_REPORT, hands out queued interrupt reports, and can be unplugged and plugged back.
"""

from __future__ import annotations

from collections.abc import Sequence

from nutwist.drivers.hid.engine import Candidate, Handle, UsbGone
from tests.support.hidcapture import Capture


class FakeHandle:
    def __init__(self, backend: FakeBackend) -> None:
        self.b = backend

    def _check(self) -> None:
        if self.b.unplugged:
            raise UsbGone("No such device (it may have been disconnected)")

    def get_report(self, report_id: int, length: int) -> bytes | None:
        self._check()
        self.b.log.append(("get", report_id, length))
        data = self.b.reports.get(report_id)
        return None if data is None else data[:length]

    def set_report(self, report_id: int, data: bytes) -> bool:
        self._check()
        self.b.log.append(("set", report_id, bytes(data)))
        old = self.b.reports.get(report_id, b"")
        self.b.reports[report_id] = bytes(data) + old[len(data) :]
        return True

    def get_string(self, index: int, buflen: int) -> str | None:
        self._check()
        text = self.b.cap.strings.get(index)
        return None if text is None else text[: buflen - 1]

    def get_interrupt(self, size: int, timeout_ms: int) -> bytes | None:
        self._check()
        self.b.log.append(("interrupt", size, timeout_ms))
        if self.b.interrupts:
            return self.b.interrupts.pop(0)[:size]
        return None

    def close(self) -> None:
        self.b.closed += 1


class FakeCandidate:
    def __init__(self, backend: FakeBackend) -> None:
        self.b = backend
        cap = backend.cap
        self.vendor_id = cap.vendorid
        self.product_id = cap.productid
        self.bcd = cap.bcd
        self.bus = 1

    def open(self) -> None:
        if self.b.unplugged:
            raise UsbGone("gone")

    def strings(self) -> tuple[str | None, str | None, str | None]:
        s = self.b.cap.strings
        return (s.get(1) or None, s.get(2) or None, s.get(3) or None)

    def claim(self) -> Handle:
        return FakeHandle(self.b)

    def report_descriptor(self) -> bytes | None:
        return self.b.rdesc

    def close(self) -> None:
        pass


class FakeBackend:
    def __init__(self, cap: Capture, rdesc: bytes | None = None) -> None:
        self.cap = cap
        self.rdesc = cap.rdesc if rdesc is None else rdesc
        self.reports = dict(cap.reports)
        self.interrupts: list[bytes] = []
        self.unplugged = False
        self.log: list[tuple[str, int, object]] = []
        self.closed = 0

    def devices(self) -> Sequence[Candidate]:
        if self.unplugged:
            return []
        return [FakeCandidate(self)]

    def version(self) -> str:
        return "fake"

    def sets(self) -> list[tuple[int, bytes]]:
        return [(rid, data) for kind, rid, data in self.log if kind == "set"]  # type: ignore[misc]
