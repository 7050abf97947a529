"""Turn NUT 2.8.0's snmp-ups MIB-to-NUT mapping tables into nutwist data modules.

The tables (OIDs, NUT variable names, flags, lookup values) are data that
nutwist needs to publish the same variables as NUT; this script reads them from
a checkout of NUT's source, expands the preprocessor with ``cpp`` (so
``#ifdef DEBUG`` entries are dropped as in NUT's build), and writes one Python
module per mapping file under ``nutwist/drivers/snmp/mibs/``.

    python tools/snmp_mibgen.py /path/to/nut-git-dir [v2.8.0]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "nutwist" / "drivers" / "snmp" / "mibs"
SKIP_INCLUDES = {"main.h", "snmp-ups.h", "common.h", "config.h", "nut_stdint.h", "dstate.h"}

# constants the tables use, from NUT's include/extstate.h and drivers/snmp-ups.h
CONSTANTS = {
    "ST_FLAG_NONE": 0,
    "ST_FLAG_RW": 0x1,
    "ST_FLAG_STRING": 0x2,
    "ST_FLAG_NUMBER": 0x4,
    "ST_FLAG_IMMUTABLE": 0x8,
    "SU_INFOSIZE": 128,
    "SU_BUFSIZE": 32,
    "SU_LARGEBUF": 256,
    "SU_FLAG_OK": 1 << 0,
    "SU_FLAG_STATIC": 1 << 1,
    "SU_FLAG_ABSENT": 1 << 2,
    "SU_FLAG_STALE": 1 << 3,
    "SU_FLAG_NEGINVALID": 1 << 4,
    "SU_FLAG_UNIQUE": 1 << 5,
    "SU_FLAG_ZEROINVALID": 1 << 6,
    "SU_FLAG_NAINVALID": 1 << 7,
    "SU_CMD_OFFSET": 1 << 8,
    "SU_FLAG_SEMI_STATIC": 1 << 9,
    "SU_OUTLET_GROUP": 1 << 10,
    "SU_OUTLET": 1 << 11,
    "SU_PHASES": 0x3F << 12,
    "SU_INPHASES": 0x3 << 12,
    "SU_INPUT_1": 1 << 12,
    "SU_INPUT_3": 1 << 13,
    "SU_OUTPHASES": 0x3 << 14,
    "SU_OUTPUT_1": 1 << 14,
    "SU_OUTPUT_3": 1 << 15,
    "SU_BYPPHASES": 0x3 << 16,
    "SU_BYPASS_1": 1 << 16,
    "SU_BYPASS_3": 1 << 17,
    "SU_TYPE_INT": 1 << 18,
    "SU_TYPE_TIME": 1 << 19,
    "SU_TYPE_CMD": 1 << 20,
    "SU_TYPE_DAISY_1": 1 << 21,
    "SU_TYPE_DAISY_2": 1 << 22,
    "SU_DAISY": 1 << 23,
    "SU_TYPE_DAISY_MASTER_ONLY": 1 << 24,
    "SU_AMBIENT_TEMPLATE": 1 << 26,
    "SU_STATUS_PWR": 1 << 28,
    "SU_STATUS_BATT": 1 << 29,
    "SU_STATUS_CAL": 1 << 30,
    "SU_STATUS_RB": 1 << 31,
    "FUNMAP_USDATE_TO_ISODATE": 0,
}

TOKEN = re.compile(
    r'\s+|(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>0[xX][0-9a-fA-F]+[uUlL]*|\d+\.\d*(?:[eE][-+]?\d+)?|\d+[uUlL]*)'
    r"|(?P<id>[A-Za-z_]\w*)|(?P<op><<|>>|[{}()\[\],;=|&*+\-~.])"
)


def source(git: Path, rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(git), "show", f"{rev}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def inline(git: Path, rev: str, path: str, seen: set[str]) -> str:
    out = []
    for line in source(git, rev, path).splitlines():
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if m:
            name = m.group(1)
            if name not in SKIP_INCLUDES and name not in seen:
                seen.add(name)
                try:
                    out.append(inline(git, rev, f"drivers/{name}", seen))
                except subprocess.CalledProcessError:
                    pass
            continue
        if re.match(r"\s*#\s*include\s+<", line):
            continue
        out.append(line)
    return "\n".join(out)


def preprocess(text: str) -> str:
    return subprocess.run(
        ["cpp", "-P", "-undef", "-DWITH_SNMP_LKP_FUN=1"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            pos += 1
            continue
        pos = m.end()
        if m.lastgroup:
            out.append((m.lastgroup, m.group(m.lastgroup)))
    return out


def parse_init(toks: list[tuple[str, str]], i: int) -> tuple[object, int]:
    """A brace initializer (nested lists of expression token lists)."""
    assert toks[i][1] == "{"
    i += 1
    items: list[object] = []
    expr: list[tuple[str, str]] = []
    while True:
        kind, val = toks[i]
        if val == "{":
            sub, i = parse_init(toks, i)
            items.append(sub)
            expr = []
            if toks[i][1] == ",":
                i += 1
            continue
        if val == "}":
            if expr:
                items.append(expr)
            return items, i + 1
        if val == ",":
            items.append(expr)
            expr = []
            i += 1
            continue
        expr.append((kind, val))
        i += 1


def unescape(s: str) -> str:
    return bytes(s[1:-1], "latin-1").decode("unicode_escape")


def evaluate(expr: list[tuple[str, str]]) -> object:
    if not expr:
        return None
    if all(k == "str" for k, _ in expr):
        return "".join(unescape(v) for _, v in expr)
    if len(expr) == 1 and expr[0][1] == "NULL":
        return None
    # a reference to a lookup table: name, &name[0], &name[FUNMAP]
    if expr[0][1] == "&":
        return ("ref", expr[1][1])
    if len(expr) == 1 and expr[0][0] == "id" and expr[0][1] not in CONSTANTS:
        return ("ref", expr[0][1])
    py = []
    for kind, val in expr:
        if kind == "num":
            val = val.rstrip("uUlL")
        elif kind == "id":
            if val not in CONSTANTS:
                raise ValueError(f"unknown identifier {val} in {expr}")
            val = str(CONSTANTS[val])
        elif kind == "op" and val not in "|()<<>>+-*~":
            raise ValueError(f"cannot evaluate {expr}")
        py.append(val)
    return eval(" ".join(py), {"__builtins__": {}})  # only numbers and operators remain


def declarations(toks: list[tuple[str, str]]) -> list[tuple[str, str, object]]:
    """(type, name, initializer) of every mapping-table declaration."""
    out = []
    types = {"info_lkp_t", "snmp_info_t", "alarms_info_t", "mib2nut_info_t"}
    i = 0
    while i < len(toks):
        if toks[i][1] in types and i + 1 < len(toks) and toks[i + 1][0] == "id":
            typ, name = toks[i][1], toks[i + 1][1]
            j = i + 2
            while j < len(toks) and toks[j][1] not in ("=", ";", "(", "{"):
                j += 1
            if j < len(toks) and toks[j][1] == "=" and toks[j + 1][1] == "{":
                init, j = parse_init(toks, j + 1)
                out.append((typ, name, init))
            i = j
            continue
        i += 1
    return out


def convert(git: Path, rev: str, cfile: str) -> str:
    text = preprocess(inline(git, rev, f"drivers/{cfile}", set()))
    decls = declarations(tokens(text))
    lines = [
        f'"""MIB-to-NUT mapping data of NUT {rev.lstrip("v")}\'s drivers/{cfile}.',
        "",
        "Generated by tools/snmp_mibgen.py; do not edit.  Entries: (NUT name, flags,",
        "length or multiplier, OID, default, snmp-ups flags, lookup table name).",
        '"""',
        "",
        "from typing import Any",
        "",
        "# fmt: off",
        "LOOKUPS: dict[str, tuple[Any, ...]] = {",
    ]
    for typ, name, init in decls:
        if typ != "info_lkp_t":
            continue
        lines.append(f"    {name!r}: (")
        for entry in init:  # type: ignore[attr-defined]
            vals = [evaluate(e) for e in entry]
            if vals[1] is None and (len(vals) < 3 or vals[2] is None):
                break
            fun = vals[2][1] if len(vals) > 2 and isinstance(vals[2], tuple) else None
            lines.append(f"        ({vals[0]!r}, {vals[1]!r}, {fun!r}),")
        lines.append("    ),")
    lines.append("}")
    lines.append("TABLES: dict[str, tuple[Any, ...]] = {")
    for typ, name, init in decls:
        if typ != "snmp_info_t":
            continue
        lines.append(f"    {name!r}: (")
        for entry in init:  # type: ignore[attr-defined]
            vals = [evaluate(e) for e in entry]
            if vals[0] is None:
                break
            lkp = vals[6][1] if isinstance(vals[6], tuple) else None
            row = (vals[0], vals[1], float(vals[2]), vals[3], vals[4], vals[5], lkp)  # type: ignore[arg-type]
            lines.append(f"        {row!r},")
        lines.append("    ),")
    lines.append("}")
    lines.append("ALARMS: dict[str, tuple[Any, ...]] = {")
    for typ, name, init in decls:
        if typ != "alarms_info_t":
            continue
        lines.append(f"    {name!r}: (")
        for entry in init:  # type: ignore[attr-defined]
            vals = [evaluate(e) for e in entry]
            if vals[0] is None:
                break
            lines.append(f"        {tuple(vals)!r},")
        lines.append("    ),")
    lines.append("}")
    lines.append("# (name, version, power status OID, auto-check OID, table, sysOID, alarms)")
    lines.append("MAPPINGS: dict[str, tuple[Any, ...]] = {")
    for typ, name, init in decls:
        if typ != "mib2nut_info_t":
            continue
        vals = [evaluate(e) for e in init]  # type: ignore[attr-defined]
        vals = [v[1] if isinstance(v, tuple) else v for v in vals]
        lines.append(f"    {name!r}: {tuple(vals)!r},")
    lines.append("}")
    lines.append("# fmt: on")
    return "\n".join(lines) + "\n"


def order(git: Path, rev: str) -> list[tuple[str, str]]:
    """(struct name, mapping file) in the order of snmp-ups.c's mib2nut[] list."""
    text = source(git, rev, "drivers/snmp-ups.c")
    block = text[text.index("static mib2nut_info_t *mib2nut[]") :]
    block = block[: block.index("NULL")]
    return re.findall(r"&(\w+),\s*/\*\s*This struct comes from : ([\w-]+)\.c", block)


def main() -> int:
    git = Path(sys.argv[1])
    rev = sys.argv[2] if len(sys.argv) > 2 else "v2.8.0"
    entries = order(git, rev)
    files = sorted(
        {
            p.rsplit("/", 1)[-1]
            for p in source(git, rev, "drivers/Makefile.am").split()
            if p.endswith("-mib.c")
        }
        | {f + ".c" for _, f in entries if f != "eaton-mib"}
    )
    written = {}
    for cfile in files:
        module = cfile[: -len("-mib.c")].replace("-", "_")
        body = convert(git, rev, cfile)
        (OUT / f"{module}.py").write_text(body)
        written[cfile] = module
    # which module holds each mapping struct
    where = {}
    for module in written.values():
        ns: dict[str, object] = {}
        exec((OUT / f"{module}.py").read_text(), ns)
        for name in ns["MAPPINGS"]:  # type: ignore[union-attr]
            where[name] = module
    lines = [
        f'"""The order in which NUT {rev.lstrip("v")}\'s snmp-ups tries its mappings under mibs=auto.',
        "",
        "Generated by tools/snmp_mibgen.py from snmp-ups.c's mib2nut[] list; do not edit.",
        '"""',
        "",
        "# (mapping struct, data module)",
        "ORDER = (",
    ]
    for name, _ in entries:
        lines.append(f"    ({name!r}, {where[name]!r}),")
    lines.append(")")
    (OUT / "order.py").write_text("\n".join(lines) + "\n")
    subprocess.run(["ruff", "format", str(OUT)], check=False)
    print(f"wrote {len(written)} mapping modules and order.py to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
