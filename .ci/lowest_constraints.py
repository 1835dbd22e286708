"""Print pip constraints that pin each direct dependency to its lower bound.

Usage: python .ci/lowest_constraints.py pyproject.toml > constraints.txt

Reads ``[project] dependencies`` and the ``test`` extra: ``django>=5.2,<7`` becomes
``django==5.2``; a requirement with no lower bound is left to the resolver. pip has no
lowest-version resolution, so CI installs with these to keep the bounds in pyproject.toml
true. Needs ``packaging``.
"""

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

EXTRAS = ("test",)


def lower_bound_pins(pyproject: Path) -> list[str]:
    """``name==version`` for every direct requirement with a ``>=``, ``~=`` or ``==``
    bound (the highest of them when there are several); extras are dropped, as pip's
    constraints take none."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    pins = []
    for line in lines:
        requirement = Requirement(line)
        bounds = [
            Version(spec.version)
            for spec in requirement.specifier
            if spec.operator in {">=", "~=", "=="}
        ]
        if bounds:
            pins.append(f"{requirement.name}=={max(bounds)}")
    return pins


if __name__ == "__main__":
    print("\n".join(lower_bound_pins(Path(sys.argv[1]))))
