"""typedj web in a real headless Chromium (Debian's, through Selenium): one browser for the module.

The pages are screenshotted as they are tested; with ``TYPEDJ_WEB_SCREENSHOTS=1`` the
pictures are written to docs/images/ for docs/web.md.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import typedj as tj

from .web_pipeline import WebLab, declare_web, fill

pytestmark = pytest.mark.requires(
    "supports_accounts", reason="one backend is enough for the browser; the ASGI tests cover both"
)

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
DOCS_IMAGES = Path(__file__).parent.parent / "docs" / "images"

if not (CHROMIUM.exists() and DRIVER.exists()):
    pytest.skip(
        "Chromium and chromedriver are installed by tests/run.sh (apt: chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


class Site:
    """The app served by uvicorn on a loopback port, with the browser looking at it."""

    def __init__(self, driver: WebDriver, base: str, lab: WebLab, schema: str, shots: Path) -> None:
        self.driver, self.base, self.lab, self.schema, self.shots = driver, base, lab, schema, shots

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def wait(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        """Until ``condition()`` holds; a page loading meanwhile (elements replaced) is "not yet"."""
        WebDriverWait(
            self.driver, timeout, poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(lambda _: condition())

    def shot(self, name: str) -> None:
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {  # type: ignore[attr-defined]
                "width": 1200,
                "height": min(max(int(height), 400), 2000),
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )
        path = self.shots / f"web-{name}.png"
        try:
            assert self.driver.save_screenshot(str(path))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("TYPEDJ_WEB_SCREENSHOTS"):
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS_IMAGES / path.name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(conn: tj.Connection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    from typedj.web import create_app

    name = f"t_web_browser_{os.getpid() % 10000}"
    conn.catalog.drop_database(name) if conn.catalog.schema_exists(name) else None
    schema = tj.Schema(name, connection=conn)
    lab = declare_web(schema)
    fill(lab)

    @schema
    class Reading(tj.Manual):
        """Sensor readings: enough rows to page through."""

        reading_id: tj.Key[int]
        value: float

    Reading.insert({"reading_id": i, "value": i / 10} for i in range(1, 1235))

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(conn.url, schemas=[name]), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        "--hide-scrollbars",
    ):
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a browser
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(DRIVER)))
    try:
        yield Site(driver, f"http://127.0.0.1:{port}", lab, name, tmp_path_factory.mktemp("shots"))
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)
        conn.schemas.pop(name, None)
        conn.catalog.drop_database(name)


def test_sign_in_and_navigate(site: Site, conn: tj.Connection) -> None:
    site.open("/")
    assert site.driver.current_url.endswith("/login")
    site.shot("login")
    site.find("input[name=user]").send_keys(conn.url.user)
    site.find("input[name=password]").send_keys(conn.url.password)
    site.find("button[type=submit]").click()
    site.wait(lambda: "Pipeline" in site.driver.title or site.driver.find_elements(By.ID, "tables") != [])
    rows = site.driver.find_elements(By.CSS_SELECTOR, "#tables tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "td").text for r in rows][:4] == [
        "Rig",
        "Species",
        "Reading",
        "Subject",
    ]
    site.wait(
        lambda: site.driver.execute_script(
            "const o = document.getElementById('diagram'); return o.contentDocument && "
            "o.contentDocument.querySelectorAll('svg a').length"
        )
    )
    links = site.driver.execute_script(
        "return [...document.getElementById('diagram').contentDocument.querySelectorAll('svg a')]"
        ".map(a => a.getAttribute('xlink:href') || a.getAttribute('href'))"
    )
    assert f"/table?t={site.schema}.subject" in links
    site.shot("navigator")
    site.driver.find_element(By.LINK_TEXT, "Reading").click()
    site.wait(lambda: "Reading" in site.text("h1"))


def test_page_a_large_table_and_filter_it(site: Site) -> None:
    site.open(f"/table?t={site.schema}.reading")
    assert site.text("#total") == "1234 rows"
    first = site.driver.find_elements(By.CSS_SELECTOR, "#rows tbody tr td:first-child")
    assert [c.text for c in first][:2] == ["1", "2"] and len(first) == 50
    for expected in ("51", "101"):
        site.find("#next-page").click()
        site.wait(lambda e=expected: site.find("#rows tbody tr td").text == e)
    assert "Page 3" in site.text(".pager")
    site.open(f"/table?t={site.schema}.subject")
    Select(site.find("select[name='eq.sex']")).select_by_visible_text("F")
    site.find("input[name='min.weight']").send_keys("5")
    site.find("#filters button[type=submit]").click()
    site.wait(lambda: "weight >= 5" in site.text("#code"))
    assert site.text("#code") == f"{site.schema}.Subject & {{'sex': 'F'}} & 'weight >= 5'"
    assert [c.text for c in site.driver.find_elements(By.CSS_SELECTOR, "#rows tbody tr td:first-child")] == [
        "1",
        "3",
    ]
    site.shot("browse")


def test_row_page_with_blob_previews(site: Site) -> None:
    from typedj.web.query import encode_key

    site.open(f"/row?t={site.schema}.session&k={encode_key({'subject_id': 1, 'session_id': 1})}")
    images = site.driver.find_elements(By.CSS_SELECTOR, "img.preview")
    site.wait(
        lambda: all(site.driver.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)
    )
    assert [site.driver.execute_script("return arguments[0].naturalWidth", i) for i in images] == [480, 240]
    assert "referenced by 5 rows of Session.Trial" in site.text("#references")
    site.shot("row")


def test_fill_a_form_with_a_reference_select_and_see_field_errors(site: Site) -> None:
    site.open(f"/new?t={site.schema}.session")
    search = site.find("input.ref-search")
    search.send_keys("subject_id=3")
    select = Select(site.find("select.ref"))
    visible = site.driver.execute_script(
        "return [...arguments[0].options].filter(o => !o.hidden && o.value).map(o => o.text)", select._el
    )
    assert visible == ["subject_id=3"]
    select.select_by_visible_text("subject_id=3")
    site.find("#in-session_id").send_keys("70000")
    site.find("#in-operator").send_keys("<i>carol</i>")
    site.find("#submit").click()
    site.wait(lambda: site.driver.find_elements(By.CSS_SELECTOR, ".field-error") != [])
    assert "expected int16" in site.text("#error-session_id")
    assert "missing" in site.text("#error-session_date").lower() or "required" in site.text(
        "#error-session_date"
    )
    assert site.find("#in-operator").get_attribute("value") == "<i>carol</i>"  # kept, as text
    site.shot("form-errors")
    box = site.find("#in-session_id")
    box.clear()
    box.send_keys("3")
    site.driver.execute_script("arguments[0].value = '2024-06-01'", site.find("#in-session_date"))
    site.find("[id='in-part.0.0.trial_id']").send_keys("1")
    Select(site.find("[id='in-part.0.0.outcome']")).select_by_visible_text("hit")
    site.find("button.add-row").click()
    site.find("[id='in-part.0.3.trial_id']").send_keys("2")
    Select(site.find("[id='in-part.0.3.outcome']")).select_by_visible_text("miss")
    site.find("#submit").click()
    site.wait(lambda: site.driver.find_elements(By.ID, "done") != [])
    assert site.text("#done") == "Inserted 1 row with 2 Session.Trial."
    row = (site.lab.Session & {"subject_id": 3, "session_id": 3}).to_dicts()[0]
    assert (str(row["session_date"]), row["operator"]) == ("2024-06-01", "<i>carol</i>")
    trials = (site.lab.Session.Trial & {"subject_id": 3}).to_dicts(order_by="KEY")
    assert [(t["trial_id"], t["outcome"]) for t in trials] == [(1, "hit"), (2, "miss")]


def test_upload_a_csv_with_problems_then_a_good_one(site: Site, tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text("subject_id,species,sex,weight\n40,mouse,M,12\n41,cat,M,12\n42,rat,Q,x\n")
    good.write_text("subject_id,species,sex,weight\n40,mouse,M,12\n41,rat,F,13.5\n")
    site.open(f"/upload?t={site.schema}.subject")
    site.find("#csv-file").send_keys(str(bad))
    site.find("#submit").click()
    site.wait(lambda: site.driver.find_elements(By.ID, "preview") != [])
    assert site.text("#problem-count").startswith("3 problems")
    marked = [
        c.text.split("\n")[0] for c in site.driver.find_elements(By.CSS_SELECTOR, "#preview td.invalid")
    ]
    assert marked == ["cat", "Q", "x"]
    assert len(site.lab.Subject & "subject_id >= 40") == 0
    site.shot("upload")
    site.find("#csv-file").send_keys(str(good))
    site.find("#submit").click()
    site.wait(lambda: site.driver.find_elements(By.ID, "done") != [])
    assert site.text("#done") == "Inserted 2 rows."
    assert len(site.lab.Subject & "subject_id >= 40") == 2


def test_delete_preview(site: Site) -> None:
    from typedj.web.query import encode_key

    site.open(f"/delete?t={site.schema}.subject&k={encode_key({'subject_id': 1})}")
    assert site.text("#cascade").splitlines()[1:] == ["Subject 1", "Session 2", "Session.Trial 5"]
    site.shot("delete")
    site.open(f"/delete?t={site.schema}.subject&k={encode_key({'subject_id': 41})}")
    assert site.text("#cascade").splitlines()[1:] == ["Subject 1"]
    site.find("#confirm").send_keys("delete")
    site.find("#submit").click()
    site.wait(lambda: site.driver.find_elements(By.ID, "deleted") != [])
    assert len(site.lab.Subject & {"subject_id": 41}) == 0


def test_watch_a_job_error_appear_and_retry_it(site: Site) -> None:
    site.open("/jobs")
    assert "Analysis" in site.text("#job-counts")
    assert site.driver.find_elements(By.CSS_SELECTOR, ".error-message") == []
    site.lab.Analysis.populate(reserve_jobs=True, suppress_errors=True)  # type: ignore[attr-defined]
    site.wait(lambda: site.driver.find_elements(By.CSS_SELECTOR, ".error-message") != [])  # no reload
    assert "cannot analyse the session of <b>fails</b>" in site.text(".error-message")
    site.find("details summary").click()
    assert "RuntimeError" in site.text("details pre")
    site.shot("jobs")
    site.find("button.retry").click()
    site.wait(lambda: site.driver.find_elements(By.CSS_SELECTOR, ".error-message") == [])
    assert len(site.lab.Analysis.jobs.pending) == 1  # type: ignore[attr-defined]
