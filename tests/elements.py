"""The published DataJoint Elements, declared with datajoint-python on the test server.

The Elements (element-lab, -animal, -session, -event, -calcium-imaging, -array-ephys)
were written for datajoint 0.13/0.14; under datajoint 2.x their modules import with two
shims, applied only while importing them: ``dj.schema`` (now ``dj.Schema``) and a
``dj.config`` that accepts their ``custom`` settings. Their tables are declared as the
Elements' own workflow packages do, through a linking module.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import warnings
from typing import Any

ELEMENTS = ["element_lab", "element_animal", "element_session", "element_event",
            "element_calcium_imaging", "element_array_ephys"]


def import_elements(dj: Any) -> dict[str, types.ModuleType]:
    """The Elements' schema modules, imported with the shims they need under datajoint 2.x."""
    names = ["element_lab.lab", "element_animal.subject", "element_session.session_with_datetime",
             "element_event.trial", "element_event.event", "element_calcium_imaging.scan",
             "element_calcium_imaging.imaging", "element_array_ephys.probe",
             "element_array_ephys.ephys_acute"]
    config, had_schema = dj.config, hasattr(dj, "schema")
    dj.config = {"custom": {}}
    dj.schema = dj.Schema
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            modules = {name.split(".")[-1]: importlib.import_module(name) for name in names}
    finally:
        dj.config = config
        if not had_schema:
            del dj.schema
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ELEMENTS:
            _modernize(module)
    return modules


_OLD_TYPES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r":\s*boolean\b"), ": bool"),
    (re.compile(r":\s*attach\b"), ": <attach>"),
    (re.compile(r"enum\(([^)]*)\)"), lambda m: "enum(" + m.group(1).replace('"', "'") + ")"),
]
"""Spellings datajoint 0.14 accepted and 2.x refuses, with their 2.x equivalents."""


def _modernize(module: types.ModuleType) -> None:
    for value in list(vars(module).values()):
        classes = [value, *(getattr(value, n) for n in dir(value) if n[:1].isupper())] \
            if isinstance(value, type) else []
        for cls in classes:
            definition = cls.__dict__.get("definition") if isinstance(cls, type) else None
            if isinstance(definition, str):
                for pattern, spelling in _OLD_TYPES:
                    definition = pattern.sub(spelling, definition)
                cls.definition = definition


def declare_elements(dj: Any, prefix: str) -> dict[str, Any]:
    """Activate every Element under schemas named ``prefix + name``; returns the modules."""
    m = import_elements(dj)
    link = types.ModuleType(f"{prefix}link")
    had_virtual = hasattr(dj, "create_virtual_module")
    dj.create_virtual_module = dj.VirtualModule  # the report schemas use 0.14's name
    try:
        _activate(dj, m, link, prefix)
    finally:
        if not had_virtual:
            del dj.create_virtual_module
    return m


def _activate(dj: Any, m: dict[str, Any], link: types.ModuleType, prefix: str) -> None:
    lab, subject, session = m["lab"], m["subject"], m["session_with_datetime"]
    root = ["/nonexistent"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lab.activate(prefix + "lab")
        link.__dict__.update(Source=lab.Source, Lab=lab.Lab, Protocol=lab.Protocol, User=lab.User,
                             Project=lab.Project, Experimenter=lab.User, Location=lab.Location)
        subject.activate(prefix + "subject", linking_module=link)
        link.Subject = subject.Subject  # type: ignore[attr-defined]
        session.activate(prefix + "session", linking_module=link)
        link.Session = session.Session  # type: ignore[attr-defined]

        class Equipment(dj.Manual):
            definition = """
            scanner: varchar(32)
            """

        class SkullReference(dj.Lookup):
            definition = """
            skull_reference: varchar(60)
            """
            contents = [("Bregma",), ("Lambda",)]

        lab.schema(Equipment)
        lab.schema(SkullReference)
        link.__dict__.update(
            Equipment=Equipment,
            SkullReference=SkullReference,
            get_imaging_root_data_dir=lambda: root,
            get_scan_image_files=lambda key: [],
            get_scan_box_files=lambda key: [],
            get_nd2_files=lambda key: [],
            get_prairieview_files=lambda key: [],
            get_calcium_imaging_files=lambda key, acq_software: [],
            get_processed_root_data_dir=lambda: root,
            get_ephys_root_data_dir=lambda: root,
            get_session_directory=lambda key: root[0],
        )
        m["trial"].activate(prefix + "trial", prefix + "event", linking_module=link)
        m["imaging"].activate(prefix + "imaging", prefix + "scan", linking_module=link)
        m["ephys_acute"].activate(prefix + "ephys", prefix + "probe", linking_module=link)
    m["Equipment"] = Equipment
