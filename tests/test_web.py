"""typedj web through the ASGI test client: every page and action, on MariaDB and SQLite."""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import numpy as np
import pyarrow.parquet
import pytest
from starlette.testclient import TestClient

import typedj as tj
from typedj.web import create_app
from typedj.web.query import encode_key

from .web_pipeline import WebLab, declare_web, fill


@pytest.fixture
def lab(schema: tj.Schema) -> WebLab:
    lab = declare_web(schema)
    fill(lab)
    return lab


def sign_in(client: TestClient, user: str = "root", password: str = "") -> None:
    page = client.get("/login")
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login", data={"token": token.group(1), "user": user, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def client(conn: tj.Connection, schema_name: str, lab: WebLab) -> Iterator[TestClient]:
    with TestClient(create_app(conn.url, schemas=[schema_name])) as c:
        if conn.dialect.supports_accounts:
            sign_in(c, conn.url.user, conn.url.password)
        else:
            c.get("/")
        yield c


def csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/jobs").text)
    assert match is not None
    return match.group(1)


def texts(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:table|ul|code|p|div|small|pre|span)>', html, re.S)
    assert match is not None, f"no #{element_id}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


# -- navigator -----------------------------------------------------------------------


def test_navigator_lists_tables_with_tiers_counts_parts_and_a_clickable_diagram(
    client: TestClient, schema_name: str
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    listing = texts(page.text, "tables")
    assert "Subject Manual 3" in listing and "Species Lookup 2" in listing
    assert "Session Manual 3 Session.Trial (5)" in listing and "Analysis Computed 0" in listing
    svg = client.get("/diagram.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    links = set(re.findall(r'href="([^"]+)"', svg.text))
    assert f"/table?t={schema_name}.subject" in {unescape(x) for x in links}
    assert f"/table?t={schema_name}.%23species" in {unescape(x) for x in links}


def test_table_page_shows_definition_comment_and_neighbours(client: TestClient, schema_name: str) -> None:
    page = client.get("/table", params={"t": f"{schema_name}.session"})
    assert page.status_code == 200
    assert "Recording sessions." in page.text
    definition = texts(page.text, "definition") if 'id="definition"' in page.text else unescape(page.text)
    assert "session_id" in definition and "-> Subject" in unescape(page.text)
    assert f"/table?t={schema_name}.subject" in page.text  # parent
    assert f"/table?t={schema_name}.__analysis" in page.text  # child
    assert f"/table?t={schema_name}.session__trial" in page.text  # part


# -- browse ----------------------------------------------------------------------------


def rows_of(html: str) -> list[list[str]]:
    body = re.search(r'id="rows".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def test_filters_are_typed_and_shown_as_code(
    client: TestClient, schema_name: str, conn: tj.Connection
) -> None:
    t = f"{schema_name}.subject"
    page = client.get("/table", params={"t": t, "eq.sex": "M", "min.weight": "10", "has.notes": "ject 2"})
    assert [r[0] for r in rows_of(page.text)] == ["2"]
    assert texts(page.text, "code") == (
        f"{schema_name}.Subject & {{'sex': 'M'}} & 'weight >= 10' & \"notes LIKE '%ject 2%'\""
    )
    assert 'value="ject 2"' in page.text  # the bound value stays in the form
    bad = client.get("/table", params={"t": t, "min.weight": "heavy"})
    assert "expected decimal(5,2), got &#39;heavy&#39;" in bad.text
    assert rows_of(bad.text) == []
    by_date = client.get("/table", params={"t": t, "max.date_of_birth": "2024-01-02", "min.subject_id": "2"})
    assert [r[0] for r in rows_of(by_date.text)] == ["2"]
    namespace = {schema_name: tj.virtual_module(schema_name, schema_name, connection=conn)}
    for shown in (page, by_date):  # the code shown gives the rows shown
        query = eval(texts(shown.text, "code"), namespace)
        assert [str(k["subject_id"]) for k in query.keys(order_by="KEY")] == [
            r[0] for r in rows_of(shown.text)
        ]


def test_a_percent_or_underscore_in_a_contains_filter_is_literal(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    lab.Subject.insert1({"subject_id": 9, "species": "rat", "notes": "50%_off"})
    t = f"{schema_name}.subject"
    assert [r[0] for r in rows_of(client.get("/table", params={"t": t, "has.notes": "%_"}).text)] == ["9"]
    assert rows_of(client.get("/table", params={"t": t, "has.notes": "5_%o"}).text) == []


def test_keyset_paging_sorting_and_the_last_page(
    client: TestClient, schema_name: str, lab: WebLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typedj.web.browse

    monkeypatch.setattr(typedj.web.browse, "COUNT_CAP", 100)
    lab.Subject.insert([{"subject_id": i, "species": "rat", "weight": i % 7} for i in range(10, 130)])
    t = f"{schema_name}.subject"
    first = client.get("/table", params={"t": t})
    assert texts(first.text, "total") == "more than 100 rows"
    everything = re.search(r'href="/table\?([^"]+)" id="count-all"', first.text)
    assert everything is not None
    assert texts(client.get("/table?" + unescape(everything.group(1))).text, "total") == "123 rows"
    ids = [int(r[0]) for r in rows_of(first.text)]
    assert ids == [1, 2, 3, *range(10, 57)]
    next_link = re.search(r'href="/table\?([^"]+)" id="next-page"', first.text)
    assert next_link is not None and "after=" in next_link.group(1)
    second = client.get("/table?" + unescape(next_link.group(1)))
    assert [int(r[0]) for r in rows_of(second.text)] == list(range(57, 107))
    third_link = re.search(r'href="/table\?([^"]+)" id="next-page"', second.text)
    assert third_link is not None
    third = client.get("/table?" + unescape(third_link.group(1)))
    assert [int(r[0]) for r in rows_of(third.text)] == list(range(107, 130))
    assert 'id="next-page"' not in third.text and "Page 3" in third.text
    descending = client.get("/table", params={"t": t, "sort": "weight", "desc": "1"})
    weights = [float(r[4]) for r in rows_of(descending.text)]
    assert weights == sorted(weights, reverse=True) and len(weights) == 50
    back = client.get("/table", params={"t": t, "desc": "1"})
    assert [int(r[0]) for r in rows_of(back.text)][:3] == [129, 128, 127]


def test_row_page_links_both_ways_and_previews_blobs(client: TestClient, schema_name: str) -> None:
    t = f"{schema_name}.session"
    key = encode_key({"subject_id": 1, "session_id": 1})
    page = client.get("/row", params={"t": t, "k": key})
    assert page.status_code == 200
    refs = texts(page.text, "references")
    assert "refers to Subject {'subject_id': 1}" in refs
    assert "referenced by 5 rows of Session.Trial" in refs and "referenced by 0 rows of Analysis" in refs
    add = re.findall(r'href="/new\?([^"]+)" class="new-child"', page.text)
    assert len(add) == 1  # Trial rows can be added by hand, Analysis rows cannot
    prefilled = client.get("/new?" + unescape(add[0]))
    assert re.search(rf'<option value="{key}" selected>subject_id=1, session_id=1</option>', prefilled.text)
    assert "array float64 400" in page.text and "array float64 32x48" in page.text
    line = client.get("/blob", params={"t": t, "k": key, "a": "signal"})
    assert line.headers["content-type"].startswith("image/svg+xml") and "<polyline" in line.text
    assert len(re.search(r'points="([^"]+)"', line.text).group(1).split()) == 400  # type: ignore[union-attr]
    image = client.get("/blob", params={"t": t, "k": key, "a": "frame"})
    assert image.headers["content-type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(image.content[16:24], "big") == (240 << 32) + 160  # 48x32, enlarged 5 times
    npy = client.get("/blob", params={"t": t, "k": key, "a": "frame", "download": "1"})
    assert np.array_equal(np.load(io.BytesIO(npy.content)), np.outer(np.arange(32), np.arange(48)))
    attachment = client.get("/blob", params={"t": t, "k": key, "a": "protocol", "download": "1"})
    assert attachment.text == "1. record\n2. <b>analyse</b>\n"
    assert 'filename="protocol.txt"' in attachment.headers["content-disposition"]
    assert "protocol.txt" in page.text
    trials = client.get("/table", params={"t": f"{t}__trial", "eq.subject_id": "1", "eq.session_id": "1"})
    assert len(rows_of(trials.text)) == 5


def test_export_of_the_current_view(client: TestClient, schema_name: str) -> None:
    t = f"{schema_name}.subject"
    data = client.get("/export", params={"t": t, "eq.species": "mouse", "format": "csv"})
    assert data.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(data.text)))
    assert [r["subject_id"] for r in rows] == ["1", "3"] and rows[0]["notes"] == "subject 1"
    parquet = client.get("/export", params={"t": t, "eq.species": "mouse", "format": "parquet"})
    table = pyarrow.parquet.read_table(io.BytesIO(parquet.content))
    assert table.column("subject_id").to_pylist() == [1, 3]


# -- entering data ------------------------------------------------------------------------


def test_form_has_typed_inputs_defaults_and_a_reference_select(client: TestClient, schema_name: str) -> None:
    page = client.get("/new", params={"t": f"{schema_name}.session"})
    assert page.status_code == 200
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', page.text)
    assert [text for _, text in options if "subject_id=" in text] == [
        "subject_id=1",
        "subject_id=2",
        "subject_id=3",
    ]
    assert re.search(r'name="session_date" id="in-session_date" type="date"', page.text)
    assert re.search(r'name="session_id" id="in-session_id" type="number"[^>]*step="1"', page.text)
    assert re.search(r'name="operator"[^>]*maxlength="80"', page.text)
    assert 'type="file" name="signal"' in page.text
    subject = client.get("/new", params={"t": f"{schema_name}.subject"})
    assert re.search(r'name="weight" id="in-weight" type="number" value="20.00"', subject.text)
    assert '<option value="M">M</option>' in subject.text


def test_form_insert_and_per_field_errors(client: TestClient, schema_name: str, lab: WebLab) -> None:
    t = f"{schema_name}.session"
    token = csrf(client)
    ref = encode_key({"subject_id": 2})
    bad = client.post(
        "/new",
        params={"t": t},
        data={"csrf": token, "ref.0": ref, "session_id": "70000", "session_date": "yesterday"},
    )
    assert bad.status_code == 422
    assert "expected int16" in texts(bad.text, "error-session_id")
    assert "expected date" in texts(bad.text, "error-session_date")
    assert len(lab.Session & {"subject_id": 2}) == 1
    npy = io.BytesIO()
    np.save(npy, np.arange(5.0))
    uploaded_before = set(Path(tempfile.gettempdir()).glob("typedj-web-*/steps.md"))
    good = client.post(
        "/new",
        params={"t": t},
        data={"csrf": token, "ref.0": ref, "session_id": "7", "session_date": "2024-06-01"},
        files={
            "signal": ("s.npy", npy.getvalue(), "application/octet-stream"),
            "protocol": ("steps.md", b"# steps", "text/markdown"),
        },
    )
    assert good.status_code == 200 and "Inserted 1 row." in good.text
    row = (lab.Session & {"subject_id": 2, "session_id": 7}).fetch1()
    assert str(row.session_date) == "2024-06-01" and np.array_equal(row.signal, np.arange(5.0))
    assert row.protocol.name == "steps.md" and row.protocol.read_bytes() == b"# steps"
    leftovers = set(Path(tempfile.gettempdir()).glob("typedj-web-*/steps.md"))
    assert leftovers <= uploaded_before  # the upload's temporary copy is gone
    assert row.protocol.name == "steps.md" and row.protocol.read_bytes() == b"# steps"
    leftovers = set(Path(tempfile.gettempdir()).glob("typedj-web-*/steps.md"))
    assert leftovers <= uploaded_before  # the upload's temporary copy is gone
    again = client.post(
        "/new",
        params={"t": t},
        data={"csrf": token, "ref.0": ref, "session_id": "7", "session_date": "2024-06-01"},
    )
    assert again.status_code == 422 and "duplicate" in texts(again.text, "general-errors").lower()


def test_part_rows_are_entered_with_their_master_key(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    t = f"{schema_name}.session__trial"
    page = client.get("/new", params={"t": t})
    assert "subject_id=2, session_id=1" in page.text
    done = client.post(
        "/new",
        params={"t": t},
        data={
            "csrf": csrf(client),
            "ref.0": encode_key({"subject_id": 2, "session_id": 1}),
            "trial_id": "1",
            "outcome": "miss",
        },
    )
    assert "Inserted 1 row." in done.text
    assert (lab.Session.Trial & {"subject_id": 2}).fetch1("outcome") == "miss"


def test_csv_upload_reports_every_problem_and_inserts_all_or_nothing(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    t = f"{schema_name}.subject"
    token = csrf(client)
    bad = "subject_id,species,sex,weight\n20,mouse,M,12\n21,mouse,X,12\n"
    bad += "abc,rat,F,heavy\n22,cat,F,1\n1,rat,F,1\n"
    page = client.post(
        "/upload", params={"t": t}, data={"csrf": token}, files={"file": ("s.csv", bad.encode(), "text/csv")}
    )
    assert page.status_code == 422
    assert texts(page.text, "problem-count").startswith("5 problems")
    marked = re.findall(r'<td class="invalid" title="([^"]+)">([^<]*)<', page.text)
    assert [v for _, v in marked] == ["X", "abc", "heavy", "cat", "1"]
    assert [unescape(m) for m, _ in marked][3:] == [
        "no Species row with species=cat",
        "subject_id=1 is already in Subject",
    ]
    assert len(lab.Subject) == 3
    good = "subject_id,species,sex,weight\n20,mouse,M,12\n21,rat,,\n"
    done = client.post(
        "/upload", params={"t": t}, data={"csrf": token}, files={"file": ("s.csv", good.encode(), "text/csv")}
    )
    assert "Inserted 2 rows." in done.text
    assert (lab.Subject & {"subject_id": 21}).fetch1("sex", "weight") == ("U", pytest.approx(20))
    unknown = client.post(
        "/upload",
        params={"t": t},
        data={"csrf": token},
        files={"file": ("s.csv", b"subject_id,colour\n1,red\n", "text/csv")},
    )
    assert "columns not in" in unknown.text and "colour" in unknown.text


def test_update1_of_secondary_attributes(client: TestClient, schema_name: str, lab: WebLab) -> None:
    t = f"{schema_name}.subject"
    key = encode_key({"subject_id": 2})
    form = client.get("/edit", params={"t": t, "k": key})
    assert 'name="subject_id"' not in form.text and 'value="subject 2"' in form.text
    token = csrf(client)
    bad = client.post(
        "/edit",
        params={"t": t, "k": key},
        data={
            "csrf": token,
            "ref.0": encode_key({"species": "rat"}),
            "sex": "F",
            "weight": "x",
            "notes": "n",
        },
    )
    assert bad.status_code == 422 and "expected decimal" in texts(bad.text, "error-weight")
    done = client.post(
        "/edit",
        params={"t": t, "k": key},
        data={
            "csrf": token,
            "ref.0": encode_key({"species": "mouse"}),
            "sex": "F",
            "weight": "31.5",
            "notes": "heavier",
            "date_of_birth": "",
        },
    )
    assert "Saved." in done.text
    row = (lab.Subject & {"subject_id": 2}).to_dicts()[0]
    assert (row["species"], row["sex"], float(row["weight"]), row["notes"], row["date_of_birth"]) == (
        "mouse",
        "F",
        31.5,
        "heavier",
        None,
    )


def test_delete_shows_the_cascade_and_needs_confirmation(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    t = f"{schema_name}.subject"
    key = encode_key({"subject_id": 1})
    preview = client.get("/delete", params={"t": t, "k": key})
    cascade = texts(preview.text, "cascade")
    assert cascade == "table rows Subject 1 Session 2 Session.Trial 5"
    token = csrf(client)
    refused = client.post("/delete", params={"t": t, "k": key}, data={"csrf": token, "confirm": "yes"})
    assert refused.status_code == 400 and len(lab.Subject) == 3
    done = client.post("/delete", params={"t": t, "k": key}, data={"csrf": token, "confirm": "delete"})
    assert done.status_code == 200 and len(lab.Subject) == 2 and len(lab.Session.Trial) == 0


def test_computed_tables_have_no_forms(client: TestClient, schema_name: str) -> None:
    page = client.get("/new", params={"t": f"{schema_name}.__analysis"})
    assert page.status_code == 403 and "made by populate" in page.text
    assert 'id="new-row"' not in client.get("/table", params={"t": f"{schema_name}.__analysis"}).text


# -- computations ------------------------------------------------------------------------


def test_jobs_page_shows_errors_and_retries_and_clears_them(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    lab.Analysis.populate(reserve_jobs=True, suppress_errors=True)  # type: ignore[attr-defined]
    page = client.get("/jobs")
    counts = texts(page.text, "job-counts")
    assert "Analysis 2 1 0 0 1" in counts
    assert "cannot analyse the session of &lt;b&gt;fails&lt;/b&gt;" in page.text
    assert "Traceback" in page.text and "RuntimeError" in page.text
    status = client.get("/jobs/status")
    assert "<html" not in status.text and "Analysis 2 1 0 0 1" in texts(status.text, "job-counts")
    token = re.search(r'name="k" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/jobs/retry",
        params={"t": f"{schema_name}.__analysis"},
        data={"csrf": csrf(client), "k": token.group(1)},
    )
    assert len(lab.Analysis.jobs.pending) == 1 and len(lab.Analysis.jobs.errors) == 0  # type: ignore[attr-defined]
    lab.Analysis.populate(reserve_jobs=True, suppress_errors=True)  # type: ignore[attr-defined]
    client.post("/jobs/clear", params={"t": f"{schema_name}.__analysis"}, data={"csrf": csrf(client)})
    assert len(lab.Analysis.jobs.errors) == 0  # type: ignore[attr-defined]
    assert "Analysis 2 1 0 0 0" in texts(client.get("/jobs").text, "job-counts")


# -- hostile --------------------------------------------------------------------------


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_stored_html_is_escaped_everywhere(
    conn: tj.Connection, schema: tj.Schema, schema_name: str, lab: WebLab, client: TestClient
) -> None:
    @schema
    class Evil(tj.Manual):
        """<script>alert(3)</script> a table comment"""

        evil_id: tj.Key[int]
        label: str = tj.Attr(max_length=100, comment="<script>alert(4)</script>")

    Evil.insert1({"evil_id": 1, "label": HOSTILE})
    client.app.state.web.sessions.find(client.cookies["typedj_session"]).pipeline.reload()  # type: ignore[attr-defined]
    lab.Subject.insert1({"subject_id": 66, "species": "rat", "notes": HOSTILE})
    lab.Session.insert1(
        {"subject_id": 66, "session_id": 1, "session_date": "2024-01-01", "operator": HOSTILE}
    )
    t = f"{schema_name}.subject"
    key = encode_key({"subject_id": 66})
    pages = [
        client.get("/"),
        client.get("/table", params={"t": t}),
        client.get("/table", params={"t": t, "has.notes": HOSTILE}),
        client.get("/table", params={"t": t, "eq.subject_id": HOSTILE}),
        client.get("/row", params={"t": t, "k": key}),
        client.get("/edit", params={"t": t, "k": key}),
        client.get("/new", params={"t": f"{schema_name}.session"}),
        client.get("/table", params={"t": f"{schema_name}.session"}),
        client.get("/table", params={"t": HOSTILE}),
        client.get("/table", params={"t": f"{schema_name}.evil"}),
        client.get("/new", params={"t": f"{schema_name}.evil"}),
        client.get("/diagram.svg"),
        client.post(
            "/upload",
            params={"t": t},
            data={"csrf": csrf(client)},
            files={"file": ("x.csv", f"subject_id,notes\n{HOSTILE},x\n".encode(), "text/csv")},
        ),
    ]
    for page in pages:
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1].text
    assert "&lt;script&gt;" in pages[-1].text  # the refused value, shown escaped
    assert "script-src 'self'" in pages[0].headers["content-security-policy"]


def test_posts_without_the_csrf_token_change_nothing(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    t = f"{schema_name}.subject"
    attempts = [
        client.post(
            "/new", params={"t": t}, data={"ref.0": encode_key({"species": "rat"}), "subject_id": "50"}
        ),
        client.post(
            "/new",
            params={"t": t},
            data={"csrf": "forged", "ref.0": encode_key({"species": "rat"}), "subject_id": "51"},
        ),
        client.post(
            "/delete", params={"t": t, "k": encode_key({"subject_id": 1})}, data={"confirm": "delete"}
        ),
        client.post("/jobs/clear", params={"t": f"{schema_name}.__analysis"}),
        client.post("/logout"),
    ]
    assert [a.status_code for a in attempts] == [403] * 5
    assert all("no valid form token" in a.text for a in attempts)
    assert len(lab.Subject) == 3 and client.get("/").status_code == 200


def test_a_forged_or_foreign_session_cookie_gets_nothing(
    conn: tj.Connection, schema_name: str, lab: WebLab
) -> None:
    app = create_app(conn.url, schemas=[schema_name])
    other = create_app(conn.url, schemas=[schema_name])  # another server: another signing key
    with TestClient(app) as mine, TestClient(other) as theirs:
        for c in (mine, theirs):
            if conn.dialect.supports_accounts:
                sign_in(c, conn.url.user, conn.url.password)
            else:
                c.get("/")
        their_cookie = theirs.cookies["typedj_session"]
        my_token = csrf(mine)
        with TestClient(app, follow_redirects=False) as stranger:
            stranger.cookies.set("typedj_session", their_cookie)
            page = stranger.get("/table", params={"t": f"{schema_name}.subject"})
            if conn.dialect.supports_accounts:
                assert page.status_code == 303 and page.headers["location"] == "/login"
            else:  # no accounts (SQLite): a fresh session, not the other one
                assert page.headers["set-cookie"].startswith("typedj_session=")
            stranger.cookies.set("typedj_session", secrets.token_urlsafe(40))
            post = stranger.post(
                "/new",
                params={"t": f"{schema_name}.subject"},
                data={"csrf": my_token, "subject_id": "77", "ref.0": encode_key({"species": "rat"})},
            )
            assert post.status_code == 403
        assert len(lab.Subject & {"subject_id": 77}) == 0


@pytest.mark.requires("supports_accounts", "mysql_server", reason="accounts and privileges are the server's")
def test_sign_in_cookie_flags_and_a_wrong_password(
    conn: tj.Connection, schema_name: str, lab: WebLab
) -> None:
    with TestClient(create_app(conn.url, schemas=[schema_name]), follow_redirects=False) as c:
        assert c.get("/").headers["location"] == "/login"
        token = re.search(r'name="token" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
        refused = c.post("/login", data={"token": token, "user": "nobody", "password": "s3cret-pw"})
        assert refused.status_code == 401 and "Sign-in refused" in refused.text
        assert "s3cret-pw" not in refused.text
        stale = c.post("/login", data={"token": "x", "user": conn.url.user, "password": conn.url.password})
        assert stale.status_code == 403
        done = c.post("/login", data={"token": token, "user": conn.url.user, "password": conn.url.password})
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


@pytest.fixture
def reader(conn: tj.Connection, schema_name: str) -> Iterator[tuple[str, str]]:
    name, password = f"reader{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    if conn.dialect.name == "postgresql":
        schema = conn.dialect.quote(schema_name)
        conn.query(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        conn.query(f"GRANT USAGE ON SCHEMA {schema} TO {name}")
        conn.query(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {name}")
        conn.query(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {name}")
        yield name, password
        conn.query(f"DROP OWNED BY {name}")
        conn.query(f"DROP ROLE {name}")
        return
    conn.query(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    conn.query(f"GRANT SELECT ON `{schema_name}`.* TO '{name}'@'%'")
    yield name, password
    conn.query(f"DROP USER '{name}'@'%'")


@pytest.mark.requires("supports_accounts", reason="accounts and privileges are the server's")
def test_a_select_only_account_sees_no_forms_and_cannot_write(
    conn: tj.Connection, schema_name: str, lab: WebLab, reader: tuple[str, str]
) -> None:
    with TestClient(create_app(conn.url, schemas=[schema_name])) as c:
        sign_in(c, *reader)
        t = f"{schema_name}.subject"
        key = encode_key({"subject_id": 1})
        assert len(rows_of(c.get("/table", params={"t": t}).text)) == 3  # reading is allowed
        for page in (c.get("/table", params={"t": t}), c.get("/row", params={"t": t, "k": key})):
            assert 'id="new-row"' not in page.text and 'id="edit-row"' not in page.text
            assert 'id="delete-row"' not in page.text and 'id="upload-csv"' not in page.text
        form = c.get("/new", params={"t": t})
        assert form.status_code == 403 and f"{reader[0]!r} may not change {t}" in unescape(form.text)
        token = csrf(c)
        attempts = [
            c.post(
                "/new",
                params={"t": t},
                data={"csrf": token, "subject_id": "90", "ref.0": encode_key({"species": "rat"})},
            ),
            c.post("/delete", params={"t": t, "k": key}, data={"csrf": token, "confirm": "delete"}),
            c.post("/edit", params={"t": t, "k": key}, data={"csrf": token, "notes": "x"}),
        ]
        assert [a.status_code for a in attempts] == [403, 403, 403]
        assert "INSERT privilege" in attempts[0].text
        assert len(lab.Subject) == 3 and (lab.Subject & {"subject_id": 1}).fetch1("notes") == "subject 1"
        assert "reader" in c.get("/").text  # signed in as themselves
        lab.Analysis.populate(reserve_jobs=True, suppress_errors=True)  # type: ignore[attr-defined]
        jobs_page = c.get("/jobs")
        assert "cannot analyse" in jobs_page.text and "/jobs/retry" not in jobs_page.text
        refused = c.post("/jobs/retry", params={"t": f"{schema_name}.__analysis"}, data={"csrf": token})
        assert refused.status_code == 403 and len(lab.Analysis.jobs.errors) == 1  # type: ignore[attr-defined]


@pytest.mark.requires("supports_accounts", "mysql_server", reason="accounts and privileges are the server's")
def test_schemas_an_account_cannot_see_are_left_out(
    conn: tj.Connection, schema: tj.Schema, schema_name: str, lab: WebLab, reader: tuple[str, str]
) -> None:
    hidden = tj.Schema(f"{schema_name}_hidden", connection=conn)

    @hidden
    class Secret(tj.Manual):
        secret_id: tj.Key[int]

    with TestClient(create_app(conn.url, schemas=[schema_name, hidden.name])) as c:
        sign_in(c, *reader)
        listing = texts(c.get("/").text, "tables")
        assert "Subject" in listing and "Secret" not in listing
        refused = c.get("/table", params={"t": f"{hidden.name}.secret"})
        assert refused.status_code == 400 and "no table" in unescape(refused.text)
    with TestClient(create_app(conn.url)) as c:  # every schema the account can see
        sign_in(c, *reader)
        assert [s.strip() for s in texts(c.get("/").text, "schemas").split(",")] == [schema_name]


@pytest.mark.requires("supports_accounts", "mysql_server", reason="accounts and privileges are the server's")
def test_an_account_that_sees_nothing(conn: tj.Connection, lab: WebLab) -> None:
    name, password = f"nobody{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    conn.query(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    try:
        with TestClient(create_app(conn.url)) as c:
            sign_in(c, name, password)
            page = c.get("/")
            assert page.status_code == 200 and rows_of_tables(page.text) == []
            assert "No auto-populated tables." in c.get("/jobs").text
    finally:
        conn.query(f"DROP USER '{name}'@'%'")


def rows_of_tables(html: str) -> list[str]:
    body = re.search(r'id="tables".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None
    return re.findall(r"<tr>", body.group(1))


@pytest.mark.requires("supports_accounts", "mysql_server", reason="accounts and privileges are the server's")
def test_the_server_decides_when_the_page_would_allow(
    conn: tj.Connection, schema_name: str, lab: WebLab, reader: tuple[str, str]
) -> None:
    conn.query(f"GRANT INSERT ON `{schema_name}`.`subject` TO '{reader[0]}'@'%'")
    with TestClient(create_app(conn.url, schemas=[schema_name])) as c:
        sign_in(c, *reader)
        t = f"{schema_name}.subject"
        assert 'id="new-row"' in c.get("/table", params={"t": t}).text
        assert 'id="new-row"' not in c.get("/table", params={"t": f"{schema_name}.session"}).text
        done = c.post(
            "/new",
            params={"t": t},
            data={"csrf": csrf(c), "subject_id": "90", "ref.0": encode_key({"species": "rat"})},
        )
        assert "Inserted 1 row." in done.text
        refused = c.post(
            "/delete",
            params={"t": t, "k": encode_key({"subject_id": 90})},
            data={"csrf": csrf(c), "confirm": "delete"},
        )
        assert refused.status_code == 403 and "refused" in refused.text
        assert len(lab.Subject & {"subject_id": 90}) == 1


def test_cli_serves_a_module_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "labmod.py").write_text(
        "import typedj as tj\n"
        "schema = tj.Schema('clilab')\n"
        "@schema\n"
        "class Animal(tj.Manual):\n"
        "    animal_id: tj.Key[int]\n"
        "    name: str = tj.Attr(max_length=20, default='')\n"
        "Animal.insert1({'animal_id': 7, 'name': '<Rex>'})\n"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    command = [
        sys.executable,
        "-m",
        "typedj.cli",
        "--database-url",
        f"sqlite:///{tmp_path / 'lab.db'}",
        "web",
        "labmod",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"typedj web: serving on http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/table?t=clilab.animal") as response:
                    page = response.read().decode()
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert rows_of(page)[0][:2] == ["7", "<Rex>"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_sign_out_ends_the_session(conn: tj.Connection, client: TestClient) -> None:
    old = client.cookies["typedj_session"]
    out = client.post("/logout", data={"csrf": csrf(client)}, follow_redirects=False)
    assert out.status_code == 303 and "typedj_session=" in out.headers["set-cookie"]
    client.cookies.set("typedj_session", old)
    again = client.get("/", follow_redirects=False)
    if conn.dialect.supports_accounts:
        assert again.status_code == 303 and again.headers["location"] == "/login"
    else:
        assert again.headers["set-cookie"] != f"typedj_session={old}"


def test_a_master_row_with_its_part_rows_in_one_transaction(
    client: TestClient, schema_name: str, lab: WebLab
) -> None:
    t = f"{schema_name}.session"
    form = client.get("/new", params={"t": t})
    assert 'name="part.0.2.trial_id"' in form.text and 'name="part.0.0.outcome"' in form.text
    assert 'name="part.0.0.ref.0"' not in form.text  # the master key comes from the master row
    master = {
        "csrf": csrf(client),
        "ref.0": encode_key({"subject_id": 3}),
        "session_id": "1",
        "session_date": "2024-07-01",
    }
    bad = client.post(
        "/new",
        params={"t": t},
        data={
            **master,
            "part.0.0.trial_id": "1",
            "part.0.0.outcome": "hit",
            "part.0.4.trial_id": "2",
            "part.0.4.outcome": "",
        },
    )
    assert bad.status_code == 422
    assert "missing" in texts(bad.text, r"error-part\.0\.4\.outcome").lower()
    assert len(lab.Session & {"subject_id": 3}) == 0  # the master row was rolled back too
    assert 'name="part.0.4.trial_id" id="in-part.0.4.trial_id" type="number" value="2"' in bad.text
    done = client.post(
        "/new",
        params={"t": t},
        data={
            **master,
            "part.0.0.trial_id": "1",
            "part.0.0.outcome": "hit",
            "part.0.1.trial_id": "",
            "part.0.1.outcome": "",
            "part.0.7.trial_id": "2",
            "part.0.7.outcome": "miss",
        },
    )
    assert "Inserted 1 row with 2 Session.Trial." in texts(done.text, "done")
    trials = (lab.Session.Trial & {"subject_id": 3}).to_dicts(order_by="KEY")
    assert [(r["session_id"], r["trial_id"], r["outcome"]) for r in trials] == [(1, 1, "hit"), (1, 2, "miss")]


def test_booleans_and_json_in_forms(client: TestClient, schema_name: str, lab: WebLab) -> None:
    t = f"{schema_name}.#rig"
    form = client.get("/new", params={"t": t})
    assert '<option value="true" selected>true</option>' in form.text
    assert re.search(r'<textarea name="settings" id="in-settings" rows="3"></textarea>', form.text)
    token = csrf(client)
    bad = client.post("/new", params={"t": t}, data={"csrf": token, "rig": "a", "settings": "{gain: 2"})
    assert bad.status_code == 422 and "expected JSON" in texts(bad.text, "error-settings")
    done = client.post(
        "/new",
        params={"t": t},
        data={"csrf": token, "rig": "a", "active": "false", "settings": '{"gain": 2}'},
    )
    assert "Inserted 1 row." in done.text
    assert lab.Rig.to_dicts() == [{"rig": "a", "active": False, "settings": {"gain": 2}}]
    edit = client.get("/edit", params={"t": t, "k": encode_key({"rig": "a"})})
    assert '<option value="false" selected>false</option>' in edit.text
    assert "{&#34;gain&#34;: 2}" in edit.text
    rows = client.get("/table", params={"t": t, "eq.active": "false"})
    assert [r[0] for r in rows_of(rows.text)] == ["a"]


def test_a_token_of_another_session_is_refused(conn: tj.Connection, schema_name: str, lab: WebLab) -> None:
    app = create_app(conn.url, schemas=[schema_name])
    with TestClient(app) as alice, TestClient(app) as bob:
        for c in (alice, bob):
            if conn.dialect.supports_accounts:
                sign_in(c, conn.url.user, conn.url.password)
            else:
                c.get("/")
        assert alice.cookies["typedj_session"] != bob.cookies["typedj_session"]
        data = {"csrf": csrf(bob), "subject_id": "88", "ref.0": encode_key({"species": "rat"})}
        refused = alice.post("/new", params={"t": f"{schema_name}.subject"}, data=data)
        assert refused.status_code == 403 and len(lab.Subject & {"subject_id": 88}) == 0
        done = bob.post("/new", params={"t": f"{schema_name}.subject"}, data=data)
        assert "Inserted 1 row." in done.text
