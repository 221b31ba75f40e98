"""Diagrams of a known pipeline: the graph (nodes, edges, styles), the algebra, the files."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import typedj as tj
from typedj import Imported, Key, Link, Ref
from typedj.diagram import RENAMED_COLOR, TIER_STYLES

from .lab import Lab, declare_lab

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def lab(schema: tj.Schema) -> Lab:
    return declare_lab(schema)


def _labels(d: tj.Diagram) -> set[str]:
    return {data["label"] for _, data in d.graph.nodes(data=True)}


def test_graph_nodes_tiers_and_styles(schema: tj.Schema, lab: Lab) -> None:
    g = tj.Diagram(schema).graph
    assert _labels(tj.Diagram(schema)) == {
        "Config", "Species", "Cell", "Note", "Subject", "Device", "Session", "Spikes", "Spikes.Unit",
        "Synapse",
    }
    tiers = {data["label"]: data["tier"] for _, data in g.nodes(data=True)}
    assert tiers["Species"] == tiers["Config"] == "Lookup"
    assert tiers["Subject"] == "Manual" and tiers["Spikes"] == "Computed" and tiers["Spikes.Unit"] == "Part"
    node = g.nodes[f"{schema.name}.#species"]
    assert node["style"]["fillcolor"] == TIER_STYLES["Lookup"]["fillcolor"] == "#00000020"
    assert g.nodes[f"{schema.name}.subject"]["style"]["fontcolor"] == "darkgreen"
    assert g.nodes[f"{schema.name}.__spikes"]["style"]["shape"] == "ellipse"
    assert g.nodes[f"{schema.name}.__spikes"]["style"]["fillcolor"] == "#FF000020"
    assert g.nodes[f"{schema.name}.__spikes__unit"]["style"]["fontsize"] == "8"
    tooltip = g.nodes[f"{schema.name}.subject"]["style"]["tooltip"].splitlines()
    assert tooltip[0] == f"{schema.name}.subject" and tooltip[2] == "---"
    assert tooltip[1].startswith("subject_id") and tooltip[1].endswith("# subject id")


def test_graph_edges(schema: tj.Schema, lab: Lab) -> None:
    g = tj.Diagram(schema).graph
    n = schema.name

    def edges(parent: str, child: str) -> list[dict[str, Any]]:
        return [d for p, c, d in g.edges(data=True) if (p, c) == (f"{n}.{parent}", f"{n}.{child}")]

    assert g.number_of_edges() == 7
    (secondary,) = edges("#species", "subject")
    assert not secondary["primary"] and secondary["style"]["style"] == "dashed"
    (primary,) = edges("subject", "session")
    assert primary["primary"] and not primary["one_to_one"] and primary["style"]["style"] == "solid"
    assert primary["style"]["penwidth"] == "1"
    (one_to_one,) = edges("session", "__spikes")
    assert one_to_one["one_to_one"] and one_to_one["style"]["penwidth"] == "2"
    renamed = edges("cell", "synapse")
    assert sorted(str(e["attr_map"]) for e in renamed) == [
        "{'post_cell': 'cell_id'}", "{'pre_cell': 'cell_id'}"]
    assert all(e["renamed"] and e["style"]["color"] == RENAMED_COLOR for e in renamed)
    assert {e["style"]["label"] for e in renamed} == {"pre_cell", "post_cell"}
    assert {e["style"]["tooltip"] for e in renamed} == {"pre_cell←cell_id", "post_cell←cell_id"}
    (nullable,) = edges("subject", "device")
    assert nullable["nullable"] and not nullable["primary"]


def test_algebra(schema: tj.Schema, lab: Lab) -> None:
    session = tj.Diagram(lab.Session)
    assert _labels(session) == {"Session"}
    assert _labels(session + 1) == {"Session", "Spikes"}
    assert _labels(session + 2) == {"Session", "Spikes", "Spikes.Unit"}
    assert _labels(session - 1) == {"Subject", "Session"}
    assert _labels(session - 2) == {"Species", "Subject", "Session"}
    assert _labels(session - 9) == {"Species", "Subject", "Session"}
    whole = tj.Diagram(schema)
    assert len(whole - tj.Diagram(lab.Note)) == 9
    assert _labels(whole * (tj.Diagram(lab.Subject) + 1)) == {"Subject", "Session", "Device"}
    assert _labels(tj.Diagram(lab.Cell) + tj.Diagram(lab.Note)) == {"Cell", "Note"}
    assert _labels(tj.Diagram([lab.Cell, lab.Note])) == {"Cell", "Note"}
    assert lab.Cell in tj.Diagram(schema) and lab.Cell not in session
    assert repr(session - 1) == "Diagram(2 tables: Subject, Session)"
    module = tj.virtual_module("lab", schema.name)
    assert tj.Diagram(module).nodes == whole.nodes
    assert (tj.Diagram(module.Spikes) + 1).nodes == (tj.Diagram(lab.Spikes) + 1).nodes


def test_schemas_without_classes_and_several_schemas(schema: tj.Schema, lab: Lab, conn: tj.Connection,
                                                     schema_name: str) -> None:
    downstream = tj.Schema(f"{schema_name}_down", connection=conn)

    @downstream
    class Recording(Imported):
        session: Key[Ref[Session]]  # noqa: F821 - found among the declared classes
        probe: Ref[Cell] | None = Link(nullable=True)  # noqa: F821

    conn.schemas.pop(schema.name)
    conn.schemas.pop(downstream.name)
    conn.graph = None
    by_name = tj.Diagram(f"{schema_name}_down", connection=conn)
    assert _labels(by_name) == {"Recording"}  # no Python classes: from the catalog
    grown = by_name - 1
    up, down = schema_name, f"{schema_name}_down"
    assert _labels(grown) == {f"{up}.Session", f"{up}.Cell", f"{down}.Recording"}
    assert tj.Diagram(f"{up}.Spikes.Unit", connection=conn).nodes == {f"{up}.__spikes__unit"}
    source = grown.to_dot().source
    assert f"subgraph cluster_{schema_name}_down" in source
    mermaid = grown.to_mermaid()
    assert f'subgraph {schema_name}_down["{schema_name}_down"]' in mermaid
    with pytest.raises(tj.MissingTableError, match="Nope"):
        tj.Diagram(f"{schema_name}.Nope", connection=conn)


def test_mermaid_text(schema: tj.Schema, lab: Lab) -> None:
    text = (tj.Diagram(lab.Session) - 1 + 1 + tj.Diagram(lab.Synapse) - 1).to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    ids = {line.split('"')[1]: line.strip().split('[')[0].split('(')[0] for line in lines if '"' in line
           and ":::" in line}
    assert '"Spikes"' in text and f'    {ids["Spikes"]}(["Spikes"]):::Computed' in lines
    assert f'    {ids["Subject"]}["Subject"]:::Manual' in lines
    assert f'    {ids["Species"]}["Species"]:::Lookup' in lines
    assert f"    {ids['Species']} -.- {ids['Subject']}" in lines
    assert f"    {ids['Session']} === {ids['Spikes']}" in lines
    assert f"    {ids['Subject']} --- {ids['Session']}" in lines
    assert f'    {ids["Cell"]} ---|"pre_cell"| {ids["Synapse"]}' in lines
    assert any(line.startswith("    linkStyle ") and RENAMED_COLOR in line for line in lines)


def test_rendered_files(schema: tj.Schema, lab: Lab, tmp_path: Path) -> None:
    diagram = tj.Diagram(schema)
    svg_path = diagram.save(tmp_path / "lab.svg")
    root = ET.parse(svg_path).getroot()
    assert root.tag == f"{SVG}svg"
    titles = {t.text for t in root.iter(f"{SVG}title")}
    assert {f"{schema.name}.subject", f"{schema.name}.__spikes__unit"} <= titles
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"Subject", "Spikes", "Unit", "pre_cell", "post_cell"} <= texts
    assert diagram._repr_svg_().startswith("<?xml")
    bundle = diagram._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"} and "<svg" in bundle["image/svg+xml"]

    png = diagram.save(tmp_path / "lab.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert 200 < width < 3000 and 150 < height < 3000
    assert diagram.save(tmp_path / "lab.mmd").read_text() == diagram.to_mermaid()
    assert diagram.save(tmp_path / "lab.dot").read_text().startswith("digraph diagram {")
    assert diagram.save(tmp_path / "lab.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(tj.ConfigError, match="unknown diagram format 'bmp'"):
        diagram.save(tmp_path / "lab.bmp")
