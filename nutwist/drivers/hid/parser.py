"""A HID report-descriptor parser that yields NUT's path model.

Each data field of a report descriptor becomes a :class:`HIDData`: the usage
path from the outermost collection down to the field (a usage is
``page << 16 | id``; a collection index appears as ``0x00ffNNNN``), the report
type, report ID, bit offset and size, logical/physical limits and units.

The walk reproduces NUT 2.8.0's parser, quirks included, because ups.conf
paths, the explore listing and every value read depend on them:

- local items (usages) are discarded after every main item;
- a main item whose usage stack is empty continues the previous field and is
  not listed;
- bit offsets are counted per (report ID, type) in 8 bits and wrap at 256, and
  the table of offsets treats report ID 0 as an empty slot (so fields of report
  0 all start at offset 0);
- report count, report size and report ID are 8-bit, a unit exponent above 7
  is read as a negative nibble;
- a Logical Maximum smaller than the Logical Minimum (a firmware that let an
  unsigned value overflow into the sign bit) is re-read as unsigned, with a
  warning.

Malformed input never raises: truncated items read as zero, runaway nesting
and counts are bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# item tags (the byte with its size bits masked off)
ITEM_MASK = 0xFC
SIZE_MASK = 0x03
ITEM_INPUT = 0x80
ITEM_OUTPUT = 0x90
ITEM_FEATURE = 0xB0
ITEM_COLLECTION = 0xA0
ITEM_END_COLLECTION = 0xC0
ITEM_UPAGE = 0x04
ITEM_LOG_MIN = 0x14
ITEM_LOG_MAX = 0x24
ITEM_PHY_MIN = 0x34
ITEM_PHY_MAX = 0x44
ITEM_UNIT_EXP = 0x54
ITEM_UNIT = 0x64
ITEM_REP_SIZE = 0x74
ITEM_REP_ID = 0x84
ITEM_REP_COUNT = 0x94
ITEM_USAGE = 0x08
ITEM_LONG = 0xFC

ATTR_DATA_CST = 0x01

PATH_SIZE = 10  # deepest path NUT keeps
USAGE_TAB_SIZE = 50  # local usages remembered before a main item
MAX_REPORT = 500  # fields kept (all types together)

_ITEM_SIZE = (0, 1, 2, 4)
_TYPE_NAMES = {ITEM_FEATURE: "Feature", ITEM_INPUT: "Input", ITEM_OUTPUT: "Output"}

# unit code -> the exponent NUT subtracts (HID spec units are in 10^-7 of SI for these)
_UNIT_EXPONENTS: tuple[tuple[int, int], ...] = (
    (0x00000000, 0),  # none / percent
    (0x00F0D121, 7),  # volt
    (0x00100001, 0),  # ampere
    (0x0000D121, 7),  # VA, watt
    (0x00001001, 0),  # second
    (0x00010001, 0),  # kelvin
    (0x0000F001, 0),  # hertz
    (0x00101001, 0),  # ampere-second
)


def _signed(value: int, nbytes: int) -> int:
    """Sign-extend a little-endian item value of ``nbytes`` bytes (0 = unsigned)."""
    if nbytes == 0:
        return value
    bits = 8 * nbytes
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _int8(value: int) -> int:
    value &= 0xFF
    return value - 256 if value >= 128 else value


@dataclass
class HIDData:
    """One field of a report (NUT's HIDData_t)."""

    path: tuple[int, ...] = ()
    #: the parser's whole path array when this field was found: NUT compares a looked-up path
    #: with these nodes, including those left over past the end of a shorter path
    raw_path: tuple[int, ...] = ()
    type: int = 0
    report_id: int = 0
    offset: int = 0
    size: int = 0
    attribute: int = 0
    unit: int = 0
    unit_exp: int = 0
    log_min: int = 0
    log_max: int = 0
    phy_min: int = 0
    phy_max: int = 0
    have_phy_min: bool = False
    have_phy_max: bool = False

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES.get(self.type, "Unknown")


@dataclass
class ReportDescriptor:
    """A parsed descriptor: its fields in order and each report's length in bytes."""

    items: list[HIDData] = field(default_factory=list)
    #: report ID -> bytes of data (without the ID byte), from the largest field end
    replen: dict[int, int] = field(default_factory=dict)
    #: the warnings NUT logs while parsing (LogMax fix-ups, overflows)
    warnings: list[str] = field(default_factory=list)

    def find_raw(self, path: Sequence[int], type_: int) -> HIDData | None:
        """NUT's FindObject_with_Path: the query's nodes against each field's path array."""
        want = tuple(path)
        n = len(want)
        if n > PATH_SIZE:
            return None
        for item in self.items:
            if item.type == type_ and item.raw_path[:n] == want:
                return item
        return None

    def find_by_id(self, report_id: int, offset: int, type_: int) -> HIDData | None:
        for item in self.items:
            if item.report_id == report_id and item.type == type_ and item.offset == offset:
                return item
        return None

    def find_by_id_node(self, report_id: int, node: int) -> HIDData | None:
        for item in self.items:
            if item.report_id == report_id and item.path and item.path[-1] == node:
                return item
        return None

    def report_ids(self) -> list[int]:
        return sorted({i.report_id for i in self.items})


class _Parser:
    def __init__(self, desc: bytes) -> None:
        self.desc = desc
        self.pos = 0
        self.item = 0
        self.value = 0
        self.count = 0
        self.report_count = 0
        self.upage = 0
        self.usages = [0] * (USAGE_TAB_SIZE + 1)
        self.usage_size = 0
        self.path: list[int] = [0] * PATH_SIZE
        self.depth = 0
        # (report ID, type, next bit offset): NUT's table, empty slots have ID 0
        self.offsets: list[list[int]] = []
        self.cur = HIDData()
        self.warnings: list[str] = []

    def _reset_local(self) -> None:
        self.usage_size = 0
        self.usages = [0] * (USAGE_TAB_SIZE + 1)

    def _offset_slot(self, report_id: int, type_: int) -> list[int] | None:
        for pos in range(MAX_REPORT):
            if pos == len(self.offsets):
                self.offsets.append([0, 0, 0])
            slot = self.offsets[pos]
            if slot[0] == 0:
                slot[0], slot[1], slot[2] = report_id, type_, 0
            if slot[0] == report_id and slot[1] == type_:
                return slot
        return None

    def _push_usage(self, usage: int) -> None:
        if self.usage_size < USAGE_TAB_SIZE:
            self.usages[self.usage_size] = usage
            self.usage_size += 1

    def _shift_usage(self) -> None:
        if self.usage_size > 0:
            del self.usages[0]
            self.usages.append(0)
            self.usage_size -= 1

    def _push_path(self, node: int) -> None:
        if self.depth < PATH_SIZE:
            self.path[self.depth] = node
            self.depth += 1
        else:
            self.warnings.append("HIDParse: HID path too long")

    def next(self) -> tuple[int, HIDData | None]:
        """Run to the next main data item: (1 new field | 0 continuation, field) or (-1, None)."""
        desc = self.desc
        while self.pos < len(desc):
            if self.count == 0:
                self.item = desc[self.pos]
                self.pos += 1
                n = _ITEM_SIZE[self.item & SIZE_MASK]
                raw = desc[self.pos : self.pos + n]
                self.value = int.from_bytes(raw, "little")
                self.pos += n
            tag = self.item & ITEM_MASK
            nbytes = _ITEM_SIZE[self.item & SIZE_MASK]
            value = self.value
            cur = self.cur
            if tag == ITEM_UPAGE:
                self.upage = value & 0xFFFF
            elif tag == ITEM_USAGE:
                if (self.item & SIZE_MASK) > 2:
                    self._push_usage(value)
                else:
                    self._push_usage((self.upage << 16) | (value & 0xFFFF))
            elif tag == ITEM_COLLECTION:
                self._push_path(self.usages[0])
                self._shift_usage()
                if value >= 0x80:
                    self._push_path(0x00FF0000 | (value & 0x7F))
                self._reset_local()
            elif tag == ITEM_END_COLLECTION:
                if self.depth > 0:
                    self.depth -= 1
                    # an index node goes with its collection
                    if self.depth > 0 and (self.path[self.depth] & 0xFFFF0000) == 0x00FF0000:
                        self.depth -= 1
                self._reset_local()
            elif tag in (ITEM_FEATURE, ITEM_INPUT, ITEM_OUTPUT):
                found = 1 if self.usages[0] != 0 else 0
                if self.count == 0:
                    self.count = self.report_count
                node = self.usages[0]
                self._shift_usage()
                cur.type = tag
                cur.attribute = value & 0xFF
                slot = self._offset_slot(cur.report_id, tag)
                offset = slot[2] if slot is not None else 0
                depth = min(self.depth, PATH_SIZE - 1)
                self.path[depth] = node
                out = HIDData(
                    path=tuple(self.path[: depth + 1]),
                    raw_path=tuple(self.path),
                    type=tag,
                    report_id=cur.report_id,
                    offset=offset,
                    size=cur.size,
                    attribute=cur.attribute,
                    unit=cur.unit,
                    unit_exp=cur.unit_exp,
                    log_min=cur.log_min,
                    log_max=cur.log_max,
                    phy_min=cur.phy_min,
                    phy_max=cur.phy_max,
                    have_phy_min=cur.have_phy_min,
                    have_phy_max=cur.have_phy_max,
                )
                if slot is not None:
                    slot[2] = (slot[2] + cur.size) & 0xFF
                self.count = (self.count - 1) & 0xFF
                if self.count == 0:
                    self._reset_local()
                return found, out
            elif tag == ITEM_REP_ID:
                cur.report_id = value & 0xFF
            elif tag == ITEM_REP_SIZE:
                cur.size = value & 0xFF
            elif tag == ITEM_REP_COUNT:
                self.report_count = value & 0xFF
            elif tag == ITEM_UNIT_EXP:
                exp = _int8(value)
                if exp > 7:
                    exp = _int8(exp | 0xF0)
                cur.unit_exp = exp
            elif tag == ITEM_UNIT:
                cur.unit = value
            elif tag == ITEM_LOG_MIN:
                cur.log_min = _signed(value, nbytes)
            elif tag == ITEM_LOG_MAX:
                cur.log_max = _signed(value, nbytes)
                if cur.log_max < cur.log_min:
                    self.warnings.append(
                        "HIDParse: LogMax is less than LogMin. Vendor HID report descriptor may be"
                        f" incorrect; interpreting LogMax {cur.log_max} as {value} in ReportID:"
                        f" 0x{cur.report_id:02x}"
                    )
                    cur.log_max = value
            elif tag == ITEM_PHY_MIN:
                cur.phy_min = _signed(value, nbytes)
                cur.have_phy_min = True
            elif tag == ITEM_PHY_MAX:
                cur.phy_max = _signed(value, nbytes)
                cur.have_phy_max = True
            elif tag == ITEM_LONG:
                self.pos += value & 0xFF
        return -1, None


def parse(desc: bytes) -> ReportDescriptor:
    """Parse a report descriptor into NUT's list of fields (NUT's Parse_ReportDesc)."""
    parser = _Parser(bytes(desc))
    result = ReportDescriptor()
    pending: HIDData | None = None
    guard = 0
    while len(result.items) < MAX_REPORT:
        found, data = parser.next()
        if found < 0 or data is None:
            break
        guard += 1
        if guard > 256 * MAX_REPORT + len(desc):
            result.warnings.append("HIDParse: too many continuation fields")
            break
        pending = data
        end = (data.offset + data.size + 7) >> 3
        if end > result.replen.get(data.report_id, 0):
            result.replen[data.report_id] = end
        if found == 1:
            result.items.append(pending)
    else:
        if parser.pos < len(desc):
            result.warnings.append("ERROR in Parse_ReportDesc: Too many HID objects")
    for rid in {i.report_id for i in result.items}:
        result.replen.setdefault(rid, 0)
    result.warnings[:0] = parser.warnings
    return result


# --- values -----------------------------------------------------------------------------------


def _hibit(x: int) -> int:
    return x.bit_length()


def get_value(buf: bytes, data: HIDData) -> int:
    """The logical value of ``data`` in a report (``buf[0]`` is the report ID), as NUT reads it."""
    value = 0
    bit = data.offset + 8
    for weight in range(data.size):
        byte = bit >> 3
        if byte < len(buf) and buf[byte] & (1 << (bit & 7)):
            value |= 1 << weight
        bit += 1
    log_min, log_max = data.log_min, data.log_max
    mag_max = log_max if log_max >= 0 else -(log_max + 1)
    mag_min = log_min if log_min >= 0 else -(log_min + 1)
    signbit = 1 << _hibit(max(mag_max, mag_min))
    mask = (signbit - 1) | (signbit if log_min < 0 else 0)
    value &= mask
    if log_min < 0 and value & signbit:
        value |= ~mask
    if value < log_min:
        value = log_min
    elif value > log_max:
        value = log_max
    return value


def set_value(data: HIDData, buf: bytearray, value: int) -> None:
    """Write the logical ``value`` of ``data`` into a report buffer."""
    bit = data.offset + 8
    for weight in range(data.size):
        byte = bit >> 3
        if byte >= len(buf):
            break
        if value & (1 << weight):
            buf[byte] |= 1 << (bit & 7)
        else:
            buf[byte] &= ~(1 << (bit & 7)) & 0xFF
        bit += 1


def _exponent(a: float, b: int) -> float:
    # repeated products, in NUT's order, so the float results are bit-identical
    result = 1.0
    if b > 0:
        for _ in range(b):
            result = a * result
    elif b < 0:
        for _ in range(-b):
            result = (1 / a) * result
    return result


def unit_exponent(data: HIDData) -> int:
    exp = data.unit_exp
    for code, base in _UNIT_EXPONENTS:
        if code == data.unit:
            exp -= base
            break
    return exp


def _physical_scaled(data: HIDData) -> bool:
    if not data.have_phy_max or not data.have_phy_min:
        return False
    if data.phy_max == 0 and data.phy_min == 0:
        return False
    return data.phy_max > data.phy_min and data.log_max > data.log_min


def logical_to_physical(data: HIDData, logical: int) -> float:
    if not _physical_scaled(data):
        return float(logical)
    factor = (data.phy_max - data.phy_min) / (data.log_max - data.log_min)
    physical = (logical - data.log_min) * factor + data.phy_min
    if physical > data.phy_max:
        return float(data.phy_max)
    if physical < data.phy_min:
        return float(data.phy_min)
    return physical


def physical_to_logical(data: HIDData, physical: float) -> int:
    if not _physical_scaled(data):
        return _trunc(physical)
    factor = (data.log_max - data.log_min) / (data.phy_max - data.phy_min)
    logical = _trunc((physical - data.phy_min) * factor) + data.log_min
    return max(data.log_min, min(data.log_max, logical))


def _trunc(x: float) -> int:
    if x != x or x in (float("inf"), float("-inf")):
        return 0
    return int(x)


def to_physical(data: HIDData, logical: int) -> float:
    """The value NUT reports for a field: physical limits, then the unit exponent."""
    return logical_to_physical(data, logical) * _exponent(10, unit_exponent(data))


def to_logical(data: HIDData, physical: float) -> int:
    return physical_to_logical(data, physical / _exponent(10, unit_exponent(data)))


# --- path names ---------------------------------------------------------------------------------

UsageTable = Iterable[tuple[str, int]]


class PathNames:
    """Usage names for path strings, from the subdriver's tables first (NUT's utab)."""

    def __init__(self, *tables: UsageTable) -> None:
        self.by_code: dict[int, str] = {}
        self.by_name: dict[str, int] = {}
        for table in tables:
            for name, code in table:
                self.by_code.setdefault(code, name)
                self.by_name.setdefault(name.lower(), code)

    def path_to_string(self, path: Sequence[int]) -> str:
        parts = []
        for node in path:
            name = self.by_code.get(node)
            if name is not None:
                parts.append(name)
            elif (node & 0xFFFF0000) == 0x00FF0000:
                parts.append(f"[{node & 0xFFFF}]")
            else:
                parts.append(f"{node:08x}")
        # NUT builds the string in a 128-byte buffer
        return ".".join(parts)[:127]

    def string_to_path(self, text: str) -> tuple[int, ...]:
        nodes: list[int] = []
        for token in text.split("."):
            if not token:
                continue
            code = self.by_name.get(token.lower())
            if code is not None:
                nodes.append(code)
                continue
            if all(c in "0123456789abcdefABCDEF" for c in token):
                value = int(token, 16)
                if value <= 0xFFFFFFFF:
                    nodes.append(value)
                continue
            if all(c in "[0123456789]" for c in token):
                digits = ""
                for c in token[1:]:
                    if not c.isdigit():
                        break
                    digits += c
                nodes.append(0x00FF0000 + int(digits or "0"))
        return tuple(nodes)


def format_g(value: float) -> str:
    """C's ``%g``."""
    return f"{value:g}"


def listing_line(names: PathNames, data: HIDData, value: float | None) -> str:
    """One line of NUT's explore dump (without the timestamp and debug prefix)."""
    text = (
        f"Path: {names.path_to_string(data.path)}, Type: {data.type_name}, "
        f"ReportID: 0x{data.report_id:02x}, Offset: {data.offset}, Size: {data.size}"
    )
    if value is not None:
        text += f", Value: {format_g(value)}"
    return text


def dump_tree(
    desc: ReportDescriptor,
    names: PathNames,
    read_report: Callable[[int], bytes | None],
) -> list[str]:
    """NUT's explore listing: every field with its value read from its report.

    ``read_report(report_id)`` answers GET_REPORT (None when the device refuses it).  Reports
    254 and 255 are left out as NUT does.  Each report is read once, into a buffer of the
    length the descriptor gives it; a short answer leaves the rest of the buffer zero.
    """
    buffers: dict[int, bytes | None] = {}
    lines = []
    for item in desc.items:
        rid = item.report_id
        if rid in (254, 255):
            continue
        if rid not in buffers:
            answer = read_report(rid)
            if answer is None:
                buffers[rid] = None
            else:
                buf = bytearray(desc.replen.get(rid, 0) + 1)
                answer = answer[: len(buf)]
                buf[: len(answer)] = answer
                buffers[rid] = bytes(buf)
        report = buffers[rid]
        value = None if report is None else to_physical(item, get_value(report, item))
        lines.append(listing_line(names, item, value))
    return lines
