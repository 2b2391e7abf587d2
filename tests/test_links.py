"""Every relative link and image of the committed pages and notebooks resolves from where the file is."""
import nbformat
import pytest

from conftest import ROOT
from dearlib.publish import links
from dearlib.publish import reference_run as ref

PAGES = sorted({ROOT / "README.md", ROOT / "RESULTS.md", *(ROOT / "docs").rglob("*.md"),
                *(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "docs" / "reference-run").glob("*.ipynb")})


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert links.broken(page) == []


def test_the_checker_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# The `mini` profile (2026)\n\n```\n# not a heading\n```\n")
    page = tmp_path / "docs" / "a.md"
    page.write_text("![x](../figures/x.png) [b](b.md#the-mini-profile-2026) [c](b.md#not-a-heading) "
                    "[web](https://example.org/none.md) `[code](gone.md)`\n<img src=\"gone.png\">")
    assert [b.split(" (")[0] for b in links.broken(page)] == [
        f"{page}: ../figures/x.png", f"{page}: b.md#not-a-heading", f"{page}: gone.png"]


def test_the_pages_hold_links_at_all():  # a checker that parses nothing would pass every page
    assert sum(len(links.targets(links.markdown_of(p))) for p in PAGES) > 40
    assert "docs/pipeline.md" in links.targets((ROOT / "README.md").read_text())


def test_a_published_copy_is_checked_from_its_destination_without_writing_there(tmp_path):
    source = ROOT / "notebooks" / "01_candidate_retrieval.ipynb"
    dest = ROOT / ref.REFERENCE
    before = sorted(dest.iterdir()) if dest.is_dir() else []
    published = tmp_path / "probe_01.ipynb"  # the real notebook, cleaned for docs/reference-run/, written here only
    nbformat.write(ref.clean_notebook(nbformat.read(source, as_version=4), ROOT), published)
    assert links.targets(links.markdown_of(published)) and links.broken(published, folder=dest) == []
    # the folder decides: the same copy read from tmp_path, or the unrewritten notebook from docs/reference-run/, breaks
    assert any("../../figures/" in b for b in links.broken(published))
    assert any("../figures/" in b for b in links.broken(source, folder=dest))
    assert (sorted(dest.iterdir()) if dest.is_dir() else []) == before and [p.name for p in tmp_path.iterdir()] == ["probe_01.ipynb"]
