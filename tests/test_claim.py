"""One study's report never replaces another's: the stamp beside the tables, and the committed ones."""
from __future__ import annotations

from pathlib import Path

import pytest

from seedstudy import PROJECT_ROOT
from seedstudy.report import claim
from seedstudy.store.runs import find_runs


def _records(study_hashes: dict[str, str]) -> list[dict]:
    return [{"task": unit.split("/")[0], "model": unit.split("/")[1], "config_hash": h}
            for unit, h in study_hashes.items() for _ in range(2)]  # two seeds each


def _report(out: Path, built_from: dict, force: bool = False) -> None:
    """What the paper notebook does: check, write the tables, then seal."""
    claim.check(out, built_from, force)
    (out / "paper" / "tables").mkdir(parents=True, exist_ok=True)
    (out / "paper" / "tables" / "paper.md").write_text(f"{built_from['study']}'s table")
    claim.seal(out, built_from)


def test_a_folder_is_claimed_once_and_kept_for_its_study(tmp_path):
    cpu = claim.identity("cpu", _records({"glue-sst2/minilm-l6": "aaa", "superglue-cb/minilm-l6": "bbb"}))
    _report(tmp_path, cpu)
    _report(tmp_path, cpu)  # the same study again: fine
    grown = claim.identity("cpu", _records({"glue-sst2/minilm-l6": "aaa", "superglue-copa/minilm-l6": "ccc"}))
    _report(tmp_path, grown)  # tasks added or dropped: still the study
    smoke = claim.identity("smoke", _records({"glue-rte/tiny-bert": "ddd"}))
    with pytest.raises(claim.ReportClaimedError) as refused:
        _report(tmp_path, smoke)
    message = str(refused.value)
    assert "'cpu'" in message and "'smoke'" in message and "--force" in message and "\n" not in message
    assert claim.stamp_path(tmp_path).read_text().count('"cpu"') == 1  # nothing was written
    assert (tmp_path / "paper" / "tables" / "paper.md").read_text() == "cpu's table"
    changed = claim.identity("cpu", _records({"glue-sst2/minilm-l6": "zzz"}))
    with pytest.raises(claim.ReportClaimedError, match="other configurations of glue-sst2/minilm-l6"):
        _report(tmp_path, changed)
    _report(tmp_path, smoke, force=True)
    assert claim.conflict(tmp_path, smoke) is None and claim.conflict(tmp_path, cpu) is not None


def test_tables_without_a_stamp_or_with_a_broken_one_are_not_replaced(tmp_path):
    tables = tmp_path / "paper" / "tables"
    tables.mkdir(parents=True)
    (tables / "paper.md").write_text("somebody's table")
    smoke = claim.identity("smoke", _records({"glue-rte/tiny-bert": "ddd"}))
    assert "unknown origin" in claim.conflict(tmp_path, smoke)
    (tables / claim.STAMP).write_text("{not json")
    assert "unreadable" in claim.conflict(tmp_path, smoke)
    assert claim.conflict(tmp_path / "empty", smoke) is None  # a new folder is free


@pytest.mark.parametrize("study, out", [("cpu", "."), ("quick", "paper/quick"), ("arms", "paper/arms"),
                                        ("factorial", "paper/factorial")])
def test_the_committed_tables_are_stamped_with_the_study_the_readme_names(study, out):
    runs = find_runs(PROJECT_ROOT / "paper" / "runs", study)
    assert runs
    assert claim.conflict(Path(PROJECT_ROOT / out), claim.identity(study, [r.record for r in runs])) is None
    other = claim.identity("smoke", [r.record for r in runs])
    assert claim.conflict(Path(PROJECT_ROOT / out), other) is not None


def test_a_report_that_fails_before_it_is_sealed_leaves_the_old_stamp(tmp_path):
    cpu = claim.identity("cpu", _records({"glue-sst2/minilm-l6": "aaa"}))
    smoke = claim.identity("smoke", _records({"glue-rte/tiny-bert": "ddd"}))
    _report(tmp_path, cpu)
    claim.check(tmp_path, smoke, force=True)  # forced, then the report dies before sealing
    assert claim.conflict(tmp_path, cpu) is None  # cpu can still rebuild its own folder
    figures = tmp_path / "new" / "figures"
    figures.mkdir(parents=True)
    (figures / "lucky_seed.png").write_bytes(b"png")
    assert "unknown origin" in claim.conflict(tmp_path / "new", smoke)  # figures count too
